/**
 * What the Docker stack runs, proven on this machine without a Docker engine: the compose
 * health checks against the real services, ElasticMQ with the mounted queue config, the
 * Dockerfile's model recipe, and the image's command (`npm run build` output, `start --no-stack`)
 * serving the quick start's search.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromaClient, closeClients, sqsClient } from "../../functions/shared/clients";
import { type Config, config, loadConfig } from "../../functions/shared/config";
import { createContainer } from "../../functions/shared/container";
import { QUEUES, visibilityTimeoutSeconds } from "../../functions/topology";
import { elasticmq } from "../../local/stack/elasticmq";
import { modelArtifact } from "../../local/stack/model";
import { cachePath, requireTool } from "../../local/stack/process";
import { ensureQueues, QUEUE_NAMES } from "../../local/stack/queues";
import { buildAll, CLI_BUNDLE } from "../../scripts/build";
import { composeFile, composeTool, healthcheckArgv, repoRoot } from "../helpers/compose";
import { execForm, parseDockerfile, type Stage } from "../helpers/dockerfile-lint";
import { waitUntil } from "../helpers/wait";

const base = loadConfig();
const portOf = (url: string) => Number(new URL(url).port);
const dockerfile = parseDockerfile(readFileSync(path.join(repoRoot, "Dockerfile"), "utf8"));
const stage = (name: string) => dockerfile.stages.find((s) => s.name === name) as Stage;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A child we started, stopped by its own handle (never by name). */
async function stop(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = "SIGTERM",
): Promise<number | null> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}

const run = (argv: string[], env: NodeJS.ProcessEnv = process.env, cwd = repoRoot) => {
  const [cmd = "", ...args] = argv;
  const res = spawnSync(cmd, args, { env, cwd, encoding: "utf8", timeout: 60_000 });
  return { status: res.status, output: `${res.stdout ?? ""}${res.stderr ?? ""}${res.error?.message ?? ""}` };
};

describe("compose health checks", () => {
  // The services run here on the same ports as in compose; each probe must pass against them.
  const model = (() => {
    const rendered = composeTool().config(composeFile);
    if (!rendered.ok) throw new Error(rendered.output);
    return rendered.json;
  })();
  const hostPorts: Record<string, number> = {
    postgres: portOf(base.DATABASE_URL),
    opensearch: portOf(base.OPENSEARCH_URL),
    elasticmq: portOf(base.SQS_ENDPOINT ?? ""),
    chroma: portOf(base.CHROMA_URL),
  };
  const containerPorts: Record<string, number> = {
    postgres: 5432,
    opensearch: 9200,
    elasticmq: 9324,
    chroma: 8000,
  };

  it.each(Object.keys(hostPorts))(
    "%s: every alternative of its probe passes against the running service",
    (name) => {
      const argv = healthcheckArgv(model.services[name] ?? {});
      expect(argv).toBeDefined();
      // A probe with fallbacks (`a || b`) is checked one alternative at a time.
      const alternatives =
        argv?.[0] === "sh" && argv[1] === "-c"
          ? (argv[2] ?? "").split(" || ").map((alt) => ["sh", "-c", alt])
          : [argv ?? []];
      for (const alt of alternatives) {
        const local = alt.map((a) => a.replaceAll(String(containerPorts[name]), String(hostPorts[name])));
        const res = run(local);
        expect(res.status, `${local.join(" ")}\n${res.output}`).toBe(0);
      }
    },
  );

  it.each(Object.keys(hostPorts))("%s: its probe fails when nothing listens", async (name) => {
    const argv = healthcheckArgv(model.services[name] ?? {}) ?? [];
    const closed = String(await freePort());
    const res = run(argv.map((a) => a.replaceAll(String(containerPorts[name]), closed)));
    expect(res.status).not.toBe(0);
  });
});

