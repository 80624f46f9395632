/**
 * The two matrix products a linear head needs, over a fixed n x d embedding matrix X.
 * Implementations: a plain single-thread one (small data, tests) and a worker-thread one (large data).
 * Weights are row-major `outputs x d`; logits and their gradients are row-major `n x outputs`.
 */
export interface LinearOps {
  readonly rows: number;
  readonly cols: number;
  readonly outputs: number;
  /** z[i*k + j] = sum_c X[i,c] * w[j*d + c] + b[j]. */
  forward(w: Float64Array, b: Float64Array, z: Float64Array): Promise<void>;
  /** gw[j*d + c] = sum_i X[i,c] * g[i*k + j]; gb[j] = sum_i g[i*k + j]. */
  backward(g: Float64Array, gw: Float64Array, gb: Float64Array): Promise<void>;
  /**
   * Optional, binary heads (outputs 1): the per-(label, group) cell sums of one objective evaluation in one pass
   * over X. `codes[i]` = y_i * groups + group_i (y in {0, 1}); `out` gets, per cell c = 0..2*groups-1,
   * `[A_c (d), B_c (d), rows, sum p, sum loss, sum (p - y), sum p(1 - p)]` with p = sigmoid(x w + b), loss the
   * cross-entropy, A_c = sum_{i in c} (p_i - y_i) x_i and B_c = sum_{i in c} p_i (1 - p_i) x_i.
   */
  binaryCellSums?(w: Float64Array, b: Float64Array, codes: Int32Array, groups: number, out: Float64Array): Promise<void>;
  /**
   * Optional, binary heads: the same pass in two halves, for an X that stays in cache between them. The forward
   * half writes per cell c `[rows, sum p, sum loss, sum (p - y), sum p(1 - p)]` to `out` (2 * groups x 5) and keeps
   * each row's p - y and p(1 - p); {@link binaryCellGradient} then adds the rows.
   */
  binaryCellScalars?(w: Float64Array, b: Float64Array, codes: Int32Array, groups: number, out: Float64Array): Promise<void>;
  /**
   * The backward half, for the rows of the last {@link binaryCellScalars} call:
   * gw = sum_i (coefficients[2 c_i] (p_i - y_i) + coefficients[2 c_i + 1] p_i (1 - p_i)) x_i (d values).
   */
  binaryCellGradient?(coefficients: Float64Array, gw: Float64Array): Promise<void>;
  /** Release worker threads or buffers. */
  close(): Promise<void>;
}
