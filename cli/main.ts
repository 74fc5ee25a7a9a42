/**
 * `trisearch <command>`: one entry point for operators. Each command lives in
 * cli/commands/<name>.ts and exports `run(args)` returning an exit code.
 */
// Local tooling runs on this machine's Node 20 (Lambda runs Node 22): the SDK's notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

type CommandModule = { run(args: string[]): Promise<number>; summary: string };

const commands: Record<string, () => Promise<CommandModule>> = {
  start: () => import("./commands/start"),
  stack: () => import("./commands/stack"),
  migrate: () => import("./commands/migrate"),
  seed: () => import("./commands/seed"),
  verify: () => import("./commands/verify"),
  eval: () => import("./commands/eval"),
  reconcile: () => import("./commands/reconcile"),
  reindex: () => import("./commands/reindex"),
  import: () => import("./commands/import"),
  gaps: () => import("./commands/gaps"),
  "gaps-eval": () => import("./commands/gaps-eval"),
};

async function usage(): Promise<string> {
  const lines = ["Usage: trisearch <command> [options]", "", "Commands:"];
  for (const [name, load] of Object.entries(commands)) {
    const summary = await load()
      .then((m) => m.summary)
      .catch(() => "(unavailable)");
    lines.push(`  ${name.padEnd(12)}${summary}`);
  }
  lines.push("", "Run `trisearch <command> --help` for a command's options.");
  return lines.join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(await usage());
    return name ? 0 : 1;
  }
  const load = commands[name];
  if (!load) {
    console.error(`Unknown command "${name}".\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  },
);
