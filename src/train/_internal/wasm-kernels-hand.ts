// Temporary, for one interleaved A/B in bench/head.ts: the hand-assembled module the AssemblyScript kernels
// (assembly/) replace, with its old import name env.mem. Deleted after the A/B.
import {
  add, block, br, brIf, end, f32Add, f32Load, f32Store, f32x4Add, f32x4Lane, f32x4Mul, f32x4Splat, geU, get, i32, I32, loop, mul,
  name, section, set, simd, uleb, V128, v128Zero, vector,
} from '../../wasm-assembler.ts';
import {
  CHUNK_LOCALS, CHUNK_TYPE, chunkBody, EXP_LOCALS, EXP_TYPE, expBody, FLUSH_LOCALS, FLUSH_TYPE, flushBody, ROW_WEIGHTS_LOCALS, ROW_WEIGHTS_TYPE,
  rowWeightsBody, TERMS_LOCALS, TERMS_TYPE, termsBody,
} from './wasm-row-terms.ts';
import { TWO_LOOP_LOCALS, TWO_LOOP_TYPE, twoLoopBody, VAXPY_LOCALS, VAXPY_TYPE, vaxpyBody, VDOT_LOCALS, VDOT_TYPE, vdotBody } from './wasm-two-loop.ts';
import {
  BINARY_TABLE_LOCALS, BINARY_TABLE_TYPE, binaryTableBody, CELL_COUNTS_TYPE, CELL_ORDER_LOCALS, CELL_PLACE_TYPE, cellCountsBody, cellPlaceBody, ROW_CELLS_LOCALS,
  ROW_CELLS_TYPE, rowCellsBody,
} from './wasm-cell-order.ts';
import { BALANCED_DRAW_LOCALS, BALANCED_DRAW_TYPE, balancedDrawBody } from './wasm-sample.ts';
import { CELL_BLOCK_ROWS } from './cell-pass.mjs';

const v128Load = simd(0x00, 4, 0);
const v128Store = simd(0x0b, 4, 0);

// Parameters 0..4: x, d, rows, w|g, out|acc. Locals: 5 rowBytes, 6 r, 7 c, 8 p1, 9 p2, 10 p3, 11.. v128.
const X = 0, D = 1, ROWS = 2, V = 3, OUT = 4, RB = 5, R = 6, C = 7, P1 = 8, P2 = 9, P3 = 10;
const rowPointers = [
  ...get(D), ...i32(4), ...mul, ...set(RB),
  ...i32(0), ...set(R),
];
const nextRows = [
  ...get(X), ...get(RB), ...i32(4), ...mul, ...add, ...set(X),
  ...get(R), ...i32(4), ...add, ...set(R),
];
const pointers = [
  ...get(X), ...get(RB), ...add, ...set(P1),
  ...get(P1), ...get(RB), ...add, ...set(P2),
  ...get(P2), ...get(RB), ...add, ...set(P3),
  ...i32(0), ...set(C),
];
const load = (p: number): number[] => [...get(p), ...get(C), ...add, ...v128Load];

function fwdBody(): number[] {
  // Two sets of 4 row sums (A: bytes c..c+15, B: c+16..c+31 of each 32-byte step), so that 8 independent
  // addition chains hide the latency of f32x4.add; A += B before the horizontal sums.
  const A = [11, 12, 13, 14];
  const WV = 15;
  const B = [16, 17, 18, 19];
  const accumulate = (a: number, p: number, offset = 0): number[] => [
    ...get(a), ...get(p), ...get(C), ...add, ...simd(0x00, 4, offset), ...get(WV), ...f32x4Mul, ...f32x4Add, ...set(a),
  ];
  const step = (acc: number[], offset: number): number[] => [
    ...get(V), ...get(C), ...add, ...simd(0x00, 4, offset), ...set(WV),
    ...accumulate(acc[0]!, X, offset), ...accumulate(acc[1]!, P1, offset), ...accumulate(acc[2]!, P2, offset), ...accumulate(acc[3]!, P3, offset),
  ];
  const hsum = (a: number): number[] => [
    ...get(a), ...f32x4Lane(0), ...get(a), ...f32x4Lane(1), ...f32Add,
    ...get(a), ...f32x4Lane(2), ...get(a), ...f32x4Lane(3), ...f32Add, ...f32Add,
  ];
  const store = (a: number, row: number): number[] => [
    ...get(OUT), ...get(R), ...i32(4), ...mul, ...add, ...i32(row * 4), ...add, ...hsum(a), ...f32Store,
  ];
  return [
    ...rowPointers,
    ...block, ...loop,
    ...get(R), ...get(ROWS), ...geU, ...brIf(1),
    ...pointers,
    ...[...A, ...B].flatMap((a) => [...v128Zero, ...set(a)]),
    // 32 bytes per step while at least 32 are left
    ...block, ...loop,
    ...get(C), ...i32(16), ...add, ...get(RB), ...geU, ...brIf(1),
    ...step(A, 0),
    ...step(B, 16),
    ...get(C), ...i32(32), ...add, ...set(C),
    ...br(0), ...end, ...end,
    // d % 8 == 4: one last 16-byte step
    ...block,
    ...get(C), ...get(RB), ...geU, ...brIf(0),
    ...step(A, 0),
    ...end,
    ...[0, 1, 2, 3].flatMap((j) => [...get(A[j]!), ...get(B[j]!), ...f32x4Add, ...set(A[j]!)]),
    ...store(A[0]!, 0), ...store(A[1]!, 1), ...store(A[2]!, 2), ...store(A[3]!, 3),
    ...nextRows,
    ...br(0), ...end, ...end,
    ...end,
  ];
}

