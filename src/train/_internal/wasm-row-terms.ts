/**
 * The per-row half of the binary head's one-pass objective (cell-pass.mjs), as two WebAssembly functions of the
 * head kernels' module (wasm-kernels.ts):
 *
 *     terms(z, codes, count, groups, bias, row, rowBytes, lists, g1, g2, list, lengths, scalars, product)
 *
 * For each of a block's `count` rows: its logit z + bias, p = sigmoid, the loss, p - y and p (1 - p); the row's
 * cell scalars (rows, sum p, sum of max(t, 0), sum (p - y), sum p (1 - p); float64) and the cell's product of
 * (1 + e); then the row's address and float32 gradient terms appended to its cell's list for bwd2. The same
 * float64 operations in the same order as the JavaScript loop it replaced, with an exp that is fdlibm's (which
 * is V8's Math.exp, bit for bit), so the objective's value and gradient do not change by one bit; but no
 * JavaScript runs per row, which cost a third of a pass and a JIT warm-up at the start of every process.
 *
 *     exp(x): fdlibm's e_exp.c, the algorithm of V8's Math.exp (ieee754::exp), for every float64 x.
 *
 *     flush(acc, tot, count): tot[j] += acc[j] (float32 into float64), then acc[j] = 0, for j < count: the
 *     block sums of bwd2 into the pass's float64 totals every few blocks. In JavaScript this loop ran unoptimised
 *     for the first passes of every thread.
 *
 * Internal.
 */

import {
  add, and, block, br, brIf, call, eq, end, F64, f32DemoteF64, f32Load, f32Store, f64, f64Add, f64ConvertI32, f64Div, f64Ge, f64Gt,
  f64Load, f64Lt, f64Mul, f64Ne, f64Neg, f64PromoteF32, f64ReinterpretI64, f64Store, f64Sub, geS, geU, get, gtU, I32, i32, i32Load,
  i32Store, i32TruncF64, i32WrapI64, i64, i64ExtendI32, i64ReinterpretF64, i64Shl, i64ShrU, ifThen, loop, ltU, mul, orElse, ret, select,
  set, shrU, sub, tee, vector,
} from '../../wasm-assembler.ts';

/** terms's type: 4 x i32, f64, 9 x i32, no result. */
export const TERMS_TYPE = [0x60, ...vector([[I32], [I32], [I32], [I32], [F64], ...new Array<number[]>(9).fill([I32])]), 0x00];
/** exp's type: f64 -> f64. */
export const EXP_TYPE = [0x60, ...vector([[F64]]), ...vector([[F64]])];

// terms: parameters, then locals
const [Z, CODES, COUNT, GROUPS, BIAS, ROW, ROW_BYTES, LISTS, G1, G2, LIST, LENGTHS, SCALARS, PRODUCT] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13] as const;
const [R, CODE, SLOT, S, Y, AT] = [14, 15, 16, 17, 18, 19] as const;
const [ZZ, E, P, T, GA, GB] = [20, 21, 22, 23, 24, 25] as const;

/** terms's local declarations: 6 i32, 6 f64. */
export const TERMS_LOCALS = vector([
  [6, I32],
  [6, F64],
]);

/**
 * The body of terms; `expIndex` is the module's function index of exp. `byRow` (the function rowTerms): instead
 * of the cells' lists, row r's p - y and p (1 - p) go to g1[r] and g2[r] as float64 (row, rowBytes, lists, list
 * and lengths unused), for the backward half of the two-half pass (cell-halves.mjs).
 */
