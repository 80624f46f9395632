import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { extname } from 'node:path';
import { fileReadError, InputError, ShapeError } from '../errors.ts';
import { matrix, type Matrix } from './matrix.ts';
import type { RowSource } from './row-source.ts';

/**
 * A read-only, row-major matrix that stays in a file: a float32 or float64 `.npy` (C order, 2-D) or a raw
 * little-endian float32 `.f32` file (`cols` given). Rows are read on demand with `fs.readSync` into a buffer
 * the caller owns, so memory stays bounded whatever the file size (the OS page cache may keep the file).
 *
 *     row i, column c  lives at byte  dataOffset + (i * cols + c) * itemSize
 */
export interface DiskMatrix extends RowSource {
  readonly file: string;
  readonly rows: number;
  readonly cols: number;
  /** Byte offset of row 0 in the file. */
  readonly dataOffset: number;
  /** Storage type; float64 values are rounded to float32 when read. */
  readonly dtype: 'float32' | 'float64';
  /** Copy rows `start .. start+count-1` into `into[0 .. count*cols-1]` (`into` may be longer). */
  readRows(start: number, count: number, into: Float32Array): void;
  /** Close the file descriptor (reads after close fail). */
  close(): void;
}

/** Options of {@link openDiskMatrix}. */
export interface DiskMatrixOptions {
  /** Columns of a raw `.f32` file (required there; for `.npy` the header decides, and a different value is an error). */
  readonly cols?: number;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Largest single read: readSync caps one call near 2 GiB. */
const MAX_READ = 1 << 30;

/**
 * Open `file` as a {@link DiskMatrix} without reading its values: only the `.npy` header (or the size of a
 * `.f32` file) is read. Errors (InputError / ShapeError naming the file): missing file, not an .npy, dtype other
 * than `<f4` / `<f8`, Fortran order, not 2-D, a size that does not match the shape, `.f32` without `cols` or
 * with a size that is not a whole number of rows.
 *
 * @example
 * // np.save('emb.npy', np.arange(6, dtype=np.float32).reshape(3, 2))
 * const m = openDiskMatrix('emb.npy');     // m.rows = 3, m.cols = 2
 * const buf = new Float32Array(4);
 * m.readRows(1, 2, buf);                    // buf = [2, 3, 4, 5]
 * m.close();
 */
export function openDiskMatrix(file: string, options: DiskMatrixOptions = {}): DiskMatrix {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw fileReadError(file, error);
  }
  try {
    const size = fstatSync(fd).size;
    const layout = extname(file).toLowerCase() === '.npy' ? npyLayout(fd, size, file) : rawLayout(size, file, options.cols);
    if (options.cols !== undefined && options.cols !== layout.cols) {
      throw new ShapeError(`${file}: expected ${options.cols} columns, the file holds ${layout.cols}`);
    }
    return diskMatrixOver(fd, file, layout);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

interface Layout {
  readonly rows: number;
  readonly cols: number;
  readonly dataOffset: number;
  readonly itemSize: 4 | 8;
}

function diskMatrixOver(fd: number, file: string, layout: Layout): DiskMatrix {
  const { rows, cols, dataOffset, itemSize } = layout;
  let open = true;
  let wide: Float64Array | null = null;
  const readBytes = (target: Uint8Array, position: number): void => {
    let done = 0;
    while (done < target.length) {
      const got = readSync(fd, target, done, Math.min(MAX_READ, target.length - done), position + done);
      if (got === 0) throw new InputError(`${file}: file ended at byte ${position + done} (was it truncated while being read?)`);
      done += got;
    }
  };
  return {
    file,
    location: { kind: 'file', file, cols },
    rows,
    cols,
    dataOffset,
    dtype: itemSize === 4 ? 'float32' : 'float64',
    readRows(start, count, into) {
      if (!open) throw new Error(`${file}: DiskMatrix used after close()`);
      if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= rows)) {
        throw new RangeError(`${file}: rows ${start}..${start + count - 1} are outside 0..${rows - 1}`);
      }
      const values = count * cols;
      if (into.length < values) throw new ShapeError(`readRows: ${count} rows of ${cols} need ${values} values, the buffer holds ${into.length}`);
      const position = dataOffset + start * cols * itemSize;
      if (itemSize === 4) {
        readBytes(new Uint8Array(into.buffer, into.byteOffset, values * 4), position);
        return;
      }
      if (!wide || wide.length < values) wide = new Float64Array(values);
      readBytes(new Uint8Array(wide.buffer, 0, values * 8), position);
      for (let j = 0; j < values; j++) into[j] = wide[j] as number;
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

function rawLayout(size: number, file: string, cols: number | undefined): Layout {
  if (extname(file).toLowerCase() !== '.f32') {
    throw new InputError(`${file}: a disk matrix is a float32 .npy or a raw float32 .f32 file, received "${extname(file) || '(no extension)'}"`);
  }
  if (cols === undefined || !Number.isInteger(cols) || cols < 1) {
    throw new InputError(`${file}: a raw .f32 file needs its column count (cols >= 1), received ${String(cols)}`);
  }
  const rowBytes = cols * 4;
  if (size % rowBytes !== 0) throw new ShapeError(`${file}: ${size} bytes is not a whole number of rows of ${cols} float32 values (${rowBytes} bytes each)`);
  return { rows: size / rowBytes, cols, dataOffset: 0, itemSize: 4 };
}

function npyLayout(fd: number, size: number, file: string): Layout {
  const head = new Uint8Array(12);
  const got = readSync(fd, head, 0, 12, 0);
  if (got < 10 || MAGIC.some((b, i) => head[i] !== b)) {
    throw new InputError(`${file}: not a NumPy .npy file (it does not start with \\x93NUMPY); save embeddings with np.save`);
  }
  const major = head[6] as number;
  const view = new DataView(head.buffer);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if ((major === 2 || major === 3) && got === 12) {
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw new InputError(`${file}: .npy format version ${major}.${head[7]} is not supported (expected 1.0, 2.0 or 3.0)`);
  }
  const dataOffset = headerStart + headerLength;
  if (size < dataOffset) throw new InputError(`${file}: truncated .npy header (${size} bytes, header ends at ${dataOffset})`);
  const bytes = new Uint8Array(headerLength);
  readSync(fd, bytes, 0, headerLength, headerStart);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InputError(`${file}: .npy header lacks descr, fortran_order or shape: ${header.trim()}`);
  }
  const itemSize = descr === '<f4' || descr === '=f4' ? 4 : descr === '<f8' || descr === '=f8' ? 8 : 0;
  if (itemSize === 0) {
    throw new InputError(`${file}: .npy dtype '${descr}' is not supported; expected float32 ('<f4') or float64 ('<f8'); convert with arr.astype(np.float32)`);
  }
  if (fortran === 'True') {
    throw new InputError(`${file}: .npy array is in Fortran (column-major) order; re-save it in C order with np.save(path, np.ascontiguousarray(arr))`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => Number(s.replace(/L$/, '')));
  if (shape.length !== 2 || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new ShapeError(`${file}: .npy shape is (${shapeText}), expected 2-D (rows, dim); reshape with arr.reshape(len(arr), -1)`);
  }
  const [rows, cols] = shape as [number, number];
  const expected = rows * cols * itemSize;
  if (size - dataOffset !== expected) {
    throw new ShapeError(
      `${file}: .npy shape (${rows}, ${cols}) needs ${expected} data bytes, the file holds ${size - dataOffset}${size - dataOffset < expected ? ' (truncated file?)' : ''}`,
    );
  }
  return { rows, cols, dataOffset, itemSize };
}

/**
 * Some rows of a {@link RowSource} (a {@link DiskMatrix}, Parquet shards), in file order: all of them (`index`
 * null) or the file rows listed in `index` (strictly ascending). Row p of the set is file row `index[p]`.
 */
export interface DiskRows {
  readonly matrix: RowSource;
  readonly index: Int32Array | null;
  readonly rows: number;
  readonly cols: number;
}

/**
 * The rows of `m` at `index` (strictly ascending file rows; null = all rows). Errors: an index out of range or
 * not strictly ascending (RangeError: a programming error, not user input).
 *
 * @example
 * diskRows(m, Int32Array.of(0, 2)).rows; // 2 (file rows 0 and 2)
 */
export function diskRows(m: RowSource, index: Int32Array | null = null): DiskRows {
  if (index) {
    for (let p = 0; p < index.length; p++) {
      const r = index[p] as number;
      if (!(r >= 0 && r < m.rows) || (p > 0 && r <= (index[p - 1] as number))) {
        throw new RangeError(`diskRows: index[${p}] = ${r} must be in 0..${m.rows - 1} and above index[${p - 1}]`);
      }
    }
  }
  return { matrix: m, index, rows: index ? index.length : m.rows, cols: m.cols };
}

/** Frozen embeddings kept on disk, with their labels and groups: an {@link EmbeddingSet} whose x is {@link DiskRows}. */
export interface DiskEmbeddingSet {
  readonly x: DiskRows;
  readonly y: Int32Array;
  readonly classes: readonly string[];
  readonly group: Int32Array;
  readonly groupNames: readonly string[];
}

/**
 * Visit rows `start .. end-1` of `x` in order, a chunk at a time (each read awaited: a Parquet source decodes
 * asynchronously, a file matrix reads synchronously): `visit(chunk, first, count)` gets rows
 * `first .. first+count-1` of the set packed row-major at the start of `buffer` (`chunk` is a view of it, valid
 * only during the call). A chunk holds at most `floor(buffer.length / cols)` rows. With an index, each read covers
 * a span of file rows that fits the buffer and the selected rows are packed in place, so memory never exceeds
 * `buffer`; rows that are not selected may still be read.
 *
 * @example
 * const buf = new Float32Array(2 * m.cols);
 * await forEachChunk(diskRows(m), 0, m.rows, buf, (chunk, first, count) => { ... }); // rows 0-1, then 2-3, ...
 */
export async function forEachChunk(
  x: DiskRows,
  start: number,
  end: number,
  buffer: Float32Array,
  visit: (chunk: Float32Array, first: number, count: number) => void,
): Promise<void> {
  const d = x.cols;
  const capacity = Math.floor(buffer.length / Math.max(d, 1));
  if (capacity < 1) throw new ShapeError(`forEachChunk: a buffer of ${buffer.length} values cannot hold one row of ${d}`);
  if (!(start >= 0 && end <= x.rows && start <= end)) throw new RangeError(`forEachChunk: rows ${start}..${end - 1} outside 0..${x.rows - 1}`);
  const index = x.index;
  let p = start;
  while (p < end) {
    if (!index) {
      const count = Math.min(capacity, end - p);
      const reading = x.matrix.readRows(p, count, buffer);
      if (reading) await reading;
      visit(buffer.subarray(0, count * d), p, count);
      p += count;
      continue;
    }
    const low = index[p] as number;
    let q = p + 1;
    while (q < end && (index[q] as number) - low < capacity) q++;
    const span = (index[q - 1] as number) - low + 1;
    const reading = x.matrix.readRows(low, span, buffer);
    if (reading) await reading;
    if (span !== q - p) {
      // pack: the source row index[j] - low is never before the destination j - p, so copying forward is safe
      for (let j = p; j < q; j++) {
        const from = ((index[j] as number) - low) * d;
        const to = (j - p) * d;
        if (from !== to) buffer.copyWithin(to, from, from + d);
      }
    }
    visit(buffer.subarray(0, (q - p) * d), p, q - p);
    p = q;
  }
}

/**
 * Read every row of `x` into memory (for small subsets, e.g. a group-balanced fine-tuning set).
 *
 * @example
 * await readDiskRows(diskRows(m, Int32Array.of(1))); // Matrix 1 x m.cols holding file row 1
 */
export async function readDiskRows(x: DiskRows, chunkBytes = 8 << 20): Promise<Matrix> {
  const out = new Float32Array(x.rows * x.cols);
  const buffer = new Float32Array(Math.max(x.cols, Math.floor(chunkBytes / 4 / Math.max(x.cols, 1)) * x.cols));
  await forEachChunk(x, 0, x.rows, buffer, (chunk, first) => out.set(chunk, first * x.cols));
  return matrix(out, x.rows, x.cols);
}

/**
 * The first value of `x` that is not a finite number, as { row (of the set), col, value }, or null when every
 * value is finite; streams with a bounded buffer. A source whose reads check every value themselves
 * (`finiteChecked`, Parquet) is not read: null at once, and a bad value fails the first pass that reads it.
 *
 * @example
 * await findNonFinite(diskRows(m)); // null, or e.g. { row: 7, col: 3, value: NaN }
 */
export async function findNonFinite(x: DiskRows, chunkBytes = 8 << 20): Promise<{ row: number; col: number; value: number } | null> {
  if (x.matrix.finiteChecked) return null;
  const d = x.cols;
  const buffer = new Float32Array(Math.max(d, Math.floor(chunkBytes / 4 / Math.max(d, 1)) * d));
  let found: { row: number; col: number; value: number } | null = null;
  let p = 0;
  while (p < x.rows && !found) {
    const stop = Math.min(x.rows, p + Math.floor(buffer.length / Math.max(d, 1)));
    await forEachChunk(x, p, stop, buffer, (chunk, first) => {
      if (found) return;
      for (let j = 0; j < chunk.length; j++) {
        const v = chunk[j] as number;
        // v - v is 0 for finite v and NaN for NaN and +-Infinity
        if (v - v !== 0) {
          found = { row: first + Math.floor(j / d), col: j % d, value: v };
          return;
        }
      }
    });
    p = stop;
  }
  return found;
}
