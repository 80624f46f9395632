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

/** The rows of `parts`, one after the other, in one new matrix of `cols` columns (`cols` also when `parts` is empty). */
export function concatRows(parts: readonly Matrix[], cols: number): Matrix {
  const rows = parts.reduce((s, p) => s + p.rows, 0);
  const data = new Float32Array(rows * cols);
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return matrix(data, rows, cols);
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

/**
 * The values of `values` at `indices`, into a new Int32Array (the labels and groups of a subset of rows).
 *
 * @example
 * takeInts(Int32Array.of(5, 6, 7), Int32Array.of(2, 0)); // Int32Array [7, 5]
 */
export function takeInts(values: Int32Array, indices: Int32Array): Int32Array {
  const out = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = values[indices[i] as number] as number;
  return out;
}

/**
 * a and b hold the same int32 values, compared as bytes in native code (a loop would run interpreted in a
 * process's first calls).
 *
 * @example
 * sameInts(Int32Array.of(1, 2), Int32Array.of(1, 2)); // true
 */
export function sameInts(a: Int32Array, b: Int32Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
