/**
 * A counting sort of rows by (label, group) cell, as two WebAssembly functions of the head kernels' module
 * (wasm-kernels.ts), for the group-balanced samples of cell-order.ts, and each row's cell for a fit:
 *
 *     cellCounts(y, group, n, groups, cells, size): size[y_i * groups + group_i] += 1 for every row i
 *     cellPlace(y, group, n, groups, cells, next, out): out[next[c]++] = i for every row i (c its cell), ascending
 *     rowCells(y, group, n, classes, groups, codes, size) -> i32: codes[i] = c = y_i * groups + group_i and
 *       size[c] += 1 for every row i, or the first row whose label is not in 0..classes-1 or whose group is not in
 *       0..groups-1 (its index; -1 when every row is in range)
 *     binaryTable(z, codes, n, table): table[2 codes[i] + (z_i >= 0)] += 1 for every row i (float64 logits z): the
 *       rows of a binary head counted by (label, group, predicted class)
 *
 * (int32 arrays at byte addresses). A row whose cell is not in 0..cells-1 is skipped (the caller finds it from the
 * counts). Internal.
 */

import { add, block, br, brIf, end, f64, f64Ge, f64Load, geU, get, I32, i32, i32Load, i32Store, ifThen, loop, ltU, mul, ret, set, tee, vector } from '../../wasm-assembler.ts';

/** The functions' types: 6 (cellCounts) or 7 (cellPlace) x i32, no result. */
export const CELL_COUNTS_TYPE = [0x60, ...vector(new Array<number[]>(6).fill([I32])), 0x00];
export const CELL_PLACE_TYPE = [0x60, ...vector(new Array<number[]>(7).fill([I32])), 0x00];
/** Locals of both: 3 i32. */
export const CELL_ORDER_LOCALS = vector([[3, I32]]);
/** rowCells' type: 7 x i32 -> i32; its locals: 3 i32. */
export const ROW_CELLS_TYPE = [0x60, ...vector(new Array<number[]>(7).fill([I32])), ...vector([[I32]])];
export const ROW_CELLS_LOCALS = vector([[3, I32]]);
/** binaryTable's type: 4 x i32, no result; its locals: 2 i32. */
export const BINARY_TABLE_TYPE = [0x60, ...vector(new Array<number[]>(4).fill([I32])), 0x00];
export const BINARY_TABLE_LOCALS = vector([[2, I32]]);

const [Y, GROUP, N, GROUPS, CELLS, TABLE, OUT] = [0, 1, 2, 3, 4, 5, 6] as const;

/**
 * Loop i over 0..n-1 around `body`, with `at` = the address of row i's cell in TABLE; rows whose cell is outside
 * 0..cells-1 (unsigned) are skipped.
 */
function overRows(at: number, i: number, body: number[]): number[] {
  const row4 = (base: number): number[] => [...get(base), ...get(i), ...i32(4), ...mul, ...add];
  return [
    ...block, ...loop,
    ...get(i), ...get(N), ...geU, ...brIf(1),
    ...row4(Y), ...i32Load(), ...get(GROUPS), ...mul, ...row4(GROUP), ...i32Load(), ...add, ...tee(at),
    ...get(CELLS), ...ltU, ...ifThen,
    ...get(TABLE), ...get(at), ...i32(4), ...mul, ...add, ...set(at),
    ...body,
    ...end,
    ...get(i), ...i32(1), ...add, ...set(i),
    ...br(0), ...end, ...end,
  ];
}

/** The body of cellCounts (locals: i, at, spare). */
export function cellCountsBody(): number[] {
  const [I, AT] = [6, 7] as const;
  return [...overRows(AT, I, [...get(AT), ...get(AT), ...i32Load(), ...i32(1), ...add, ...i32Store()]), ...end];
}

/** The body of cellPlace (locals: i, at, slot). */
export function cellPlaceBody(): number[] {
  const [I, AT, SLOT] = [7, 8, 9] as const;
  return [
    ...overRows(AT, I, [
      // slot = next[c]++;  out[slot] = i
      ...get(AT), ...get(AT), ...i32Load(), ...tee(SLOT), ...i32(1), ...add, ...i32Store(),
      ...get(OUT), ...get(SLOT), ...i32(4), ...mul, ...add, ...get(I), ...i32Store(),
    ]),
    ...end,
  ];
}

/** The body of rowCells (parameters y, group, n, classes, groups, codes, size; locals i, c, at). */
export function rowCellsBody(): number[] {
  const [Yp, Gp, Np, CLASSES, GROUPSp, CODES, SIZE, I, C, AT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const row4 = (base: number): number[] => [...get(base), ...get(I), ...i32(4), ...mul, ...add];
  // a label or group outside its range (negative ones too: the comparisons are unsigned) returns the row
  const outside = (value: number, bound: number): number[] => [...get(value), ...get(bound), ...geU, ...ifThen, ...get(I), ...ret, ...end];
  return [
    ...block, ...loop,
    ...get(I), ...get(Np), ...geU, ...brIf(1),
    ...row4(Yp), ...i32Load(), ...set(C), ...outside(C, CLASSES),
    ...row4(Gp), ...i32Load(), ...set(AT), ...outside(AT, GROUPSp),
    // c = y * groups + group; codes[i] = c; size[c] += 1
    ...get(C), ...get(GROUPSp), ...mul, ...get(AT), ...add, ...set(C),
    ...row4(CODES), ...get(C), ...i32Store(),
    ...get(SIZE), ...get(C), ...i32(4), ...mul, ...add, ...tee(AT), ...get(AT), ...i32Load(), ...i32(1), ...add, ...i32Store(),
    ...get(I), ...i32(1), ...add, ...set(I),
    ...br(0), ...end, ...end,
    ...i32(-1),
    ...end,
  ];
}

/** The body of binaryTable (parameters z, codes, n, table; locals i, at). */
export function binaryTableBody(): number[] {
  const [Z, CODES, Np, TABLE, I, AT] = [0, 1, 2, 3, 4, 5] as const;
  return [
    ...block, ...loop,
    ...get(I), ...get(Np), ...geU, ...brIf(1),
    // at = table + 4 (2 codes[i] + (z[i] >= 0)); table[at] += 1 (a NaN logit predicts 0, as z >= 0 does in JavaScript)
    ...get(TABLE),
    ...get(CODES), ...get(I), ...i32(4), ...mul, ...add, ...i32Load(), ...i32(2), ...mul,
    ...get(Z), ...get(I), ...i32(8), ...mul, ...add, ...f64Load(), ...f64(0), ...f64Ge,
    ...add, ...i32(4), ...mul, ...add, ...tee(AT),
    ...get(AT), ...i32Load(), ...i32(1), ...add, ...i32Store(),
    ...get(I), ...i32(1), ...add, ...set(I),
    ...br(0), ...end, ...end,
    ...end,
  ];
}
