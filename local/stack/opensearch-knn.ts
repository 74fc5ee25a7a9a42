import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { config } from "../../functions/shared/config";
import { startStackNode, waitYellow } from "./opensearch";
import {
  cachePath,
  getJson,
  javaHome,
  logFile,
  mvnCopy,
  requireTool,
  run,
  type StackService,
  urlPort,
} from "./process";

/**
 * The k-NN node (VECTOR_STORE=opensearch): a second OpenSearch beside the shared one, because the
 * k-NN plugin Maven Central serves (2.19.1.0, Lucene engine only: no native libraries) needs
 * OpenSearch 2.19.1 exactly and its `lang-painless` module, which Maven serves only as jars. The
 * shared node stays on 2.19.6 with nothing extra, so `npm start` does not pay for it; `stack up
 * --knn` (or VECTOR_STORE=opensearch, or the integration tests) starts this one. README "Vector store".
 */
const KNN_OS_VERSION = "2.19.1";
const KNN_PLUGIN = "org.opensearch.plugin:opensearch-knn:2.19.1.0:zip";
const KNN_ZIP = "opensearch-knn-2.19.1.0.zip";

/** lang-painless and what it loads (its pom's runtime dependencies), as a module directory. */
const PAINLESS_JARS = [
  `org.opensearch.plugin:lang-painless:${KNN_OS_VERSION}`,
  `org.opensearch.plugin:opensearch-scripting-painless-spi:${KNN_OS_VERSION}`,
  "org.antlr:antlr4-runtime:4.13.1",
  "org.ow2.asm:asm:9.7",
  "org.ow2.asm:asm-util:9.7",
  "org.ow2.asm:asm-tree:9.7",
  "org.ow2.asm:asm-commons:9.7",
  "org.ow2.asm:asm-analysis:9.7",
];
const SPI_JAR = `opensearch-scripting-painless-spi-${KNN_OS_VERSION}.jar`;

const PAINLESS_DESCRIPTOR = `description=An easy, safe and fast scripting language for OpenSearch
version=${KNN_OS_VERSION}
name=lang-painless
classname=org.opensearch.painless.PainlessPlugin
java.version=11
opensearch.version=${KNN_OS_VERSION}
custom.foldername=
extended.plugins=
has.native.controller=false
`;

// Painless compiles scripts into classes at runtime.
const PAINLESS_POLICY = `grant {
  permission java.lang.RuntimePermission "createClassLoader";
  permission java.lang.RuntimePermission "getClassLoader";
};
`;

const baseDir = () => cachePath("opensearch-knn");
const homeDir = () => path.join(baseDir(), `opensearch-${KNN_OS_VERSION}`);
const jarFile = (coordinate: string) => {
  const [, artifact, version] = coordinate.split(":");
  return `${artifact}-${version}.jar`;
};

interface RootInfo {
  version?: { distribution?: string; number?: string };
}

/** The node's version when it answers with the k-NN plugin loaded, else undefined. */
async function probe(): Promise<string | undefined> {
  const base = config().OPENSEARCH_VECTOR_URL;
  const root = await getJson<RootInfo>(base);
  if (root?.version?.distribution !== "opensearch") return undefined;
  const plugins = await getJson<{ component?: string }[]>(
    new URL("_cat/plugins?format=json", base).toString(),
  );
  if (!plugins?.some((p) => p.component === "opensearch-knn")) return undefined;
  return `${root.version.number} + k-NN`;
}

export const opensearchKnn: StackService = {
  name: "opensearch-knn",
  get url() {
    return config().OPENSEARCH_VECTOR_URL;
  },
  probe,
  async provision(log) {
    const home = homeDir();
    const downloads = cachePath("downloads");
    if (!existsSync(path.join(home, "plugins", "opensearch-knn"))) {
      const unzip = requireTool("unzip", "apt-get install unzip");
      const zip = path.join(downloads, `opensearch-${KNN_OS_VERSION}.zip`);
      if (!existsSync(zip)) {
        log(`opensearch-knn: downloading OpenSearch ${KNN_OS_VERSION} (Maven Central, integ-test-zip)`);
        await mvnCopy(
          `org.opensearch.distribution.integ-test-zip:opensearch:${KNN_OS_VERSION}:zip`,
          downloads,
        );
      }
      for (const coordinate of PAINLESS_JARS) {
        if (!existsSync(path.join(downloads, jarFile(coordinate)))) {
          log(`opensearch-knn: downloading ${coordinate}`);
          await mvnCopy(coordinate, downloads);
        }
      }
      if (!existsSync(path.join(downloads, KNN_ZIP))) {
        log("opensearch-knn: downloading the k-NN plugin");
        await mvnCopy(KNN_PLUGIN, downloads);
      }
      log("opensearch-knn: unpacking and installing lang-painless + k-NN");
      // Assembled beside, then renamed, so an interrupted install never looks installed.
      const tmp = path.join(baseDir(), ".unpack");
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      await run(unzip, ["-q", "-o", zip, "-d", tmp], { timeoutMs: 300_000 });
      const staged = path.join(tmp, `opensearch-${KNN_OS_VERSION}`);
      const painless = path.join(staged, "modules", "lang-painless");
      mkdirSync(path.join(painless, "spi"), { recursive: true });
      for (const coordinate of PAINLESS_JARS) {
        copyFileSync(path.join(downloads, jarFile(coordinate)), path.join(painless, jarFile(coordinate)));
      }
      // The k-NN plugin extends painless through its SPI, which the plugin loader finds in spi/.
      copyFileSync(path.join(downloads, SPI_JAR), path.join(painless, "spi", SPI_JAR));
      writeFileSync(path.join(painless, "plugin-descriptor.properties"), PAINLESS_DESCRIPTOR);
      writeFileSync(path.join(painless, "plugin-security.policy"), PAINLESS_POLICY);
      const jdk = javaHome();
      await run(
        path.join(staged, "bin", "opensearch-plugin"),
        ["install", "--batch", `file://${path.join(downloads, KNN_ZIP)}`],
        {
          cwd: staged,
          env: { ...process.env, OPENSEARCH_JAVA_HOME: jdk, JAVA_HOME: jdk },
          timeoutMs: 300_000,
          what: "opensearch-plugin install opensearch-knn",
        },
      );
      rmSync(home, { recursive: true, force: true });
      await run("mv", [staged, home]);
      rmSync(tmp, { recursive: true, force: true });
    }
  },
  async start(log) {
    const url = config().OPENSEARCH_VECTOR_URL;
    log(`opensearch-knn: starting on port ${urlPort(url)} (~30 s)`);
    return startStackNode({ name: "opensearch-knn", url, baseDir: baseDir(), home: homeDir(), probe });
  },
  async ready() {
    await waitYellow(120_000, undefined, config().OPENSEARCH_VECTOR_URL, logFile("opensearch-knn"));
  },
};
