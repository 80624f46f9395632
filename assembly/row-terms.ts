// The per-row half of the binary head's one-pass objective (src/train/_internal/cell-pass.mjs and cell-halves.mjs):
// each row's logit, probability, loss terms and gradient terms, summed per (label, group) cell in float64, with
// the same float64 operations in the same order as the JavaScript loop they replaced, so the objective's value and
// gradient did not change by one bit; but no JavaScript runs per row.

import { exp } from './exp';
import { bwd2, fwd, fwd1 } from './linear';

/**
 * Rows per block of the one-pass objective: cell-pass.mjs's CELL_BLOCK_ROWS, which sizes the lists that chunk
 * fills (a test checks that the two agree).
 */
export const BLOCK_ROWS: u32 = 128;

/**
 * For each of `count` rows: z = z32[r] + bias, e = exp(-|z|), p = sigmoid(z), y = (code >= groups), t = y ? -z : z;
 * the row's cell (codes[r], int32) gets, in float64, rows += 1, sum p += p, sum max(t, 0) += max(t, 0),
 * sum (p - y) += p - y, sum p (1 - p) += p (1 - p) (scalars + 40 code), and its product of (1 + e) *= 1 + e
 * (product + 8 code). Then, `byRow`: p - y and p (1 - p) to g1[r], g2[r] (float64); else the row's address
 * (row + r rowBytes) and the two terms as float32 appended to its cell's list: slot = code list + lengths[code]++,
 * lists[slot], g1[slot], g2[slot] (lengths cleared first, for the 2 groups cells).
 */
// @ts-ignore: decorator
@inline function rowsTerms(
  byRow: bool, z: usize, codes: usize, count: u32, groups: i32, bias: f64, row: u32, rowBytes: u32,
  lists: usize, g1: usize, g2: usize, list: i32, lengths: usize, scalars: usize, product: usize,
): void {
  if (!byRow) {
    for (let c: u32 = 0; c < <u32>groups * 2; c++) store<i32>(lengths + (<usize>c << 2), 0);
  }
  for (let r: u32 = 0; r < count; r++) {
    const code = load<i32>(codes + (<usize>r << 2));
    const zr = <f64>load<f32>(z + (<usize>r << 2)) + bias;
    // select computes both values and picks one, without a branch: the signs of z follow no pattern, and an
    // if / else here (what a ?: becomes) costs a mispredicted branch on many rows
    const e = exp(select<f64>(-zr, zr, zr >= 0));
    const p = select<f64>(1 / (1 + e), e / (1 + e), zr >= 0);
    const positive = code >= groups;
    const y = select<i32>(1, 0, positive);
    const t = select<f64>(-zr, zr, positive);
    const gA = p - <f64>y;
    const gB = p * (1 - p);
    const s = scalars + <usize>(code * 40);
    store<f64>(s, load<f64>(s) + 1);
    store<f64>(s, load<f64>(s, 8) + p, 8);
    store<f64>(s, load<f64>(s, 16) + select<f64>(t, 0, t > 0), 16);
    store<f64>(s, load<f64>(s, 24) + gA, 24);
    store<f64>(s, load<f64>(s, 32) + gB, 32);
    const at = product + <usize>(code * 8);
    store<f64>(at, load<f64>(at) * (1 + e));
    if (byRow) {
      store<f64>(g1 + (<usize>r << 3), gA);
      store<f64>(g2 + (<usize>r << 3), gB);
    } else {
      const length = lengths + <usize>(code * 4);
      const slot = load<i32>(length);
      store<i32>(length, slot + 1);
      const slotAt = <usize>((code * list + slot) * 4);
      store<u32>(lists + slotAt, row + r * rowBytes);
      store<f32>(g1 + slotAt, <f32>gA);
      store<f32>(g2 + slotAt, <f32>gB);
    }
  }
}

/** terms(z, codes, count, groups, bias, row, rowBytes, lists, g1, g2, list, lengths, scalars, product): rowsTerms into the cells' lists, for bwd2. */
export function terms(
  z: usize, codes: usize, count: u32, groups: i32, bias: f64, row: u32, rowBytes: u32,
  lists: usize, g1: usize, g2: usize, list: i32, lengths: usize, scalars: usize, product: usize,
): void {
  rowsTerms(false, z, codes, count, groups, bias, row, rowBytes, lists, g1, g2, list, lengths, scalars, product);
}