export function termsBody(expIndex: number, byRow = false): number[] {
  const addTo = (offset: number, value: number[]): number[] => [
    ...get(S), ...get(S), ...f64Load(offset), ...value, ...f64Add, ...f64Store(offset),
  ];
  const byRowStores = (g: number, value: number): number[] => [...get(g), ...get(R), ...i32(8), ...mul, ...add, ...get(value), ...f64Store()];
  const listStores = [
    // slot = code * list + lengths[code]++
    ...get(LENGTHS), ...get(CODE), ...i32(4), ...mul, ...add, ...tee(AT), ...i32Load(), ...set(SLOT),
    ...get(AT), ...get(SLOT), ...i32(1), ...add, ...i32Store(),
    ...get(CODE), ...get(LIST), ...mul, ...get(SLOT), ...add, ...i32(4), ...mul, ...set(SLOT),
    ...get(LISTS), ...get(SLOT), ...add, ...get(ROW), ...get(R), ...get(ROW_BYTES), ...mul, ...add, ...i32Store(),
    ...get(G1), ...get(SLOT), ...add, ...get(GA), ...f32DemoteF64, ...f32Store,
    ...get(G2), ...get(SLOT), ...add, ...get(GB), ...f32DemoteF64, ...f32Store,
  ];
  const clearLengths = [
    // lengths[c] = 0 for the 2 * groups cells
    ...i32(0), ...set(R),
    ...block, ...loop,
    ...get(R), ...get(GROUPS), ...i32(2), ...mul, ...geU, ...brIf(1),
    ...get(LENGTHS), ...get(R), ...i32(4), ...mul, ...add, ...i32(0), ...i32Store(),
    ...get(R), ...i32(1), ...add, ...set(R),
    ...br(0), ...end, ...end,
  ];
  return [
    ...(byRow ? [] : clearLengths),
    ...i32(0), ...set(R),
    ...block, ...loop,
    ...get(R), ...get(COUNT), ...geU, ...brIf(1),
    ...get(CODES), ...get(R), ...i32(4), ...mul, ...add, ...i32Load(), ...set(CODE),
    // z = z32[r] + bias;  e = exp(z >= 0 ? -z : z);  p = z >= 0 ? 1 / (1 + e) : e / (1 + e)
    ...get(Z), ...get(R), ...i32(4), ...mul, ...add, ...f32Load, ...f64PromoteF32, ...get(BIAS), ...f64Add, ...set(ZZ),
    ...get(ZZ), ...f64Neg, ...get(ZZ), ...get(ZZ), ...f64(0), ...f64Ge, ...select, ...call(expIndex), ...set(E),
    ...f64(1), ...f64(1), ...get(E), ...f64Add, ...f64Div,
    ...get(E), ...f64(1), ...get(E), ...f64Add, ...f64Div,
    ...get(ZZ), ...f64(0), ...f64Ge, ...select, ...set(P),
    // y = code >= groups;  t = y ? -z : z;  gA = p - y;  gB = p (1 - p)
    ...get(CODE), ...get(GROUPS), ...geS, ...set(Y),
    ...get(ZZ), ...f64Neg, ...get(ZZ), ...get(Y), ...select, ...set(T),
    ...get(P), ...get(Y), ...f64ConvertI32, ...f64Sub, ...set(GA),
    ...get(P), ...f64(1), ...get(P), ...f64Sub, ...f64Mul, ...set(GB),
    // the cell's scalars and product
    ...get(SCALARS), ...get(CODE), ...i32(40), ...mul, ...add, ...set(S),
    ...addTo(0, f64(1)),
    ...addTo(8, get(P)),
    ...addTo(16, [...get(T), ...f64(0), ...get(T), ...f64(0), ...f64Gt, ...select]),
    ...addTo(24, get(GA)),
    ...addTo(32, get(GB)),
    ...get(PRODUCT), ...get(CODE), ...i32(8), ...mul, ...add, ...tee(AT),
    ...get(AT), ...f64Load(), ...f64(1), ...get(E), ...f64Add, ...f64Mul, ...f64Store(),
    ...(byRow ? [...byRowStores(G1, GA), ...byRowStores(G2, GB)] : listStores),
    ...get(R), ...i32(1), ...add, ...set(R),
    ...br(0), ...end, ...end,
    ...end,
  ];
}

// exp: parameter x, then locals
const XX = 0;
const [HX, XSB, K] = [1, 2, 3] as const;
const [HI, LO, TT, C, YY] = [4, 5, 6, 7, 8] as const;

/** exp's local declarations: 3 i32, 5 f64. */
export const EXP_LOCALS = vector([
  [3, I32],
  [5, F64],
]);

const LN2_HI = 6.93147180369123816490e-01;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700e+00;
const P1 = 1.66666666666666019037e-01;
const P2 = -2.77777777770155933842e-03;
const P3 = 6.61375632143793436117e-05;
const P4 = -1.65339022054652515390e-06;
const P5 = 4.13813679705723846039e-08;
const TWO_M1000 = 9.33263618503218878990e-302;
const O_THRESHOLD = 7.09782712893383973096e+02;
const U_THRESHOLD = -7.45133219101941108420e+02;

/** 2^k as a float64 (k + 1023 in 1..2046): the exponent bits. */
const twoTo = (k: number[]): number[] => [...k, ...i32(1023), ...add, ...i64ExtendI32, ...i64(52), ...i64Shl, ...f64ReinterpretI64];

