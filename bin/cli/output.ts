/** Columns padded to their widest cell, a header first. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * The lines of `next` (a log's last lines) that `previous` (the last lines before) did not have: the
 * longest end of `previous` that starts `next` is what both saw.
 */
export function newLines(previous: readonly string[], next: readonly string[]): string[] {
  for (let start = 0; start < previous.length; start++) {
    const overlap = previous.length - start;
    if (overlap > next.length) continue;
    if (previous.slice(start).every((line, i) => next[i] === line)) return next.slice(overlap);
  }
  return [...next];
}
