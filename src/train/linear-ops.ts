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
  /** Release worker threads or buffers. */
  close(): Promise<void>;
}