/** The body of exp (fdlibm e_exp.c, line for line). */
export function expBody(): number[] {
  const pick = (ifNegative: number, ifPositive: number): number[] => [...f64(ifNegative), ...f64(ifPositive), ...get(XSB), ...select];
  return [
    // hx = high word of x; xsb = its sign; hx = |hx|
    ...get(XX), ...i64ReinterpretF64, ...i64(32), ...i64ShrU, ...i32WrapI64, ...tee(HX), ...i32(31), ...shrU, ...set(XSB),
    ...get(HX), ...i32(0x7fffffff), ...and, ...set(HX),
    // |x| >= 709.78: NaN, +-inf, overflow, underflow
    ...get(HX), ...i32(0x40862e42), ...geU, ...ifThen,
    ...get(HX), ...i32(0x7ff00000), ...geU, ...ifThen,
    ...get(XX), ...get(XX), ...f64Ne, ...ifThen, ...get(XX), ...get(XX), ...f64Add, ...ret, ...end,
    ...f64(0), ...get(XX), ...get(XSB), ...select, ...ret,
    ...end,
    ...get(XX), ...f64(O_THRESHOLD), ...f64Gt, ...ifThen, ...f64(Infinity), ...ret, ...end,
    ...get(XX), ...f64(U_THRESHOLD), ...f64Lt, ...ifThen, ...f64(0), ...ret, ...end,
    ...end,
    // argument reduction: x = hi - lo, |x| <= 0.5 ln2, k ln2 the rest
    ...get(HX), ...i32(0x3fd62e42), ...gtU, ...ifThen,
    ...get(HX), ...i32(0x3ff0a2b2), ...ltU, ...ifThen,
    ...get(XX), ...pick(-LN2_HI, LN2_HI), ...f64Sub, ...set(HI),
    ...pick(-LN2_LO, LN2_LO), ...set(LO),
    ...i32(1), ...get(XSB), ...sub, ...get(XSB), ...sub, ...set(K),
    ...orElse,
    ...f64(INV_LN2), ...get(XX), ...f64Mul, ...pick(-0.5, 0.5), ...f64Add, ...i32TruncF64, ...set(K),
    ...get(XX), ...get(K), ...f64ConvertI32, ...f64(LN2_HI), ...f64Mul, ...f64Sub, ...set(HI),
    ...get(K), ...f64ConvertI32, ...f64(LN2_LO), ...f64Mul, ...set(LO),
    ...end,
    ...get(HI), ...get(LO), ...f64Sub, ...set(XX),
    ...orElse,
    // |x| < 2^-28: 1 + x
    ...get(HX), ...i32(0x3e300000), ...ltU, ...ifThen, ...f64(1), ...get(XX), ...f64Add, ...ret, ...end,
    ...i32(0), ...set(K),
    ...end,
    // c = x - t (P1 + t (P2 + t (P3 + t (P4 + t P5)))), t = x^2
    ...get(XX), ...get(XX), ...f64Mul, ...set(TT),
    ...get(XX),
    ...get(TT), ...f64(P1), ...get(TT), ...f64(P2), ...get(TT), ...f64(P3), ...get(TT), ...f64(P4), ...get(TT), ...f64(P5),
    ...f64Mul, ...f64Add, ...f64Mul, ...f64Add, ...f64Mul, ...f64Add, ...f64Mul, ...f64Add, ...f64Mul,
    ...f64Sub, ...set(C),
    // k = 0: 1 - ((x c) / (c - 2) - x)
    ...get(K), ...i32(0), ...eq, ...ifThen,
    ...f64(1), ...get(XX), ...get(C), ...f64Mul, ...get(C), ...f64(2), ...f64Sub, ...f64Div, ...get(XX), ...f64Sub, ...f64Sub, ...ret,
    ...end,
    // y = 1 - ((lo - (x c) / (2 - c)) - hi), scaled by 2^k
    ...f64(1), ...get(LO), ...get(XX), ...get(C), ...f64Mul, ...f64(2), ...get(C), ...f64Sub, ...f64Div, ...f64Sub, ...get(HI), ...f64Sub, ...f64Sub,
    ...set(YY),
    ...get(K), ...i32(-1021), ...geS, ...ifThen,
    ...get(K), ...i32(1024), ...eq, ...ifThen, ...get(YY), ...f64(2), ...f64Mul, ...twoTo(i32(1023)), ...f64Mul, ...ret, ...end,
    ...get(YY), ...twoTo(get(K)), ...f64Mul, ...ret,
    ...end,
    ...get(YY), ...twoTo([...get(K), ...i32(1000), ...add]), ...f64Mul, ...f64(TWO_M1000), ...f64Mul,
    ...end,
  ];
}

