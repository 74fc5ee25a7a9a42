import { copyFileSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { config } from "../../functions/shared/config";
import {
  cachePath,
  getJson,
  isAlive,
  isRoot,
  javaHome,
  logFile,
  mvnCopy,
  orStop,
  requireTool,
  run,
  StackError,
  type StackService,
  type StartedService,
  spawnDetached,
  urlPort,
  waitFor,
} from "./process";

const OPENSEARCH_VERSION = "2.19.6";
/** OpenSearch refuses to run as root, so as root we run it as this system user. */
const OS_USER = "trisearch-os";

const baseDir = () => cachePath("opensearch");
const homeDir = () => path.join(baseDir(), `opensearch-${OPENSEARCH_VERSION}`);

// The integ-test zip ships only transport-netty4; the `english` analyzer lives in this module.
const ANALYSIS_COMMON_DESCRIPTOR = `description=Adds "built in" analyzers to OpenSearch.
version=${OPENSEARCH_VERSION}
name=analysis-common
classname=org.opensearch.analysis.common.CommonAnalysisPlugin
java.version=11
opensearch.version=${OPENSEARCH_VERSION}
custom.foldername=
extended.plugins=
has.native.controller=false
`;

interface RootInfo {
  version?: { distribution?: string; number?: string };
}

async function probe(): Promise<string | undefined> {
  const root = await getJson<RootInfo>(config().OPENSEARCH_URL);
  if (root?.version?.distribution !== "opensearch") return undefined;
  return root.version.number;
}

/** Resolves once the cluster is yellow (indices can be created and written). */
export async function waitYellow(
  timeoutMs: number,
  pid?: number,
  baseUrl = config().OPENSEARCH_URL,
  log = logFile("opensearch"),
): Promise<void> {
  const url = new URL("_cluster/health?wait_for_status=yellow&timeout=5s", baseUrl);
  await waitFor(
    "opensearch (cluster health yellow)",
    async () => {
      const health = await getJson<{ status?: string }>(url.toString(), 10_000);
      return health?.status === "yellow" || health?.status === "green" ? true : undefined;
    },
    { timeoutMs, ...(pid ? { pid } : {}), log },
  );
}

/** The service user must reach the install; a 0700/0750 parent of the repo would stop it. */
function assertTraversable(dir: string): void {
  let current = path.resolve(dir);
  for (;;) {
    const mode = statSync(current).mode;
    if ((mode & 0o001) === 0) {
      throw new StackError(
        `OpenSearch runs as user ${OS_USER} and cannot traverse ${current} (not o+x): ` +
          `chmod o+x ${current}, or set CACHE_DIR to a directory it can reach (e.g. /var/tmp/trisearch-cache)`,
      );
    }
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

async function ensureUser(): Promise<void> {
  try {
    await run("id", [OS_USER], { timeoutMs: 10_000 });
  } catch {
    const useradd = requireTool("useradd", "the passwd package provides it");
    await run(useradd, ["-r", "-M", "-s", "/usr/sbin/nologin", OS_USER], { timeoutMs: 30_000 });
  }
}

const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * Starts an OpenSearch node (detached) from the provisioned install on `port`, with its data, logs
 * and pid file under `baseDir` (as root: as the service user, which must own baseDir). Returns the
 * wrapper's pid and a reader for the JVM's pid (OpenSearch writes it with -p once it runs). The
 * stack starts the shared node; the fault tests start private ones on other ports and dirs.
 */
export async function startOpenSearch(opts: {
  port: number;
  baseDir: string;
  log: string;
  heap?: string;
  /** Another provisioned install (the k-NN node's OpenSearch 2.19.1); default the shared node's. */
  home?: string;
}): Promise<{ wrapperPid: number; javaPid: () => Promise<number>; log: string }> {
  const home = opts.home ?? homeDir();
  const jdk = javaHome();
  for (const d of ["data", "logs", "run"]) mkdirSync(path.join(opts.baseDir, d), { recursive: true });
  const pid = path.join(opts.baseDir, "run", "opensearch.pid");
  rmSync(pid, { force: true });
  const settings = [
    "discovery.type=single-node",
    "network.host=127.0.0.1",
    `http.port=${opts.port}`,
    `path.data=${path.join(opts.baseDir, "data")}`,
    `path.logs=${path.join(opts.baseDir, "logs")}`,
    // A fuller dev disk must not flip indices to read-only.
    "cluster.routing.allocation.disk.threshold_enabled=false",
  ];
  const heap = opts.heap ?? "512m";
  const command =
    `cd ${q(home)} && OPENSEARCH_JAVA_HOME=${q(jdk)} OPENSEARCH_JAVA_OPTS='-Xms${heap} -Xmx${heap}' ` +
    `exec bin/opensearch ${settings.map((s) => `-E${q(s)}`).join(" ")} -p ${q(pid)}`;
  let wrapperPid: number;
  if (isRoot()) {
    assertTraversable(opts.baseDir);
    await ensureUser();
    await run("chown", ["-R", `${OS_USER}:`, opts.baseDir], { timeoutMs: 120_000 });
    wrapperPid = spawnDetached("su", [OS_USER, "-s", "/bin/bash", "-c", command], { log: opts.log });
  } else {
    wrapperPid = spawnDetached("bash", ["-c", command], { log: opts.log });
  }
  const javaPid = async () => Number.parseInt(await readFile(pid, "utf8").catch(() => "0"), 10) || 0;
  return { wrapperPid, javaPid, log: opts.log };
}

/**
 * Starts one of the stack's OpenSearch nodes (the shared one, or the k-NN node from its own install)
 * on its URL's port, waits until `probe` answers and the cluster is yellow (stopping it if it never
 * does), and returns what `stack down` needs to stop it: the JVM and the `su` wrapper around it.
 */
export async function startStackNode(opts: {
  name: string;
  url: string;
  baseDir: string;
  home?: string;
  probe: () => Promise<string | undefined>;
}): Promise<{ version: string; started: StartedService }> {
  const started = await startOpenSearch({
    port: urlPort(opts.url),
    baseDir: opts.baseDir,
    log: logFile(opts.name),
    ...(opts.home ? { home: opts.home } : {}),
  });
  const version = await orStop(
    async () => [await started.javaPid(), started.wrapperPid],
    async () => {
      const v = await waitFor(opts.name, opts.probe, {
        timeoutMs: 180_000,
        pid: started.wrapperPid,
        log: started.log,
      });
      await waitYellow(120_000, started.wrapperPid, opts.url, started.log);
      return v;
    },
  );
  const javaPid = await started.javaPid();
  return {
    version,
    started: {
      pid: javaPid && isAlive(javaPid) ? javaPid : started.wrapperPid,
      wrapperPids: javaPid ? [started.wrapperPid] : [],
      startedAt: new Date().toISOString(),
      log: started.log,
    },
  };
}

export const opensearch: StackService = {
  name: "opensearch",
  get url() {
    return config().OPENSEARCH_URL;
  },
  probe,
  async provision(log) {
    const home = homeDir();
    const downloads = cachePath("downloads");
    if (!existsSync(path.join(home, "bin", "opensearch"))) {
      const unzip = requireTool("unzip", "apt-get install unzip");
      const zip = path.join(downloads, `opensearch-${OPENSEARCH_VERSION}.zip`);
      if (!existsSync(zip)) {
        log(`opensearch: downloading ${OPENSEARCH_VERSION} (Maven Central, integ-test-zip)`);
        await mvnCopy(
          `org.opensearch.distribution.integ-test-zip:opensearch:${OPENSEARCH_VERSION}:zip`,
          downloads,
        );
      }
      log("opensearch: unpacking");
      // Unpack beside, then rename, so an interrupted unzip never looks installed.
      const tmp = path.join(baseDir(), ".unpack");
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      await run(unzip, ["-q", "-o", zip, "-d", tmp], { timeoutMs: 300_000 });
      rmSync(home, { recursive: true, force: true });
      await run("mv", [path.join(tmp, `opensearch-${OPENSEARCH_VERSION}`), home]);
      rmSync(tmp, { recursive: true, force: true });
    }
    const moduleDir = path.join(home, "modules", "analysis-common");
    const jarName = `analysis-common-${OPENSEARCH_VERSION}.jar`;
    if (!existsSync(path.join(moduleDir, jarName))) {
      if (!existsSync(path.join(downloads, jarName))) {
        log("opensearch: downloading the analysis-common module");
        await mvnCopy(`org.opensearch.plugin:analysis-common:${OPENSEARCH_VERSION}`, downloads);
      }
      mkdirSync(moduleDir, { recursive: true });
      writeFileSync(path.join(moduleDir, "plugin-descriptor.properties"), ANALYSIS_COMMON_DESCRIPTOR);
      copyFileSync(path.join(downloads, jarName), path.join(moduleDir, jarName));
    }
  },
  async start(log) {
    log(`opensearch: starting on port ${urlPort(config().OPENSEARCH_URL)} (~20 s)`);
    return startStackNode({ name: "opensearch", url: config().OPENSEARCH_URL, baseDir: baseDir(), probe });
  },
  async ready() {
    await waitYellow(120_000);
  },
};
