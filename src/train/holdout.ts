import type { Rng } from '../rng.ts';

/**
 * Split rows into a fit part and a hold-out part, stratified by (label, group) cell, as peer.py does for early
 * stopping: each cell of size m >= 2 gives round(fraction * m) rows (at least 1, at most m - 1) to the hold-out;
 * a cell of one row stays in the fit part. Both index lists are ascending.
 *
 * @example
 * // 10 rows all in one cell, fraction 0.2 -> 8 fit rows, 2 hold-out rows
 * stratifiedHoldout(y, group, 2, 1, 0.2, createRng(0)); // { fit: Int32Array(8), holdout: Int32Array(2) }
 */
export function stratifiedHoldout(
  y: Int32Array,
  group: Int32Array,
  classCount: number,
  groupCount: number,
  fraction: number,
  rng: Rng,
): { fit: Int32Array; holdout: Int32Array } {
  const cells: number[][] = Array.from({ length: classCount * groupCount }, () => []);
  for (let i = 0; i < y.length; i++) (cells[(y[i] as number) * groupCount + (group[i] as number)] as number[]).push(i);
  const fit: number[] = [];
  const holdout: number[] = [];
  for (const rows of cells) {
    const perm = rng.shuffle(rows.slice());
    let h = Math.round(fraction * perm.length);
    h = perm.length >= 2 ? Math.min(Math.max(h, 1), perm.length - 1) : 0;
    holdout.push(...perm.slice(0, h));
    fit.push(...perm.slice(h));
  }
  return { fit: Int32Array.from(fit).sort(), holdout: Int32Array.from(holdout).sort() };
}