/**
 * fwd1(x, d, rows, w, out): out[r] = sum_c x[r*d + c] * w[c], one row after the other (a single sequential stream
 * through X, which the hardware prefetcher follows; 4 row-interleaved streams of 2 KiB each it does not), four
 * sums over 64-byte steps.
 */
function fwd1Body(): number[] {
  const [RBq, Rq, Cq] = [5, 6, 7] as const;
  const A = [11, 12, 13, 14];
  const mac = (a: number, offset: number): number[] => [
    ...get(a), ...get(X), ...get(Cq), ...add, ...simd(0x00, 4, offset), ...get(V), ...get(Cq), ...add, ...simd(0x00, 4, offset), ...f32x4Mul, ...f32x4Add, ...set(a),
  ];
  return [
    ...get(D), ...i32(4), ...mul, ...set(RBq),
    ...i32(0), ...set(Rq),
    ...block, ...loop,
    ...get(Rq), ...get(ROWS), ...geU, ...brIf(1),
    ...A.flatMap((a) => [...v128Zero, ...set(a)]),
    ...i32(0), ...set(Cq),
    ...block, ...loop,
    ...get(Cq), ...i32(48), ...add, ...get(RBq), ...geU, ...brIf(1),
    ...mac(A[0]!, 0), ...mac(A[1]!, 16), ...mac(A[2]!, 32), ...mac(A[3]!, 48),
    ...get(Cq), ...i32(64), ...add, ...set(Cq),
    ...br(0), ...end, ...end,
    ...block, ...loop,
    ...get(Cq), ...get(RBq), ...geU, ...brIf(1),
    ...mac(A[0]!, 0),
    ...get(Cq), ...i32(16), ...add, ...set(Cq),
    ...br(0), ...end, ...end,
    ...get(A[0]!), ...get(A[1]!), ...f32x4Add, ...get(A[2]!), ...get(A[3]!), ...f32x4Add, ...f32x4Add, ...set(A[0]!),
    ...get(OUT), ...get(Rq), ...i32(4), ...mul, ...add,
    ...get(A[0]!), ...f32x4Lane(0), ...get(A[0]!), ...f32x4Lane(1), ...f32Add,
    ...get(A[0]!), ...f32x4Lane(2), ...get(A[0]!), ...f32x4Lane(3), ...f32Add, ...f32Add,
    ...f32Store,
    ...get(X), ...get(RBq), ...add, ...set(X),
    ...get(Rq), ...i32(1), ...add, ...set(Rq),
    ...br(0), ...end, ...end,
    ...end,
  ];
}

/**
 * bwd1(x, d, rows, g, acc): acc[c] += sum_r x[r*d + c] * g[r], one row after the other (a single sequential stream
 * through X, as fwd1), 64-byte steps.
 */