/** rowWeights's type: 6 x i32, no result. */
export const ROW_WEIGHTS_TYPE = [0x60, ...vector(new Array<number[]>(6).fill([I32])), 0x00];
/** rowWeights's local declarations: 2 i32. */
export const ROW_WEIGHTS_LOCALS = vector([[2, I32]]);

/**
 * rowWeights(codes, g1, g2, coef, count, out): out[r] = coef[2c] g1[r] + coef[2c + 1] g2[r] for r < count, c =
 * codes[r] (int32), g1, g2 and coef float64, out float32: each row's d objective / d z, from its p - y and
 * p (1 - p) (rowTerms) and its cell's two coefficients, for the backward half of the two-half pass.
 */
export function rowWeightsBody(): number[] {
  const [CODES_, G1_, G2_, COEF, COUNT_, OUT] = [0, 1, 2, 3, 4, 5] as const;
  const [R_, AT_] = [6, 7] as const;
  const at = (base: number, size: number): number[] => [...get(base), ...get(R_), ...i32(size), ...mul, ...add];
  return [
    ...i32(0), ...set(R_),
    ...block, ...loop,
    ...get(R_), ...get(COUNT_), ...geU, ...brIf(1),
    ...get(COEF), ...at(CODES_, 4), ...i32Load(), ...i32(16), ...mul, ...add, ...set(AT_),
    ...at(OUT, 4),
    ...get(AT_), ...f64Load(), ...at(G1_, 8), ...f64Load(), ...f64Mul,
    ...get(AT_), ...f64Load(8), ...at(G2_, 8), ...f64Load(), ...f64Mul,
    ...f64Add, ...f32DemoteF64, ...f32Store,
    ...get(R_), ...i32(1), ...add, ...set(R_),
    ...br(0), ...end, ...end,
    ...end,
  ];
}

/** flush's type: 3 x i32, no result. */
export const FLUSH_TYPE = [0x60, ...vector([[I32], [I32], [I32]]), 0x00];
/** flush's local declarations: 3 i32. */
export const FLUSH_LOCALS = vector([[3, I32]]);
const f32Zero = [0x43, 0, 0, 0, 0];

/** The body of flush. */
export function flushBody(): number[] {
  const [ACC, TOT, N, J, AT_TOT, AT_ACC] = [0, 1, 2, 3, 4, 5] as const;
  return [
    ...i32(0), ...set(J),
    ...block, ...loop,
    ...get(J), ...get(N), ...geU, ...brIf(1),
    ...get(TOT), ...get(J), ...i32(8), ...mul, ...add, ...tee(AT_TOT),
    ...get(AT_TOT), ...f64Load(), ...get(ACC), ...get(J), ...i32(4), ...mul, ...add, ...tee(AT_ACC), ...f32Load, ...f64PromoteF32, ...f64Add, ...f64Store(),
    ...get(AT_ACC), ...f32Zero, ...f32Store,
    ...get(J), ...i32(1), ...add, ...set(J),
    ...br(0), ...end, ...end,
    ...end,
  ];
}

/** chunk's type: 8 x i32, f64, 9 x i32, no result. */
export const CHUNK_TYPE = [0x60, ...vector([...new Array<number[]>(8).fill([I32]), [F64], ...new Array<number[]>(9).fill([I32])]), 0x00];
/** chunk's local declarations: 8 i32. */
export const CHUNK_LOCALS = vector([[8, I32]]);

/** Module function indices chunk calls. */
export interface ChunkCallees {
  readonly fwd: number;
  readonly fwd1: number;
  readonly bwd2: number;
  readonly terms: number;
  readonly flush: number;
}

/**
 * chunk(row, rows, d, oneRow, w, z, codes, groups, bias, idx, g1, g2, list, lengths, scalars, product, acc1, tot):
 * the one-pass objective over `rows` rows (a multiple of 4, at most 4 blocks) from byte address `row`, in blocks of
 * `blockRows` (cell-pass.mjs's CELL_BLOCK_ROWS): the logits (fwd1 when `oneRow`, else fwd), terms, then per cell its row list padded to a multiple
 * of 4 and bwd2 into acc1 / acc2 (= acc1 + 4 x cells x d); then flush into tot. The loop cell-pass.mjs ran in
 * JavaScript, with the same calls in the same order, so one call per 512 rows crosses from JavaScript.
 */
