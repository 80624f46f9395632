/**
 * Rows of cells as aligned text lines: the first `textColumns` columns left-aligned, the rest right-aligned.
 *
 * @example
 * textTable([['group', 'rows'], ['Female', '5421']], 1); // ['group   rows', 'Female  5421']
 */
export function textTable(rows: readonly (readonly string[])[], textColumns: number): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, j) => (widths[j] = Math.max(widths[j] ?? 0, c.length)));
  return rows.map((r) =>
    r
      .map((c, j) => (j < textColumns ? c.padEnd(widths[j] ?? 0) : c.padStart(widths[j] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** A metric with 3 decimals, `n/a` for NaN. */
export function fmt3(v: number): string {
  return Number.isFinite(v) ? v.toFixed(3) : 'n/a';
}
