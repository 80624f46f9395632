import type { Matrix } from '../data/matrix.ts';
import type { LinearOps } from './linear-ops.ts';
import { createLocalOps } from './local-ops.ts';

/** Options of {@link createLinearOps}. */
export interface CreateOpsOptions {
  /** Worker threads to use for large matrices (ignored for now: the single-thread ops are always used). */
  readonly threads?: number;
}

/**
 * The {@link LinearOps} for an n x d embedding matrix and `outputs` logits per row. For now always the
 * single-thread implementation ({@link createLocalOps}); a worker-thread one will be chosen here for large n.
 * Call `close()` when done.
 *
 * @example
 * const ops = await createLinearOps(x, 1);
 * try { await ops.forward(w, b, z); } finally { await ops.close(); }
 */
export async function createLinearOps(x: Matrix, outputs: number, options: CreateOpsOptions = {}): Promise<LinearOps> {
  void options.threads;
  return createLocalOps(x, outputs);
}