describe("docker/elasticmq.conf", () => {
  let server: ChildProcess | undefined;
  let sqs: SQSClient | undefined;
  let log = "";

  beforeAll(async () => {
    // The ElasticMQ release the no-Docker stack runs (and the image's version), with our config.
    await elasticmq.provision(() => undefined);
    const java = requireTool("java", "apt-get install openjdk-17-jdk-headless");
    const port = await freePort();
    server = spawn(
      java,
      [
        "-Xmx128m",
        `-Dconfig.file=${path.join(repoRoot, "docker", "elasticmq.conf")}`,
        // Only the port differs from the container (another ElasticMQ owns 9324 here).
        `-Drest-sqs.bind-port=${port}`,
        `-Dnode-address.port=${port}`,
        "-Drest-sqs.bind-hostname=127.0.0.1",
        "-cp",
        `${cachePath("elasticmq", "lib")}/*`,
        "org.elasticmq.server.Main",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    server.stdout?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    server.stderr?.on("data", (d: Buffer) => {
      log += d.toString();
    });
    const client = new SQSClient({
      region: "us-east-1",
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    sqs = client;
    await waitUntil(
      "ElasticMQ with docker/elasticmq.conf to list its queues",
      async () => {
        if (server?.exitCode !== null) throw new Error(`ElasticMQ exited:\n${log.slice(-2000)}`);
        return ((await client.send(new ListQueuesCommand({}))).QueueUrls?.length ?? 0) >= 6;
      },
      { timeoutMs: 120_000, everyMs: 500 },
    );
  }, 300_000);

  afterAll(async () => {
    sqs?.destroy();
    await stop(server);
  });

  it("creates each pipeline queue with its DLQ, as ensureQueues does", async () => {
    const client = sqs as SQSClient;
    for (const name of QUEUE_NAMES) {
      const url = (await client.send(new GetQueueUrlCommand({ QueueName: `trisearch-${name}` }))).QueueUrl;
      const dlqUrl = (await client.send(new GetQueueUrlCommand({ QueueName: `trisearch-${name}-dlq` })))
        .QueueUrl;
      const attrs = (
        await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["All"] }))
      ).Attributes;
      const dlqArn = (
        await client.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }))
      ).Attributes?.QueueArn;
      expect(attrs?.VisibilityTimeout, name).toBe(String(visibilityTimeoutSeconds(name)));
      expect(JSON.parse(attrs?.RedrivePolicy ?? "{}"), name).toEqual({
        deadLetterTargetArn: dlqArn,
        maxReceiveCount: QUEUES[name].maxReceiveCount,
      });
    }
  });

  it("the app's start-up (ensureQueues with QUEUE_PREFIX) accepts the pre-created queues", async () => {
    const client = sqs as SQSClient;
    const before = (await client.send(new ListQueuesCommand({}))).QueueUrls?.sort();
    const urls = await ensureQueues(client, base.QUEUE_PREFIX);
    expect(Object.keys(urls).sort()).toEqual([...QUEUE_NAMES].sort());
    // Nothing new: the config already made what the app needs.
    expect((await client.send(new ListQueuesCommand({}))).QueueUrls?.sort()).toEqual(before);
  });
});

