/**
 * The group-balanced draw of finetune-sets.ts as one WebAssembly function of the head kernels' module
 * (wasm-kernels.ts): the same xoshiro128** stream, the same rejection sampling and the same partial Fisher-Yates as
 * rng.ts's `sampleFrom`, cell after cell, so the same rows to the last one. Internal.
 *
 *     balancedDraw(byCell, first, cells, m, state, table, out): for each cell c, m rows drawn without replacement
 *       from byCell[first[c] .. first[c + 1] - 1] (int32 arrays), written to out (c m .. c m + m - 1, unsorted);
 *       state: the generator's 4 words (read, and written back); table: int32 scratch of the largest cell's size
 *
 * The partial Fisher-Yates keeps its moved entries in `table` as index + 1 (0: not moved), where rng.ts keeps them
 * in a Map: the same swaps.
 */

import {
  add, block, br, brIf, end, eqz, get, geU, I32, i32, i32Load, i32Store, loop, ltU, mul, or, remU, rotl, select, set, shl, sub, vector, xor,
} from '../../wasm-assembler.ts';

/** balancedDraw's type: 7 x i32, no result. */
export const BALANCED_DRAW_TYPE = [0x60, ...vector(new Array<number[]>(7).fill([I32])), 0x00];

const [BY_CELL, FIRST, CELLS, M, STATE, TABLE, OUT] = [0, 1, 2, 3, 4, 5, 6] as const;
// locals: cell, its first row, its size, draw i, swap j, remaining n, rejection bound, random r, out index, state a-d, t, entry
const [C, BASE, SIZE, I, J, N, REM, R, O, A, B, CS, D, T, E] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21] as const;

/** balancedDraw's locals: 15 i32. */
export const BALANCED_DRAW_LOCALS = vector([[15, I32]]);

const at4 = (base: number, index: number[]): number[] => [...get(base), ...index, ...i32(4), ...mul, ...add];

/** r = the next xoshiro128** output (rng.ts nextUint32), the state advanced. */
function next(): number[] {
  return [
    ...get(B), ...i32(5), ...mul, ...i32(7), ...rotl, ...i32(9), ...mul, ...set(R),
    ...get(B), ...i32(9), ...shl, ...set(T),
    ...get(CS), ...get(A), ...xor, ...set(CS),
    ...get(D), ...get(B), ...xor, ...set(D),
    ...get(B), ...get(CS), ...xor, ...set(B),
    ...get(A), ...get(D), ...xor, ...set(A),
    ...get(CS), ...get(T), ...xor, ...set(CS),
    ...get(D), ...i32(11), ...rotl, ...set(D),
  ];
}

/** The body of balancedDraw. */
export function balancedDrawBody(): number[] {
  const word = (k: number): number[] => [...get(STATE), ...i32Load(4 * k)];
  const putWord = (k: number, local: number): number[] => [...get(STATE), ...get(local), ...i32Store(4 * k)];
  // entry = table[x]; entry ? entry - 1 : x
  const moved = (x: number): number[] => [
    ...at4(TABLE, get(x)), ...i32Load(), ...set(E),
    ...get(E), ...i32(1), ...sub, ...get(x), ...get(E), ...select,
  ];
  return [
    ...word(0), ...set(A), ...word(1), ...set(B), ...word(2), ...set(CS), ...word(3), ...set(D),
    ...block, ...loop,
    ...get(C), ...get(CELLS), ...geU, ...brIf(1),
    ...at4(FIRST, get(C)), ...i32Load(), ...set(BASE),
    ...at4(FIRST, get(C)), ...i32Load(4), ...get(BASE), ...sub, ...set(SIZE),
    // the table's first SIZE entries: 0 (nothing moved)
    ...i32(0), ...set(I),
    ...block, ...loop,
    ...get(I), ...get(SIZE), ...geU, ...brIf(1),
    ...at4(TABLE, get(I)), ...i32(0), ...i32Store(),
    ...get(I), ...i32(1), ...add, ...set(I),
    ...br(0), ...end, ...end,
    ...i32(0), ...set(I),
    ...block, ...loop,
    ...get(I), ...get(M), ...geU, ...brIf(1),
    // j = i + int(size - i): draws r until r < 2^32 - (2^32 mod n), then r mod n (rng.ts int)
    ...get(SIZE), ...get(I), ...sub, ...set(N),
    ...i32(0), ...get(N), ...sub, ...get(N), ...remU, ...set(REM),
    ...block, ...loop,
    ...next(),
    ...get(REM), ...eqz, ...get(R), ...i32(0), ...get(REM), ...sub, ...ltU, ...or, ...brIf(1),
    ...br(0), ...end, ...end,
    ...get(I), ...get(R), ...get(N), ...remU, ...add, ...set(J),
    // out[o++] = byCell[base + moved(j)]; table[j] = moved(i) + 1
    ...get(OUT), ...get(O), ...i32(4), ...mul, ...add,
    ...get(BY_CELL), ...get(BASE), ...moved(J), ...add, ...i32(4), ...mul, ...add, ...i32Load(),
    ...i32Store(),
    ...get(O), ...i32(1), ...add, ...set(O),
    ...at4(TABLE, get(J)), ...moved(I), ...i32(1), ...add, ...i32Store(),
    ...get(I), ...i32(1), ...add, ...set(I),
    ...br(0), ...end, ...end,
    ...get(C), ...i32(1), ...add, ...set(C),
    ...br(0), ...end, ...end,
    ...putWord(0, A), ...putWord(1, B), ...putWord(2, CS), ...putWord(3, D),
    ...end,
  ];
}
