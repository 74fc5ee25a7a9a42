import pg from "pg";
import { readDataset } from "../cli/eval/dataset";
import { namespaceConfig } from "../cli/eval/run-gaps-eval";
import {
  buildPlantedBenchmark,
  DEFAULT_PLANTED_SETTINGS,
  type PlantedGapSettings,
} from "../functions/core/eval/planted-gaps";
import { createContainer } from "../functions/shared/container";
import { gapDetectionPorts } from "../functions/shared/gaps";

/**
 * A `gaps-eval --keep` namespace read back for the gap benches (gaps-diagnose.ts, gaps-replay.ts):
 * the planted benchmark rebuilt from DATASET and the generator's settings, the window's messages
 * with their stored vectors, and each message's corpus id (its external id).
 */
export async function readPlantedNamespace(name: string, dataset: string, settings: PlantedGapSettings) {
  const ds = await readDataset(dataset);
  const bench = buildPlantedBenchmark(ds.corpus, ds.qrels, settings);
  const cfg = namespaceConfig(name);
  const ports = await gapDetectionPorts(createContainer(cfg));
  const messages = await ports.messages.windowMessages(bench.window);
  const stored = await ports.vectors.vectorsOf(messages.map((m) => m.id));
  const pool = new pg.Pool({ connectionString: cfg.DATABASE_URL, max: 1 });
  const rows = await pool.query<{ id: string; external_id: string }>("SELECT id, external_id FROM messages");
  await pool.end();
  const external = new Map(rows.rows.map((r) => [Number(r.id), r.external_id]));
  return { dataset: ds, bench, ports, messages, stored, external };
}

/**
 * The generator's settings a kept namespace was loaded with, from the benches' arguments: its seed,
 * planted gaps and topics (`gaps-eval --seed --gaps --topics`); the rest are the defaults.
 */
export function generatorSettings(
  seed: string | undefined,
  gaps: string | undefined,
  topics: string | undefined = "cohesive",
): PlantedGapSettings {
  if (topics !== "cohesive" && topics !== "all")
    throw new Error(`topics must be cohesive or all, got ${topics}`);
  return {
    ...DEFAULT_PLANTED_SETTINGS,
    topics,
    seed: seed === undefined ? DEFAULT_PLANTED_SETTINGS.seed : Number(seed),
    plantedGaps: gaps === undefined ? DEFAULT_PLANTED_SETTINGS.plantedGaps : Number(gaps),
  };
}