export function chunkBody(callee: ChunkCallees, blockRows: number): number[] {
  const [ROW, ROWS, D, ONE_ROW, W, Z, CODES, GROUPS, BIAS, IDX, G1, G2, LIST, LENGTHS, SCALARS, PRODUCT, ACC1, TOT] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17] as const;
  const [OFF, COUNT, C, M, FIRST, ACC2, CELLS, RB] = [18, 19, 20, 21, 22, 23, 24, 25] as const;
  const f32Zero = [0x43, 0, 0, 0, 0];
  const rowAt = [...get(ROW), ...get(OFF), ...get(RB), ...mul, ...add];
  const listAt = (base: number, at: number[]): number[] => [...get(base), ...get(FIRST), ...add, ...at, ...add];
  return [
    ...get(D), ...i32(4), ...mul, ...set(RB),
    ...get(GROUPS), ...i32(2), ...mul, ...set(CELLS),
    ...get(ACC1), ...get(CELLS), ...get(D), ...mul, ...i32(4), ...mul, ...add, ...set(ACC2),
    ...i32(0), ...set(OFF),
    ...block, ...loop,
    ...get(OFF), ...get(ROWS), ...geU, ...brIf(1),
    // count = min(blockRows, rows - off)
    ...i32(blockRows), ...get(ROWS), ...get(OFF), ...sub, ...get(ROWS), ...get(OFF), ...sub, ...i32(blockRows), ...gtU, ...select, ...set(COUNT),
    ...get(ONE_ROW), ...ifThen,
    ...rowAt, ...get(D), ...get(COUNT), ...get(W), ...get(Z), ...call(callee.fwd1),
    ...orElse,
    ...rowAt, ...get(D), ...get(COUNT), ...get(W), ...get(Z), ...call(callee.fwd),
    ...end,
    ...get(Z), ...get(CODES), ...get(OFF), ...i32(4), ...mul, ...add, ...get(COUNT), ...get(GROUPS), ...get(BIAS), ...rowAt, ...get(RB),
    ...get(IDX), ...get(G1), ...get(G2), ...get(LIST), ...get(LENGTHS), ...get(SCALARS), ...get(PRODUCT), ...call(callee.terms),
    ...i32(0), ...set(C),
    ...block, ...loop,
    ...get(C), ...get(CELLS), ...geU, ...brIf(1),
    ...get(LENGTHS), ...get(C), ...i32(4), ...mul, ...add, ...i32Load(), ...tee(M),
    ...ifThen,
    ...get(C), ...get(LIST), ...mul, ...i32(4), ...mul, ...set(FIRST),
    // pad the list to a multiple of 4 rows: the first row again, with zero weights
    ...block, ...loop,
    ...get(M), ...i32(3), ...and, ...i32(0), ...eq, ...brIf(1),
    ...listAt(IDX, [...get(M), ...i32(4), ...mul]), ...get(IDX), ...get(FIRST), ...add, ...i32Load(), ...i32Store(),
    ...listAt(G1, [...get(M), ...i32(4), ...mul]), ...f32Zero, ...f32Store,
    ...listAt(G2, [...get(M), ...i32(4), ...mul]), ...f32Zero, ...f32Store,
    ...get(M), ...i32(1), ...add, ...set(M),
    ...br(0), ...end, ...end,
    ...get(D), ...get(M), ...get(IDX), ...get(FIRST), ...add, ...get(G1), ...get(FIRST), ...add, ...get(G2), ...get(FIRST), ...add,
    ...get(ACC1), ...get(C), ...get(D), ...mul, ...i32(4), ...mul, ...add,
    ...get(ACC2), ...get(C), ...get(D), ...mul, ...i32(4), ...mul, ...add,
    ...call(callee.bwd2),
    ...end,
    ...get(C), ...i32(1), ...add, ...set(C),
    ...br(0), ...end, ...end,
    ...get(OFF), ...i32(blockRows), ...add, ...set(OFF),
    ...br(0), ...end, ...end,
    ...get(ACC1), ...get(TOT), ...get(CELLS), ...get(D), ...mul, ...i32(2), ...mul, ...call(callee.flush),
    ...end,
  ];
}