/**
 * rowTerms (the same arguments as terms): each row's p - y and p (1 - p) to g1[r], g2[r] as float64 instead of the
 * cells' lists (row, rowBytes, lists, list and lengths unused): the forward half of the two-half pass.
 */
export function rowTerms(
  z: usize, codes: usize, count: u32, groups: i32, bias: f64, row: u32, rowBytes: u32,
  lists: usize, g1: usize, g2: usize, list: i32, lengths: usize, scalars: usize, product: usize,
): void {
  rowsTerms(true, z, codes, count, groups, bias, row, rowBytes, lists, g1, g2, list, lengths, scalars, product);
}

/**
 * rowWeights(codes, g1, g2, coef, count, out): out[r] = coef[2c] g1[r] + coef[2c + 1] g2[r] for r < count, c =
 * codes[r] (int32; g1, g2, coef float64; out float32): each row's d objective / d z from its p - y and p (1 - p)
 * (rowTerms) and its cell's two coefficients, for the backward half of the two-half pass.
 */
export function rowWeights(codes: usize, g1: usize, g2: usize, coef: usize, count: u32, out: usize): void {
  for (let r: u32 = 0; r < count; r++) {
    const at = coef + <usize>(load<i32>(codes + (<usize>r << 2)) * 16);
    const v = load<f64>(at) * load<f64>(g1 + (<usize>r << 3)) + load<f64>(at, 8) * load<f64>(g2 + (<usize>r << 3));
    store<f32>(out + (<usize>r << 2), <f32>v);
  }
}

/**
 * flush(acc, tot, count): tot[j] += acc[j] (float32 into float64), then acc[j] = 0, for j < count: the block sums
 * of bwd2 into the pass's float64 totals every few blocks.
 */
export function flush(acc: usize, tot: usize, count: u32): void {
  for (let j: u32 = 0; j < count; j++) {
    const t = tot + (<usize>j << 3);
    const a = acc + (<usize>j << 2);
    store<f64>(t, load<f64>(t) + <f64>load<f32>(a));
    store<f32>(a, 0);
  }
}

/**
 * chunk(row, rows, d, oneRow, w, z, codes, groups, bias, idx, g1, g2, list, lengths, scalars, product, acc1, tot):
 * the one-pass objective over `rows` rows (a multiple of 4, at most a few blocks) from byte address `row`, in blocks
 * of BLOCK_ROWS: the block's logits (fwd1 when `oneRow`, else fwd), terms, then for each cell its row list padded
 * to a multiple of 4 (the cell's first row again, with zero weights) and bwd2 into acc1 and acc2 = acc1 + 4 cells d
 * (cells = 2 groups); then flush into tot. One call from JavaScript per few blocks.
 */
export function chunk(
  row: u32, rows: u32, d: u32, oneRow: i32, w: usize, z: usize, codes: usize, groups: i32, bias: f64,
  idx: usize, g1: usize, g2: usize, list: i32, lengths: usize, scalars: usize, product: usize, acc1: usize, tot: usize,
): void {
  const rowBytes = d * 4;
  const cells = <u32>groups * 2;
  const acc2 = acc1 + <usize>(cells * d * 4);
  for (let off: u32 = 0; off < rows; off += BLOCK_ROWS) {
    const count = rows - off > BLOCK_ROWS ? BLOCK_ROWS : rows - off;
    const at = row + off * rowBytes;
    if (oneRow) fwd1(at, d, count, w, z);
    else fwd(at, d, count, w, z);
    terms(z, codes + (<usize>off << 2), count, groups, bias, at, rowBytes, idx, g1, g2, list, lengths, scalars, product);
    for (let c: u32 = 0; c < cells; c++) {
      let m = load<u32>(lengths + (<usize>c << 2));
      if (m == 0) continue;
      const first = <usize>(c * <u32>list * 4);
      for (; m & 3; m++) {
        const slot = first + (<usize>m << 2);
        store<u32>(idx + slot, load<u32>(idx + first));
        store<f32>(g1 + slot, 0);
        store<f32>(g2 + slot, 0);
      }
      const cellAcc = <usize>(c * d * 4);
      bwd2(d, m, idx + first, g1 + first, g2 + first, acc1 + cellAcc, acc2 + cellAcc);
    }
  }
  flush(acc1, tot, cells * d * 2);
}
