import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../atomic-write.ts';
import { fileReadError, InputError, ShapeError } from '../errors.ts';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Read a NumPy `.npy` file of float32 or float64 values in C (row-major) order, any shape; float64 is rounded to
 * float32. The header (format versions 1, 2 and 3) is parsed here, no Python needed.
 *
 * Errors (InputError / ShapeError naming the file): not an .npy file, another dtype (only `<f4`, `<f8`; big-endian,
 * integers, objects are refused), `fortran_order: True` (re-save with `np.ascontiguousarray`), a data section
 * shorter or longer than the shape says (truncated file).
 *
 * @example
 * // np.save('emb.npy', np.array([[1, 2], [3, 4]], dtype=np.float32))
 * readNpy('emb.npy'); // { data: Float32Array [1, 2, 3, 4], shape: [2, 2] }
 */
export function readNpy(file: string): { data: Float32Array; shape: number[] } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw fileReadError(file, error);
  }
  return parseNpy(bytes, file);
}

/** Parse the bytes of an .npy file (see {@link readNpy}); `source` names it in errors. */
export function parseNpy(bytes: Uint8Array, source: string): { data: Float32Array; shape: number[] } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new InputError(`${source}: not a NumPy .npy file (it does not start with \\x93NUMPY); save embeddings with np.save`);
  }
  const major = bytes[6] as number;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new InputError(`${source}: truncated .npy header`);
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new InputError(`${source}: .npy format version ${major}.${bytes[7]} is not supported (expected 1.0, 2.0 or 3.0)`);
  }
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart) throw new InputError(`${source}: truncated .npy header (${bytes.length} bytes, header ends at ${dataStart})`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new InputError(`${source}: .npy header lacks descr, fortran_order or shape: ${header.trim()}`);
  }
  const itemSize = descr === '<f4' || descr === '=f4' ? 4 : descr === '<f8' || descr === '=f8' ? 8 : 0;
  if (itemSize === 0) {
    throw new InputError(`${source}: .npy dtype '${descr}' is not supported; expected float32 ('<f4') or float64 ('<f8'); convert with arr.astype(np.float32)`);
  }
  if (fortran === 'True') {
    throw new InputError(`${source}: .npy array is in Fortran (column-major) order; re-save it in C order with np.save(path, np.ascontiguousarray(arr))`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((s) => {
      const n = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(n) || n < 0) throw new InputError(`${source}: .npy shape (${shapeText}) is not a list of sizes`);
      return n;
    });
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = count * itemSize;
  const available = bytes.length - dataStart;
  if (available !== expected) {
    throw new ShapeError(
      `${source}: .npy shape (${shape.join(', ')}) of ${descr === '<f4' || descr === '=f4' ? 'float32' : 'float64'} needs ${expected} data bytes, the file holds ${available}${available < expected ? ' (truncated file?)' : ''}`,
    );
  }
  const raw = bytes.buffer.slice(bytes.byteOffset + dataStart, bytes.byteOffset + dataStart + expected);
  const data = itemSize === 4 ? new Float32Array(raw) : Float32Array.from(new Float64Array(raw));
  return { data, shape };
}

/**
 * Write `data` as a C-order float32 `.npy` file (format 1.0) that `np.load` reads; written atomically.
 *
 * @example
 * writeNpy('emb.npy', Float32Array.of(1, 2, 3, 4), [2, 2]); // np.load('emb.npy') -> [[1., 2.], [3., 4.]]
 */
export function writeNpy(file: string, data: Float32Array, shape: readonly number[]): void {
  writeFileAtomic(file, encodeNpy(data, shape));
}

/** The bytes of a float32 .npy file (see {@link writeNpy}). */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new ShapeError(`writeNpy: shape (${shape.join(', ')}) needs ${count} values, received ${data.length}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  if (header.length > 0xffff) throw new ShapeError(`writeNpy: shape (${shape.join(', ')}) makes a header too long for .npy 1.0`);
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
