import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ListQueuesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { config } from "../../functions/shared/config";
import {
  cachePath,
  logFile,
  mvn,
  orStop,
  requireTool,
  StackError,
  type StackService,
  spawnDetached,
  urlPort,
  waitFor,
} from "./process";
import { ensureQueues } from "./queues";

const ELASTICMQ_VERSION = "1.6.11";

const baseDir = () => cachePath("elasticmq");
const libDir = () => path.join(baseDir(), "lib");

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.trisearch</groupId>
  <artifactId>elasticmq-runtime</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.elasticmq</groupId>
      <artifactId>elasticmq-server_2.13</artifactId>
      <version>${ELASTICMQ_VERSION}</version>
    </dependency>
  </dependencies>
</project>
`;

function endpoint(): string {
  const url = config().SQS_ENDPOINT;
  if (!url) throw new StackError("SQS_ENDPOINT is empty: the local stack needs an ElasticMQ endpoint");
  return url;
}

/** Our own short-lived client: the stack must not close the app's singletons. */
function localClient(maxAttempts: number, url = endpoint()): SQSClient {
  return new SQSClient({
    region: config().AWS_REGION,
    endpoint: url,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts,
  });
}

async function probe(): Promise<string | undefined> {
  return probeAt(endpoint());
}

/** The server's version when an ElasticMQ answers at `url`, else undefined. */
export async function probeAt(url: string): Promise<string | undefined> {
  // One attempt, so a closed port fails in milliseconds instead of after SDK retries.
  const client = localClient(1, url);
  try {
    await client.send(new ListQueuesCommand({}), { abortSignal: AbortSignal.timeout(3000) });
    return runningVersion();
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
}

const jarVersion = (jars: string[]) =>
  jars.map((j) => /^elasticmq-server_[\d.]+-(.+)\.jar$/.exec(j)?.[1]).find(Boolean);

/**
 * ElasticMQ does not report its version over SQS, so read it from the server jar: ours, or
 * (for a reused server) the one on the running process's classpath.
 */
function runningVersion(): string {
  const ours = existsSync(libDir()) ? jarVersion(readdirSync(libDir())) : undefined;
  try {
    for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
      let args: string[];
      try {
        args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      } catch {
        continue;
      }
      if (!args.includes("org.elasticmq.server.Main")) continue;
      const cp = args[args.indexOf("-cp") + 1] ?? "";
      const dir = cp.endsWith("/*") ? cp.slice(0, -2) : path.dirname(cp);
      const found = existsSync(dir) ? jarVersion(readdirSync(dir)) : undefined;
      if (found) return found;
    }
  } catch {
    // no /proc: fall through
  }
  return ours ?? "unknown";
}

/**
 * Starts an ElasticMQ server (detached) on `port` with its state under `dataDir`: queue definitions
 * (queues-storage) and messages (messages-storage, H2 from the server's own dependencies), so a
 * restart, or a crash, keeps every message that was sent and not yet deleted, as SQS does.
 * The stack starts the shared one; the fault tests start private ones on other ports.
 */
export function startElasticMq(opts: { port: number; dataDir: string; log: string }): {
  pid: number;
  log: string;
} {
  const java = requireTool("java", "install a JDK 17: apt-get install openjdk-17-jdk-headless");
  mkdirSync(opts.dataDir, { recursive: true });
  const conf = path.join(opts.dataDir, "elasticmq.conf");
  const h2 = path.join(opts.dataDir, "messages");
  writeFileSync(
    conf,
    [
      'include classpath("application.conf")',
      `node-address { protocol = http, host = 127.0.0.1, port = ${opts.port}, context-path = "" }`,
      `rest-sqs { enabled = true, bind-port = ${opts.port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
      "rest-stats { enabled = false }",
      `queues-storage { enabled = true, path = ${JSON.stringify(path.join(opts.dataDir, "queues.conf"))} }`,
      `messages-storage { enabled = true, uri = ${JSON.stringify(`jdbc:h2:${h2};WRITE_DELAY=0`)} }`,
      "",
    ].join("\n"),
  );
  const pid = spawnDetached(
    java,
    ["-Xmx256m", `-Dconfig.file=${conf}`, "-cp", `${libDir()}/*`, "org.elasticmq.server.Main"],
    { log: opts.log, cwd: opts.dataDir },
  );
  return { pid, log: opts.log };
}

export const elasticmq: StackService = {
  name: "elasticmq",
  get url() {
    return endpoint();
  },
  probe,
  async provision(log) {
    const base = baseDir();
    mkdirSync(base, { recursive: true });
    const pom = path.join(base, "pom.xml");
    if (!existsSync(pom) || readFileSync(pom, "utf8") !== POM) writeFileSync(pom, POM);
    if (existsSync(libDir()) && jarVersion(readdirSync(libDir())) === ELASTICMQ_VERSION) return;
    log(`elasticmq: downloading ${ELASTICMQ_VERSION} and its dependencies (Maven Central)`);
    await mvn(
      ["-f", pom, "dependency:copy-dependencies", `-DoutputDirectory=${libDir()}`],
      "mvn dependency:copy-dependencies (elasticmq)",
      base,
    );
  },
  async start(log) {
    const port = urlPort(endpoint());
    log(`elasticmq: starting on port ${port}`);
    const { pid, log: log_ } = startElasticMq({
      port,
      dataDir: path.join(baseDir(), "data"),
      log: logFile("elasticmq"),
    });
    const version = await orStop(
      () => [pid],
      () =>
        waitFor("elasticmq", () => probeAt(`http://127.0.0.1:${port}`), {
          timeoutMs: 90_000,
          pid,
          log: log_,
        }),
    );
    return { version, started: { pid, startedAt: new Date().toISOString(), log: log_ } };
  },
  async ready(log) {
    const prefix = config().QUEUE_PREFIX;
    const client = localClient(3);
    try {
      await ensureQueues(client, prefix);
    } finally {
      client.destroy();
    }
    log(`elasticmq: queues ${prefix}-{keyword,vector,ingest} (+ -dlq) present`);
  },
};
