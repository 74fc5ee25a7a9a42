/**
 * Progress for long CLI work without a dependency: on a TTY one bar redrawn in place, otherwise
 * (CI, pipes, logs) a plain line at most every `everyMs`. Writes to stderr so stdout stays data.
 */
export interface Progress {
  update(done: number, total?: number, note?: string): void;
  finish(note?: string): void;
}

export function createProgress(
  label: string,
  opts: { total?: number; stream?: NodeJS.WriteStream; everyMs?: number; width?: number } = {},
): Progress {
  const stream = opts.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const everyMs = opts.everyMs ?? (tty ? 100 : 5_000);
  const width = opts.width ?? 30;
  const started = Date.now();
  let total = opts.total ?? 0;
  let done = 0;
  let note = "";
  let lastDraw = 0;

  const line = (): string => {
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const pct = total > 0 ? `${Math.floor(frac * 100)}%`.padStart(4) : "";
    const counts = total > 0 ? `${done}/${total}` : `${done}`;
    const bar = tty && total > 0 ? `[${"#".repeat(Math.round(frac * width)).padEnd(width, ".")}] ` : "";
    return `${label} ${bar}${pct} ${counts} ${secs}s${note ? ` ${note}` : ""}`.replace(/\s+/g, " ").trim();
  };
  const draw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < everyMs) return;
    lastDraw = now;
    if (tty) stream.write(`\r\x1b[2K${line()}`);
    else stream.write(`${line()}\n`);
  };

  return {
    update(d, t, n) {
      done = d;
      if (t !== undefined) total = t;
      if (n !== undefined) note = n;
      draw(false);
    },
    finish(n) {
      if (n !== undefined) note = n;
      if (total > 0) done = Math.max(done, total);
      draw(true);
      if (tty) stream.write("\n");
    },
  };
}

/** A fixed-width text table (console.table prints quotes and an index column). */
export function formatTable(rows: readonly Record<string, string | number>[]): string {
  const first = rows[0];
  if (!first) return "";
  const cols = Object.keys(first);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? "").length)));
  const fmt = (values: string[]) =>
    values.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join("  ");
  return [
    fmt(cols),
    fmt(widths.map((w) => "-".repeat(w))),
    ...rows.map((r) => fmt(cols.map((c) => String(r[c] ?? "")))),
  ].join("\n");
}
