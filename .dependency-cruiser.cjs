/**
 * The layer fence (README "Architecture"), checked by `npm run check` (npm run layers):
 *   core      imports only core, node: built-ins, zod and stemmer (pure functions, no I/O);
 *   adapters  import core and their own folder: never handlers, shared (the wiring) or another adapter;
 *   handlers  import the composition root (functions/shared) and core, never an adapter;
 *   topology  imports nothing; lib/ (CDK) reads only the topology from functions/.
 * test/unit/layering.test.ts proves a probe import from core to an adapter or an SDK fails it.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-imports-only-core",
      comment:
        "functions/core is pure: core, node: built-ins, zod, stemmer and lru-cache only (no drivers, SDKs, adapters or wiring)",
      severity: "error",
      from: { path: "^functions/core/" },
      to: {
        pathNot: [
          "^functions/core/",
          "(^|/)node_modules/zod/",
          "(^|/)node_modules/stemmer/",
          "(^|/)node_modules/lru-cache/",
        ],
        dependencyTypesNot: ["core"],
      },
    },
    {
      name: "adapters-import-core-only",
      comment:
        "an adapter imports core, its drivers and its own folder: never handlers, shared wiring or another adapter",
      severity: "error",
      from: { path: "^functions/adapters/([^/]+)/" },
      to: {
        path: "^functions/",
        pathNot: ["^functions/core/", "^functions/adapters/$1/"],
      },
    },
    {
      name: "adapters-live-in-a-folder",
      comment:
        "one folder per store or service under functions/adapters (postgres/, chroma/, ...); wiring goes in shared/",
      severity: "error",
      from: { path: "^functions/adapters/[^/]+$" },
      to: { path: "^functions/(shared|handlers|adapters)/" },
    },
    {
      name: "handlers-import-root-and-core",
      comment: "a handler gets its ports from the composition root (functions/shared) and calls core",
      severity: "error",
      from: { path: "^functions/handlers/" },
      to: { path: "^functions/", pathNot: ["^functions/core/", "^functions/shared/"] },
    },
    {
      name: "nothing-imports-handlers",
      comment: "handlers are entry points (Lambda bundles, the local runtime loads them by name)",
      severity: "error",
      from: { path: "^functions/" },
      to: { path: "^functions/handlers/" },
    },
    {
      name: "topology-is-data",
      comment: "functions/topology.ts imports nothing: CDK, the local runtime and tests all read it",
      severity: "error",
      from: { path: "^functions/topology\\.ts$" },
      to: {},
    },
    {
      name: "cdk-reads-only-the-topology",
      comment: "lib/ (CDK) reads the topology from functions/, never runtime code",
      severity: "error",
      from: { path: "^(lib|bin)/" },
      to: { path: "^functions/", pathNot: "^functions/topology\\.ts$" },
    },
    {
      name: "no-circular",
      severity: "error",
      from: { path: "^functions/" },
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "an import that does not resolve is a typo or a missing dependency",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".mjs", ".js", ".json", ".d.ts"],
    },
    // node_modules is not excluded, only not followed: an excluded module vanishes from the graph,
    // so a core import of an SDK or driver would pass the core rule unseen.
    exclude: { path: ["^cdk\\.out", "^\\.cache", "^dist"] },
  },
};
