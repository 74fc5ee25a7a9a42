import { type ParseArgsConfig, parseArgs } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Every command parses flags the same way; `--help` prints the command's own usage. */
export function parseFlags(
  args: string[],
  options: Options,
  help: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | null {
  const parsed = parseArgs({
    args,
    options: { ...options, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) {
    console.log(help);
    return null;
  }
  return { values, positionals: parsed.positionals };
}
