/**
 * The two products of a linear head over rows of a {@link DiskRows} set, streamed a chunk at a time through one
 * bounded buffer (kernels.ts does the arithmetic, float64 sums). Shared by the single-thread path of
 * streaming-ops.ts and its worker threads (streaming-ops-worker-body.ts). Internal.
 */
import { forEachChunk, type DiskRows } from '../../data/disk-matrix.ts';
import { backwardRows, forwardRows } from '../kernels.ts';
import { addCellRows, cellStride } from './cell-pass.mjs';

/** z[p*k + j] = b[j] + sum_c X[p,c] w[j*d + c] for the set's rows p in start..end-1. */
export async function forwardDisk(x: DiskRows, start: number, end: number, buffer: Float32Array, w: Float64Array, b: Float64Array, k: number, z: Float64Array): Promise<void> {
  const d = x.cols;
  await forEachChunk(x, start, end, buffer, (chunk, first, count) => {
    forwardRows(chunk, d, 0, count, w, b, k, z.subarray(first * k, (first + count) * k));
  });
}

/** Adds sum_p X[p,c] g[p*k + j] into gw and sum_p g[p*k + j] into gb, rows p in start..end-1 (no clearing). */
export async function backwardDisk(x: DiskRows, start: number, end: number, buffer: Float32Array, g: Float64Array, k: number, gw: Float64Array, gb: Float64Array): Promise<void> {
  const d = x.cols;
  await forEachChunk(x, start, end, buffer, (chunk, first, count) => {
    backwardRows(chunk, d, 0, count, g.subarray(first * k, (first + count) * k), k, gw, gb);
  });
}

/**
 * Adds the binary cell sums (LinearOps.binaryCellSums) of rows p in start..end-1 into out[outAt ...]
 * (2 * groups cells; no clearing): one read of each row.
 */
export async function cellsDisk(
  x: DiskRows,
  start: number,
  end: number,
  buffer: Float32Array,
  codes: Int32Array,
  groups: number,
  w: Float64Array,
  b: Float64Array,
  out: Float64Array,
  outAt = 0,
): Promise<void> {
  const d = x.cols;
  const sub = out.subarray(outAt, outAt + 2 * groups * cellStride(d));
  await forEachChunk(x, start, end, buffer, (chunk, first, count) => {
    addCellRows(chunk, d, 0, count, codes, first, groups, w, b, sub);
  });
}
