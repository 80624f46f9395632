// L-BFGS's two-loop recursion (Nocedal & Wright 2006, Alg. 7.4) over float64 vectors, with the same operations in
// the same order as the JavaScript loops of src/train/lbfgs.ts, so the direction is the same to the last bit.

/** vdot(a, b, n) = sum_j a[j] b[j] over n float64, j ascending. */
export function vdot(a: usize, b: usize, n: u32): f64 {
  let s: f64 = 0;
  for (let j: u32 = 0; j < n; j++) s = s + load<f64>(a + (<usize>j << 3)) * load<f64>(b + (<usize>j << 3));
  return s;
}

/** vaxpy(alpha, x, y, n): y[j] = y[j] + alpha x[j] over n float64. */
export function vaxpy(alpha: f64, x: usize, y: usize, n: u32): void {
  for (let j: u32 = 0; j < n; j++) {
    const at = y + (<usize>j << 3);
    store<f64>(at, load<f64>(at) + alpha * load<f64>(x + (<usize>j << 3)));
  }
}

/**
 * twoLoop(g, d, s, y, rho, alpha, order, h, n): d = -H g from the h pairs (s_t, y_t), t in list order, stored at
 * s + order[t] 8n and y + order[t] 8n (order: int32); rho[t] = 1 / (s_t . y_t); alpha: h float64 of scratch.
 */
export function twoLoop(g: usize, d: usize, s: usize, y: usize, rho: usize, alpha: usize, order: usize, h: i32, n: u32): void {
  for (let j: u32 = 0; j < n; j++) store<f64>(d + (<usize>j << 3), -load<f64>(g + (<usize>j << 3)));
  // newest to oldest: a = rho_t (s_t . d), alpha_t = a, d += -a y_t
  for (let t = h - 1; t >= 0; t--) {
    const pair = <usize>(load<u32>(order + (<usize>t << 2)) * n * 8);
    const a = load<f64>(rho + (<usize>t << 3)) * vdot(s + pair, d, n);
    store<f64>(alpha + (<usize>t << 3), a);
    vaxpy(-a, y + pair, d, n);
  }
  // d *= (s . y) / (y . y) of the newest pair
  if (h > 0) {
    const pair = <usize>(load<u32>(order + (<usize>(h - 1) << 2)) * n * 8);
    const gamma = vdot(s + pair, y + pair, n) / vdot(y + pair, y + pair, n);
    for (let j: u32 = 0; j < n; j++) store<f64>(d + (<usize>j << 3), load<f64>(d + (<usize>j << 3)) * gamma);
  }
  // oldest to newest: b = rho_t (y_t . d), d += (alpha_t - b) s_t
  for (let t: i32 = 0; t < h; t++) {
    const pair = <usize>(load<u32>(order + (<usize>t << 2)) * n * 8);
    vaxpy(load<f64>(alpha + (<usize>t << 3)) - load<f64>(rho + (<usize>t << 3)) * vdot(y + pair, d, n), s + pair, d, n);
  }
}