function bwd1Body(): number[] {
  const [RBq, Rq, Cq] = [5, 6, 7] as const;
  const GV = 11;
  const axpy = (offset: number): number[] => [
    ...get(OUT), ...get(Cq), ...add,
    ...get(OUT), ...get(Cq), ...add, ...simd(0x00, 4, offset),
    ...get(X), ...get(Cq), ...add, ...simd(0x00, 4, offset), ...get(GV), ...f32x4Mul, ...f32x4Add,
    ...simd(0x0b, 4, offset),
  ];
  return [
    ...get(D), ...i32(4), ...mul, ...set(RBq),
    ...i32(0), ...set(Rq),
    ...block, ...loop,
    ...get(Rq), ...get(ROWS), ...geU, ...brIf(1),
    ...get(V), ...get(Rq), ...i32(4), ...mul, ...add, ...f32Load, ...f32x4Splat, ...set(GV),
    ...i32(0), ...set(Cq),
    ...block, ...loop,
    ...get(Cq), ...i32(48), ...add, ...get(RBq), ...geU, ...brIf(1),
    ...axpy(0), ...axpy(16), ...axpy(32), ...axpy(48),
    ...get(Cq), ...i32(64), ...add, ...set(Cq),
    ...br(0), ...end, ...end,
    ...block, ...loop,
    ...get(Cq), ...get(RBq), ...geU, ...brIf(1),
    ...axpy(0),
    ...get(Cq), ...i32(16), ...add, ...set(Cq),
    ...br(0), ...end, ...end,
    ...get(X), ...get(RBq), ...add, ...set(X),
    ...get(Rq), ...i32(1), ...add, ...set(Rq),
    ...br(0), ...end, ...end,
    ...end,
  ];
}

function bwdBody(): number[] {
  const G = [11, 12, 13, 14];
  const splat = (gl: number, row: number): number[] => [
    ...get(V), ...get(R), ...i32(4), ...mul, ...add, ...i32(row * 4), ...add, ...f32Load, ...f32x4Splat, ...set(gl),
  ];
  const term = (p: number, gl: number): number[] => [...load(p), ...get(gl), ...f32x4Mul];
  return [
    ...rowPointers,
    ...block, ...loop,
    ...get(R), ...get(ROWS), ...geU, ...brIf(1),
    ...pointers,
    ...splat(G[0]!, 0), ...splat(G[1]!, 1), ...splat(G[2]!, 2), ...splat(G[3]!, 3),
    ...block, ...loop,
    ...get(C), ...get(RB), ...geU, ...brIf(1),
    // address for the store, then acc + (x0 g0 + x1 g1) + (x2 g2 + x3 g3)
    ...get(OUT), ...get(C), ...add,
    ...get(OUT), ...get(C), ...add, ...v128Load,
    ...term(X, G[0]!), ...term(P1, G[1]!), ...f32x4Add,
    ...term(P2, G[2]!), ...term(P3, G[3]!), ...f32x4Add,
    ...f32x4Add, ...f32x4Add,
    ...v128Store,
    ...get(C), ...i32(16), ...add, ...set(C),
    ...br(0), ...end, ...end,
    ...nextRows,
    ...br(0), ...end, ...end,
    ...end,
  ];
}

/**
 * bwd2(d, count, idx, g1, g2, acc1, acc2): for the `count` rows whose byte addresses are idx[0..count-1] (i32),
 * acc1[c] += sum_r x_r[c] * g1[r] and acc2[c] += sum_r x_r[c] * g2[r] (float32), 4 rows at a time: the backward
 * half of the one-pass binary objective, where each row goes to the accumulators of its (label, group) cell.
 */
function bwd2Body(): number[] {
  const [Dp, COUNT, IDX, G1, G2, ACC1, ACC2, RB2, R2, C2] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] as const;
  const P = [10, 11, 12, 13];
  const A = [14, 15, 16, 17];
  const B = [18, 19, 20, 21];
  const XV = [22, 23, 24, 25];
  const i32Load = (offset: number): number[] => [0x28, 2, ...uleb(offset)];
  const f32LoadAt = (offset: number): number[] => [0x2a, 2, ...uleb(offset)];
  const at = (base: number): number[] => [...get(base), ...get(R2), ...i32(4), ...mul, ...add];
  const update = (acc: number, g: number[]): number[] => [
    ...get(acc), ...get(C2), ...add,
    ...get(acc), ...get(C2), ...add, ...v128Load,
    ...get(XV[0]!), ...get(g[0]!), ...f32x4Mul, ...get(XV[1]!), ...get(g[1]!), ...f32x4Mul, ...f32x4Add,
    ...get(XV[2]!), ...get(g[2]!), ...f32x4Mul, ...get(XV[3]!), ...get(g[3]!), ...f32x4Mul, ...f32x4Add,
    ...f32x4Add, ...f32x4Add,
    ...v128Store,
  ];
  return [
    ...get(Dp), ...i32(4), ...mul, ...set(RB2),
    ...i32(0), ...set(R2),
    ...block, ...loop,
    ...get(R2), ...get(COUNT), ...geU, ...brIf(1),
    ...[0, 1, 2, 3].flatMap((j) => [...at(IDX), ...i32Load(4 * j), ...set(P[j]!)]),
    ...[0, 1, 2, 3].flatMap((j) => [...at(G1), ...f32LoadAt(4 * j), ...f32x4Splat, ...set(A[j]!)]),
    ...[0, 1, 2, 3].flatMap((j) => [...at(G2), ...f32LoadAt(4 * j), ...f32x4Splat, ...set(B[j]!)]),
    ...i32(0), ...set(C2),
    ...block, ...loop,
    ...get(C2), ...get(RB2), ...geU, ...brIf(1),
    ...[0, 1, 2, 3].flatMap((j) => [...get(P[j]!), ...get(C2), ...add, ...v128Load, ...set(XV[j]!)]),
    ...update(ACC1, A),
    ...update(ACC2, B),
    ...get(C2), ...i32(16), ...add, ...set(C2),
    ...br(0), ...end, ...end,
    ...get(R2), ...i32(4), ...add, ...set(R2),
    ...br(0), ...end, ...end,
    ...end,
  ];
}

