/**
 * L-BFGS's two-loop recursion (Nocedal & Wright 2006, Alg. 7.4) as WebAssembly functions of the head kernels'
 * module (wasm-kernels.ts), float64, the same operations in the same order as the JavaScript loops of lbfgs.ts, so
 * the direction is the same to the last bit; but no JavaScript loop runs over the parameters, which the first fits
 * of a process ran unoptimised (about 40 dot products and updates of k x d + k values per iteration).
 *
 *     vdot(a, b, n) = sum_j a[j] b[j] (j ascending)
 *     vaxpy(alpha, x, y, n): y[j] = y[j] + alpha x[j]
 *     twoLoop(g, d, s, y, rho, alpha, order, h, n): d = -H g from the h pairs (s_t, y_t), t in list order, stored at
 *       s + order[t] * 8n and y + order[t] * 8n; rho[t] = 1 / (s_t . y_t); alpha: h float64 of scratch.
 *
 * Internal.
 */

import {
  add, block, br, brIf, call, end, F64, f64Add, f64Div, f64Load, f64Mul, f64Neg, f64Store, f64Sub, geU, get, gtU, I32, i32, i32Load,
  ifThen, loop, ltS, mul, set, sub, vector,
} from '../../wasm-assembler.ts';

/** vdot's type: 3 x i32 -> f64. */
export const VDOT_TYPE = [0x60, ...vector([[I32], [I32], [I32]]), ...vector([[F64]])];
/** vaxpy's type: f64, 3 x i32, no result. */
export const VAXPY_TYPE = [0x60, ...vector([[F64], [I32], [I32], [I32]]), 0x00];
/** twoLoop's type: 9 x i32, no result. */
export const TWO_LOOP_TYPE = [0x60, ...vector(new Array<number[]>(9).fill([I32])), 0x00];

/** vdot's locals: 1 i32, 1 f64. */
export const VDOT_LOCALS = vector([
  [1, I32],
  [1, F64],
]);
/** vaxpy's locals: 2 i32. */
export const VAXPY_LOCALS = vector([[2, I32]]);
/** twoLoop's locals: 4 i32, 2 f64. */
export const TWO_LOOP_LOCALS = vector([
  [4, I32],
  [2, F64],
]);

/** The body of vdot. */
export function vdotBody(): number[] {
  const [A, B, N, J, S] = [0, 1, 2, 3, 4] as const;
  return [
    ...block, ...loop,
    ...get(J), ...get(N), ...geU, ...brIf(1),
    ...get(S),
    ...get(A), ...get(J), ...i32(8), ...mul, ...add, ...f64Load(),
    ...get(B), ...get(J), ...i32(8), ...mul, ...add, ...f64Load(),
    ...f64Mul, ...f64Add, ...set(S),
    ...get(J), ...i32(1), ...add, ...set(J),
    ...br(0), ...end, ...end,
    ...get(S),
    ...end,
  ];
}

/** The body of vaxpy. */
export function vaxpyBody(): number[] {
  const [ALPHA, X, Y, N, J, AT] = [0, 1, 2, 3, 4, 5] as const;
  return [
    ...block, ...loop,
    ...get(J), ...get(N), ...geU, ...brIf(1),
    ...get(Y), ...get(J), ...i32(8), ...mul, ...add, ...set(AT),
    ...get(AT),
    ...get(AT), ...f64Load(),
    ...get(ALPHA), ...get(X), ...get(J), ...i32(8), ...mul, ...add, ...f64Load(), ...f64Mul,
    ...f64Add, ...f64Store(),
    ...get(J), ...i32(1), ...add, ...set(J),
    ...br(0), ...end, ...end,
    ...end,
  ];
}

/** The body of twoLoop; `vdot`, `vaxpy`: the module's function indices of the two above. */
export function twoLoopBody(vdot: number, vaxpy: number): number[] {
  const [G, D, S, Y, RHO, ALPHA, ORDER, H, N] = [0, 1, 2, 3, 4, 5, 6, 7, 8] as const;
  const [T, J, SK, YK] = [9, 10, 11, 12] as const;
  const [A, GAMMA] = [13, 14] as const;
  /** SK, YK = the addresses of pair t's s and y. */
  const pair = [
    ...get(ORDER), ...get(T), ...i32(4), ...mul, ...add, ...i32Load(), ...get(N), ...mul, ...i32(8), ...mul, ...set(J),
    ...get(S), ...get(J), ...add, ...set(SK),
    ...get(Y), ...get(J), ...add, ...set(YK),
  ];
  const at8 = (base: number, index: number): number[] => [...get(base), ...get(index), ...i32(8), ...mul, ...add];
  return [
    // d = -g
    ...i32(0), ...set(J),
    ...block, ...loop,
    ...get(J), ...get(N), ...geU, ...brIf(1),
    ...at8(D, J), ...at8(G, J), ...f64Load(), ...f64Neg, ...f64Store(),
    ...get(J), ...i32(1), ...add, ...set(J),
    ...br(0), ...end, ...end,
    // newest to oldest: a = rho_t (s_t . d), alpha_t = a, d += -a y_t
    ...get(H), ...i32(1), ...sub, ...set(T),
    ...block, ...loop,
    ...get(T), ...i32(0), ...ltS, ...brIf(1),
    ...pair,
    ...at8(RHO, T), ...f64Load(), ...get(SK), ...get(D), ...get(N), ...call(vdot), ...f64Mul, ...set(A),
    ...at8(ALPHA, T), ...get(A), ...f64Store(),
    ...get(A), ...f64Neg, ...get(YK), ...get(D), ...get(N), ...call(vaxpy),
    ...get(T), ...i32(1), ...sub, ...set(T),
    ...br(0), ...end, ...end,
    // d *= (s . y) / (y . y) of the newest pair
    ...get(H), ...i32(0), ...gtU, ...ifThen,
      ...get(H), ...i32(1), ...sub, ...set(T),
      ...pair,
      ...get(SK), ...get(YK), ...get(N), ...call(vdot), ...get(YK), ...get(YK), ...get(N), ...call(vdot), ...f64Div, ...set(GAMMA),
      ...i32(0), ...set(J),
      ...block, ...loop,
      ...get(J), ...get(N), ...geU, ...brIf(1),
      ...at8(D, J), ...at8(D, J), ...f64Load(), ...get(GAMMA), ...f64Mul, ...f64Store(),
      ...get(J), ...i32(1), ...add, ...set(J),
      ...br(0), ...end, ...end,
    ...end,
    // oldest to newest: b = rho_t (y_t . d), d += (alpha_t - b) s_t
    ...i32(0), ...set(T),
    ...block, ...loop,
    ...get(T), ...get(H), ...geU, ...brIf(1),
    ...pair,
    ...at8(ALPHA, T), ...f64Load(),
    ...at8(RHO, T), ...f64Load(), ...get(YK), ...get(D), ...get(N), ...call(vdot), ...f64Mul,
    ...f64Sub,
    ...get(SK), ...get(D), ...get(N), ...call(vaxpy),
    ...get(T), ...i32(1), ...add, ...set(T),
    ...br(0), ...end, ...end,
    ...end,
  ];
}
