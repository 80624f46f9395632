/**
 * The two inner loops of a linear head, over a range of rows of a row-major float32 matrix, shared by the
 * single-thread and the worker-thread {@link LinearOps}. Loops are unrolled over 4 rows and 4 columns, and
 * every sum is accumulated in float64 (JavaScript numbers), so results do not depend on how rows are split.
 *
 * Shapes: x is `n x d` (row i at `x[i*d ...]`), w is `k x d`, b has k values, z and g are `n x k`.
 */

/**
 * Logits of rows `start..end-1`: `z[i*k + j] = b[j] + sum_c x[i*d + c] * w[j*d + c]`.
 *
 * @example
 * // x = [[1, 2], [3, 4]], w = [[10, 1]], b = [0.5]  ->  z = [12.5, 34.5]
 * const z = new Float64Array(2);
 * forwardRows(new Float32Array([1, 2, 3, 4]), 2, 0, 2, new Float64Array([10, 1]), new Float64Array([0.5]), 1, z);
 */
export function forwardRows(
  x: Float32Array,
  d: number,
  start: number,
  end: number,
  w: Float64Array,
  b: Float64Array,
  k: number,
  z: Float64Array,
): void {
  const d4 = d - (d % 4);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o0 = i * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    for (let j = 0; j < k; j++) {
      const wo = j * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let c = 0;
      for (; c < d4; c += 4) {
        const w0 = w[wo + c] as number;
        const w1 = w[wo + c + 1] as number;
        const w2 = w[wo + c + 2] as number;
        const w3 = w[wo + c + 3] as number;
        s0 += (x[o0 + c] as number) * w0 + (x[o0 + c + 1] as number) * w1 + (x[o0 + c + 2] as number) * w2 + (x[o0 + c + 3] as number) * w3;
        s1 += (x[o1 + c] as number) * w0 + (x[o1 + c + 1] as number) * w1 + (x[o1 + c + 2] as number) * w2 + (x[o1 + c + 3] as number) * w3;
        s2 += (x[o2 + c] as number) * w0 + (x[o2 + c + 1] as number) * w1 + (x[o2 + c + 2] as number) * w2 + (x[o2 + c + 3] as number) * w3;
        s3 += (x[o3 + c] as number) * w0 + (x[o3 + c + 1] as number) * w1 + (x[o3 + c + 2] as number) * w2 + (x[o3 + c + 3] as number) * w3;
      }
      for (; c < d; c++) {
        const wc = w[wo + c] as number;
        s0 += (x[o0 + c] as number) * wc;
        s1 += (x[o1 + c] as number) * wc;
        s2 += (x[o2 + c] as number) * wc;
        s3 += (x[o3 + c] as number) * wc;
      }
      const bj = b[j] as number;
      z[i * k + j] = s0 + bj;
      z[(i + 1) * k + j] = s1 + bj;
      z[(i + 2) * k + j] = s2 + bj;
      z[(i + 3) * k + j] = s3 + bj;
    }
  }
  for (; i < end; i++) {
    const o = i * d;
    for (let j = 0; j < k; j++) {
      const wo = j * d;
      let s = 0;
      for (let c = 0; c < d; c++) s += (x[o + c] as number) * (w[wo + c] as number);
      z[i * k + j] = s + (b[j] as number);
    }
  }
}

/**
 * Adds the gradient contribution of rows `start..end-1` to gw and gb (it does not clear them first):
 * `gw[j*d + c] += sum_i x[i*d + c] * g[i*k + j]`, `gb[j] += sum_i g[i*k + j]`.
 *
 * @example
 * // x = [[1, 2], [3, 4]], g = [1, -1]  ->  gw = [1 - 3, 2 - 4] = [-2, -2], gb = [0]
 * const gw = new Float64Array(2), gb = new Float64Array(1);
 * backwardRows(new Float32Array([1, 2, 3, 4]), 2, 0, 2, new Float64Array([1, -1]), 1, gw, gb);
 */
export function backwardRows(
  x: Float32Array,
  d: number,
  start: number,
  end: number,
  g: Float64Array,
  k: number,
  gw: Float64Array,
  gb: Float64Array,
): void {
  const d4 = d - (d % 4);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o0 = i * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    for (let j = 0; j < k; j++) {
      const g0 = g[i * k + j] as number;
      const g1 = g[(i + 1) * k + j] as number;
      const g2 = g[(i + 2) * k + j] as number;
      const g3 = g[(i + 3) * k + j] as number;
      gb[j] = (gb[j] as number) + g0 + g1 + g2 + g3;
      if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0) continue;
      const wo = j * d;
      let c = 0;
      for (; c < d4; c += 4) {
        gw[wo + c] = (gw[wo + c] as number) + (x[o0 + c] as number) * g0 + (x[o1 + c] as number) * g1 + (x[o2 + c] as number) * g2 + (x[o3 + c] as number) * g3;
        gw[wo + c + 1] = (gw[wo + c + 1] as number) + (x[o0 + c + 1] as number) * g0 + (x[o1 + c + 1] as number) * g1 + (x[o2 + c + 1] as number) * g2 + (x[o3 + c + 1] as number) * g3;
        gw[wo + c + 2] = (gw[wo + c + 2] as number) + (x[o0 + c + 2] as number) * g0 + (x[o1 + c + 2] as number) * g1 + (x[o2 + c + 2] as number) * g2 + (x[o3 + c + 2] as number) * g3;
        gw[wo + c + 3] = (gw[wo + c + 3] as number) + (x[o0 + c + 3] as number) * g0 + (x[o1 + c + 3] as number) * g1 + (x[o2 + c + 3] as number) * g2 + (x[o3 + c + 3] as number) * g3;
      }
      for (; c < d; c++) {
        gw[wo + c] = (gw[wo + c] as number) + (x[o0 + c] as number) * g0 + (x[o1 + c] as number) * g1 + (x[o2 + c] as number) * g2 + (x[o3 + c] as number) * g3;
      }
    }
  }
  for (; i < end; i++) {
    const o = i * d;
    for (let j = 0; j < k; j++) {
      const gi = g[i * k + j] as number;
      gb[j] = (gb[j] as number) + gi;
      if (gi === 0) continue;
      const wo = j * d;
      for (let c = 0; c < d; c++) gw[wo + c] = (gw[wo + c] as number) + (x[o + c] as number) * gi;
    }
  }
}
