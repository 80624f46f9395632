import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../../src/data/npy.ts';
import { InputError, ShapeError } from '../../src/errors.ts';

const fixture = (name: string): string => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url));
// every fixture holds a = [[1.5, -2, 3], [4, 5.25, -6e-3]] (see fixtures/README.md)
const a = [1.5, -2, 3, 4, 5.25, Math.fround(-6e-3)];

describe('readNpy on files written by NumPy', () => {
  it('reads a float32 2 x 3 array', () => {
    const { data, shape } = readNpy(fixture('f4-2x3.npy'));
    expect(shape).toEqual([2, 3]);
    expect(Array.from(data)).toEqual(a);
  });

  it('reads float64 and rounds to float32', () => {
    expect(Array.from(readNpy(fixture('f8-2x3.npy')).data)).toEqual(a);
  });

  it('reads format version 2.0 (4-byte header length)', () => {
    expect(Array.from(readNpy(fixture('f4-2x3-v2.npy')).data)).toEqual(a);
  });

  it('reads a 1-D shape written as (3,)', () => {
    expect(readNpy(fixture('f4-1d.npy')).shape).toEqual([3]);
  });

  it('refuses Fortran order, telling how to re-save', () => {
    expect(() => readNpy(fixture('fortran-2x3.npy'))).toThrow(/Fortran \(column-major\) order; re-save it in C order with np.save\(path, np.ascontiguousarray\(arr\)\)/);
  });

  it('refuses int64 and big-endian float32, naming the dtype', () => {
    expect(() => readNpy(fixture('i8-2x3.npy'))).toThrow(/dtype '<i8' is not supported; expected float32 \('<f4'\) or float64 \('<f8'\)/);
    expect(() => readNpy(fixture('big-endian-2x3.npy'))).toThrow(/dtype '>f4' is not supported/);
  });

  it('refuses a truncated file: 2 x 3 float32 needs 24 data bytes', () => {
    const bytes = readFileSync(fixture('f4-2x3.npy'));
    const cut = bytes.subarray(0, bytes.length - 4);
    expect(() => parseNpy(cut, 'cut.npy')).toThrow(ShapeError);
    expect(() => parseNpy(cut, 'cut.npy')).toThrow('cut.npy: .npy shape (2, 3) of float32 needs 24 data bytes, the file holds 20 (truncated file?)');
  });

  it('refuses a file that is not .npy', () => {
    expect(() => parseNpy(new TextEncoder().encode('a,b\n1,2\n'), 'x.npy')).toThrow(InputError);
  });
});

describe('writeNpy', () => {
  it('writes the same bytes as np.save for a float32 2 x 3 array', () => {
    const mine = encodeNpy(Float32Array.from(a), [2, 3]);
    expect(Buffer.from(mine).equals(readFileSync(fixture('f4-2x3.npy')))).toBe(true);
  });

  it('round-trips through a file', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fairhead-npy-')), 'x.npy');
    writeNpy(file, Float32Array.of(1, 2, 3), [3, 1]);
    expect(readNpy(file)).toEqual({ data: Float32Array.of(1, 2, 3), shape: [3, 1] });
  });

  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy(Float32Array.of(1, 2, 3), [2, 2])).toThrow('writeNpy: shape (2, 2) needs 4 values, received 3');
  });

  it('keeps the header a multiple of 64 bytes, as the format asks', () => {
    const bytes = encodeNpy(new Float32Array(12), [3, 4]);
    const headerLength = bytes[8]! + bytes[9]! * 256;
    expect((10 + headerLength) % 64).toBe(0);
  });
});