describe("Dockerfile model stage", () => {
  it("its recipe fetches the model files the ONNX embedder loads", () => {
    const model = stage("model");
    const artifact = model.instructions.find((i) => i.keyword === "ARG")?.args.split("=")[1] ?? "";
    const work = mkdtempSync(path.join(tmpdir(), "trisearch-model-stage-"));
    try {
      const out = path.join(work, "opt");
      // The stage's own commands, with its two absolute directories moved under a temp dir.
      const script = model.instructions
        .filter((i) => i.keyword === "RUN")
        .map((i) => i.args)
        .join(" && ")
        .replace(/\$\{MODEL_ARTIFACT\}/g, artifact)
        .replaceAll("/opt/trisearch/models", out)
        .replaceAll("/tmp/model", work);
      const res = spawnSync("sh", ["-c", script], { cwd: work, encoding: "utf8", timeout: 600_000 });
      expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
      const dir = path.join(out, config().ONNX_MODEL);
      expect(statSync(path.join(dir, "model.onnx")).size).toBeGreaterThan(10_000_000);
      expect(JSON.parse(readFileSync(path.join(dir, "tokenizer.json"), "utf8"))).toHaveProperty(
        "model.vocab",
      );
      // The settings the embedder reads (CLS pooling and the query instruction for BGE).
      expect(JSON.parse(readFileSync(path.join(dir, "trisearch-model.json"), "utf8"))).toEqual(
        modelArtifact().settings,
      );
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 600_000);
});

describe("the image's command: `npm run build` output, `start --no-stack`", () => {
  const id = randomBytes(3).toString("hex");
  const name = `t-docker-${id}`;
  const dbName = `trisearch_t_docker_${id}`;
  // Inside the repository, so the bundles resolve their externals from node_modules as in the image.
  const outDir = path.join(repoRoot, ".cache", `dist-test-${id}`);
  const bundle = path.join(outDir, path.relative("dist", CLI_BUNDLE));
  const adminUrl = new URL(base.DATABASE_URL);
  adminUrl.pathname = "/postgres";
  const dbUrl = new URL(base.DATABASE_URL);
  dbUrl.pathname = `/${dbName}`;
  let port = 0;
  let app: ChildProcess | undefined;
  let output = "";
  let cfg: Config;

  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl.toString() });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    await buildAll({ outDir, log: () => undefined });
    port = await freePort();
    // An empty database: the command itself must migrate it (the image has no other way).
    await admin(`CREATE DATABASE ${dbName}`);
    cfg = loadConfig({
      ...process.env,
      DATABASE_URL: dbUrl.toString(),
      QUEUE_PREFIX: name,
      OPENSEARCH_INDEX: name,
      CHROMA_COLLECTION: name,
    });
  }, 300_000);

  afterAll(async () => {
    await stop(app, "SIGKILL");
    if (!cfg) return;
    const c = createContainer(cfg);
    const sqs = sqsClient(cfg);
    const chroma = chromaClient(cfg);
    await Promise.allSettled([
      c.keywordIndex().deleteIndexAndTemplate(),
      chroma
        .listCollections({ limit: 10_000 })
        .then((cols) =>
          Promise.all(
            cols
              .filter((col) => col.name === name || col.name.startsWith(`${name}__`))
              .map((col) => chroma.deleteCollection({ name: col.name })),
          ),
        ),
      ...QUEUE_NAMES.flatMap((q) => [`${name}-${q}`, `${name}-${q}-dlq`]).map(async (QueueName) => {
        const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName }));
        await sqs.send(new DeleteQueueCommand({ QueueUrl }));
      }),
    ]);
    await closeClients();
    await admin(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    rmSync(outDir, { recursive: true, force: true });
  }, 120_000);

  it("bundles the CLI and every handler, with migrations and the ONNX worker beside the bundles that use them", () => {
    expect(existsSync(bundle)).toBe(true);
    expect(existsSync(path.join(path.dirname(bundle), "migrations"))).toBe(true);
    // The local embedder's worker thread starts from a file beside the bundle.
    expect(existsSync(path.join(path.dirname(bundle), "inference-worker.mjs"))).toBe(true);
    for (const handler of ["search", "ingest", "keyword-indexer", "embedder", "outbox-relay"]) {
      expect(existsSync(path.join(outDir, "handlers", handler, "index.mjs")), handler).toBe(true);
    }
  });

  it("the bundled CLI prints its usage from any directory", () => {
    for (const args of [["--help"], ["migrate", "--help"], ["start", "--help"]]) {
      const res = run([process.execPath, bundle, ...args], process.env, tmpdir());
      expect(res.status, res.output).toBe(0);
      expect(res.output).toContain("Usage: trisearch");
    }
    expect(run([process.execPath, bundle, "start", "--help"], process.env, tmpdir()).output).toContain(
      "--no-stack",
    );
  });

  it("migrates, creates the queues, seeds and serves the quick start's search on all interfaces", async () => {
    const env = {
      ...process.env,
      DATABASE_URL: cfg.DATABASE_URL,
      QUEUE_PREFIX: name,
      OPENSEARCH_INDEX: name,
      CHROMA_COLLECTION: name,
      EMBEDDER: "onnx",
      // Absolute, as in the image (the bundle runs from another directory).
      ONNX_MODEL_DIR: path.resolve(repoRoot, cfg.ONNX_MODEL_DIR),
      API_HOST: "0.0.0.0",
      API_PORT: String(port),
      LOG_LEVEL: "ERROR",
    };
    const cmd =
      execForm(
        stage("runtime")
          .instructions.filter((i) => i.keyword === "CMD")
          .pop()?.args ?? "",
      ) ?? [];
    expect(cmd.slice(0, 3)).toEqual(["node", "--enable-source-maps", CLI_BUNDLE]);
    app = spawn(process.execPath, [...cmd.slice(1, 2), bundle, ...cmd.slice(3)], {
      cwd: tmpdir(),
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const collect = (d: Buffer) => {
      output += d.toString();
    };
    app.stdout?.on("data", collect);
    app.stderr?.on("data", collect);
    const child = app;
    await waitUntil(
      "the bundled `start --no-stack` to serve",
      async () => {
        if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}:\n${output.slice(-3000)}`);
        return output.includes("Trisearch API on");
      },
      { timeoutMs: 90_000, everyMs: 250 },
    );
    // --no-stack: no stack table, straight to migrations, queues and the demo seed.
    expect(output).not.toMatch(/embedding-model|elasticmq\s+http/);
    expect(output).toMatch(/Seeded \d+ demo messages/);
    expect(output).toContain(`curl 'http://127.0.0.1:${port}/search?q=users+can%27t+login'`);
    // API_HOST=0.0.0.0: the socket listens on every interface (a published container port needs it).
    const portHex = port.toString(16).toUpperCase().padStart(4, "0");
    const listening = readFileSync("/proc/net/tcp", "utf8")
      .split("\n")
      .map((l) => l.trim().split(/\s+/))
      .filter((cols) => cols[1]?.endsWith(`:${portHex}`) && cols[3] === "0A")
      .map((cols) => cols[1]);
    expect(listening).toEqual([`00000000:${portHex}`]);
    const migrated = new pg.Client({ connectionString: cfg.DATABASE_URL });
    await migrated.connect();
    try {
      const applied = await migrated.query("select count(*)::int as n from pgmigrations");
      const files = readdirSync(path.join(repoRoot, "migrations")).filter((f) => f.endsWith(".sql"));
      expect(applied.rows[0]?.n).toBe(files.length);
    } finally {
      await migrated.end();
    }

    type Hit = { content: string; ranks: { bm25: number | null; semantic: number | null } };
    const body = await waitUntil(
      "both search legs to return the seeded messages",
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/search?q=users+can%27t+login`);
        if (!res.ok) return undefined;
        const json = (await res.json()) as { results: Hit[] };
        const both =
          json.results.some((r) => r.ranks.bm25 !== null) &&
          json.results.some((r) => r.ranks.semantic !== null);
        return both ? json : undefined;
      },
      { timeoutMs: 90_000, everyMs: 1000 },
    );
    expect(body?.results.some((r) => /log ?in/i.test(r.content))).toBe(true);

    // The image's HEALTHCHECK (and compose's) pass against it.
    const hc = stage("runtime").instructions.find((i) => i.keyword === "HEALTHCHECK")?.args ?? "";
    const probe = execForm(hc.slice(hc.indexOf("CMD") + 3).trim()) ?? [];
    const res = run(probe, { ...process.env, API_PORT: String(port) });
    expect(res.status, res.output).toBe(0);

    // docker stop sends SIGTERM: the command stops its workers and exits 0.
    expect(await stop(app, "SIGTERM")).toBe(0);
  }, 240_000);
});
