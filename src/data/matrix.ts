import { ShapeError } from '../errors.ts';

/** A dense row-major float32 matrix: row i, column j is `data[i * cols + j]`. */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

/** Wrap `data` as a rows x cols matrix, checking the length once. */
export function matrix(data: Float32Array, rows: number, cols: number): Matrix {
  if (data.length !== rows * cols) {
    throw new ShapeError(`matrix of ${rows} x ${cols} needs ${rows * cols} values, received ${data.length}`);
  }
  return { data, rows, cols };
}

/** The rows of `m` at `indices`, copied into a new matrix. */
export function takeRows(m: Matrix, indices: ArrayLike<number>): Matrix {
  const out = new Float32Array(indices.length * m.cols);
  for (let r = 0; r < indices.length; r++) {
    const src = (indices[r] as number) * m.cols;
    out.set(m.data.subarray(src, src + m.cols), r * m.cols);
  }
  return { data: out, rows: indices.length, cols: m.cols };
}