/** The module's bytes (about 5,600). */
export function wasmKernelBytes(maximumPages: number): Uint8Array {
  const type = [0x60, ...vector([[I32], [I32], [I32], [I32], [I32]].map((t) => t)), 0x00];
  const type7 = [0x60, ...vector([[I32], [I32], [I32], [I32], [I32], [I32], [I32]]), 0x00];
  const locals = vector([
    [6, I32],
    [9, V128],
  ]);
  const locals7 = vector([
    [7, I32],
    [12, V128],
  ]);
  const code = (body: number[], declared = locals): number[] => {
    const fn = [...declared, ...body];
    return [...uleb(fn.length), ...fn];
  };
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector([type, type7, TERMS_TYPE, EXP_TYPE, FLUSH_TYPE, CHUNK_TYPE, VDOT_TYPE, VAXPY_TYPE, TWO_LOOP_TYPE, CELL_COUNTS_TYPE, CELL_PLACE_TYPE, ROW_WEIGHTS_TYPE, ROW_CELLS_TYPE, BINARY_TABLE_TYPE, BALANCED_DRAW_TYPE])),
    ...section(2, vector([[...name('env'), ...name('mem'), 0x02, 0x03, ...uleb(1), ...uleb(maximumPages)]])),
    ...section(3, vector([[0], [0], [1], [0], [0], [2], [3], [4], [5], [6], [7], [8], [9], [10], [2], [11], [12], [13], [14]])),
    ...section(7, vector([
      [...name('fwd'), 0x00, 0],
      [...name('bwd'), 0x00, 1],
      [...name('bwd2'), 0x00, 2],
      [...name('fwd1'), 0x00, 3],
      [...name('bwd1'), 0x00, 4],
      [...name('terms'), 0x00, 5],
      [...name('exp'), 0x00, 6],
      [...name('flush'), 0x00, 7],
      [...name('chunk'), 0x00, 8],
      [...name('vdot'), 0x00, 9],
      [...name('vaxpy'), 0x00, 10],
      [...name('twoLoop'), 0x00, 11],
      [...name('cellCounts'), 0x00, 12],
      [...name('cellPlace'), 0x00, 13],
      [...name('rowTerms'), 0x00, 14],
      [...name('rowWeights'), 0x00, 15],
      [...name('rowCells'), 0x00, 16],
      [...name('binaryTable'), 0x00, 17],
      [...name('balancedDraw'), 0x00, 18],
    ])),
    ...section(10, vector([code(fwdBody()), code(bwdBody()), code(bwd2Body(), locals7), code(fwd1Body()), code(bwd1Body()),
      code(termsBody(6), TERMS_LOCALS), code(expBody(), EXP_LOCALS), code(flushBody(), FLUSH_LOCALS),
      code(chunkBody({ fwd: 0, bwd2: 2, fwd1: 3, terms: 5, flush: 7 }, CELL_BLOCK_ROWS), CHUNK_LOCALS),
      code(vdotBody(), VDOT_LOCALS), code(vaxpyBody(), VAXPY_LOCALS), code(twoLoopBody(9, 10), TWO_LOOP_LOCALS),
      code(cellCountsBody(), CELL_ORDER_LOCALS), code(cellPlaceBody(), CELL_ORDER_LOCALS),
      code(termsBody(6, true), TERMS_LOCALS), code(rowWeightsBody(), ROW_WEIGHTS_LOCALS), code(rowCellsBody(), ROW_CELLS_LOCALS), code(binaryTableBody(), BINARY_TABLE_LOCALS), code(balancedDrawBody(), BALANCED_DRAW_LOCALS)])),
  ];
  return new Uint8Array(bytes);
}

