import { ShapeError } from '../errors.ts';
import type { Matrix } from '../data/matrix.ts';
import { backwardRows, forwardRows } from './kernels.ts';
import type { LinearOps } from './linear-ops.ts';

/**
 * The single-thread {@link LinearOps}: forward z = X W^T + b and backward gW = G^T X, gb = 1^T G over a fixed
 * n x d float32 matrix, in the calling thread (sums in float64). Suits small fine-tuning sets and tests.
 *
 * @example
 * const ops = createLocalOps(matrix(Float32Array.of(1, 2, 3, 4), 2, 2), 1);
 * const z = new Float64Array(2);
 * await ops.forward(Float64Array.of(10, 1), Float64Array.of(0.5), z); // z = [12.5, 34.5]
 */
export function createLocalOps(x: Matrix, outputs: number): LinearOps {
  const { rows: n, cols: d } = x;
  const k = outputs;
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`linear ops need at least 1 output, received ${outputs}`);
  return {
    rows: n,
    cols: d,
    outputs: k,
    async forward(w, b, z) {
      check('forward w', w.length, k * d);
      check('forward b', b.length, k);
      check('forward z', z.length, n * k);
      forwardRows(x.data, d, 0, n, w, b, k, z);
    },
    async backward(g, gw, gb) {
      check('backward g', g.length, n * k);
      check('backward gw', gw.length, k * d);
      check('backward gb', gb.length, k);
      gw.fill(0);
      gb.fill(0);
      backwardRows(x.data, d, 0, n, g, k, gw, gb);
    },
    async close() {},
  };
}

function check(what: string, received: number, expected: number): void {
  if (received !== expected) throw new ShapeError(`${what}: expected ${expected} values, received ${received}`);
}
