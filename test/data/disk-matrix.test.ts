import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diskRows, findNonFinite, forEachChunk, openDiskMatrix, readDiskRows } from '../../src/data/disk-matrix.ts';
import { encodeNpy, writeNpy } from '../../src/data/npy.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'fairhead-disk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** rows x cols matrix with value 10 * row + col, so every value names its place. */
function numbered(rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let c = 0; c < cols; c++) out[i * cols + c] = 10 * i + c;
  return out;
}

describe('openDiskMatrix', () => {
  it('reads the shape from an .npy header and any run of rows on demand', () => {
    const file = join(dir, 'a.npy');
    writeNpy(file, numbered(5, 3), [5, 3]);
    const m = openDiskMatrix(file);
    expect([m.rows, m.cols, m.dtype]).toEqual([5, 3, 'float32']);
    const buf = new Float32Array(7).fill(-1);
    m.readRows(1, 2, buf);
    expect(Array.from(buf)).toEqual([10, 11, 12, 20, 21, 22, -1]);
    m.close();
    expect(() => m.readRows(0, 1, buf)).toThrow(/after close/);
  });

  it('reads a raw .f32 file given its column count', () => {
    const file = join(dir, 'a.f32');
    const data = numbered(4, 2);
    writeFileSync(file, new Uint8Array(data.buffer));
    const m = openDiskMatrix(file, { cols: 2 });
    expect(m.rows).toBe(4);
    const buf = new Float32Array(2);
    m.readRows(3, 1, buf);
    expect(Array.from(buf)).toEqual([30, 31]);
    m.close();
    expect(() => openDiskMatrix(file)).toThrow(/a raw .f32 file needs its column count/);
    expect(() => openDiskMatrix(file, { cols: 3 })).toThrow(/not a whole number of rows of 3/);
  });

  it('rounds a float64 .npy to float32 as it reads', () => {
    // a float64 .npy written by hand: header of a (2, 2) '<f8' array, then 4 doubles
    const f32 = encodeNpy(new Float32Array(4), [2, 2]);
    const headerLength = new DataView(f32.buffer).getUint16(8, true);
    const header = new TextDecoder('latin1').decode(f32.subarray(10, 10 + headerLength)).replace("'<f4'", "'<f8'");
    const values = Float64Array.of(0.1, 1, 2, 3);
    const bytes = new Uint8Array(10 + header.length + 32);
    bytes.set(f32.subarray(0, 10));
    bytes.set(new TextEncoder().encode(header), 10);
    bytes.set(new Uint8Array(values.buffer), 10 + header.length);
    const file = join(dir, 'f8.npy');
    writeFileSync(file, bytes);
    const m = openDiskMatrix(file);
    const buf = new Float32Array(4);
    m.readRows(0, 2, buf);
    expect(m.dtype).toBe('float64');
    expect(Array.from(buf)).toEqual([Math.fround(0.1), 1, 2, 3]);
    m.close();
  });

  it('refuses a missing file, a truncated .npy, a 1-D array and a non-.npy file, naming the file', () => {
    expect(() => openDiskMatrix(join(dir, 'missing.npy'))).toThrow(/missing.npy: file not found/);
    const full = encodeNpy(numbered(3, 2), [3, 2]);
    writeFileSync(join(dir, 'cut.npy'), full.subarray(0, full.length - 4));
    expect(() => openDiskMatrix(join(dir, 'cut.npy'))).toThrow(/cut.npy: .npy shape \(3, 2\) needs 24 data bytes, the file holds 20 \(truncated file\?\)/);
    writeNpy(join(dir, 'flat.npy'), numbered(1, 4), [4]);
    expect(() => openDiskMatrix(join(dir, 'flat.npy'))).toThrow(/flat.npy: .npy shape is \(4,\), expected 2-D/);
    writeFileSync(join(dir, 'text.npy'), 'a,b\n1,2\n');
    expect(() => openDiskMatrix(join(dir, 'text.npy'))).toThrow(/text.npy: not a NumPy .npy file/);
    expect(() => openDiskMatrix(join(dir, 'a.npy'), { cols: 4 })).toThrow(/expected 4 columns, the file holds 3/);
  });
});

describe('forEachChunk', () => {
  const file = join(dir, 'chunks.npy');
  writeNpy(file, numbered(10, 2), [10, 2]);

  it('visits all rows in order, in chunks the buffer holds', async () => {
    const m = openDiskMatrix(file);
    const seen: number[][] = [];
    await forEachChunk(diskRows(m), 1, 8, new Float32Array(6), (chunk, first, count) => seen.push([first, count, ...chunk]));
    // 3 rows per chunk: rows 1-3, 4-6, then 7
    expect(seen).toEqual([
      [1, 3, 10, 11, 20, 21, 30, 31],
      [4, 3, 40, 41, 50, 51, 60, 61],
      [7, 1, 70, 71],
    ]);
    m.close();
  });

  it('packs the selected rows of an index, reading spans that fit the buffer', async () => {
    const m = openDiskMatrix(file);
    const x = diskRows(m, Int32Array.of(0, 2, 3, 7, 9));
    const seen: number[][] = [];
    // buffer of 3 rows: span 0..2 holds set rows 0-1 (file 0, 2); span 3..5 holds file 3; 7..9 holds 7 and 9
    await forEachChunk(x, 0, 5, new Float32Array(6), (chunk, first, count) => seen.push([first, count, ...chunk]));
    expect(seen).toEqual([
      [0, 2, 0, 1, 20, 21],
      [2, 1, 30, 31],
      [3, 2, 70, 71, 90, 91],
    ]);
    expect(Array.from((await readDiskRows(x, 8)).data)).toEqual([0, 1, 20, 21, 30, 31, 70, 71, 90, 91]);
    m.close();
  });

  it('refuses an index that is not strictly ascending or out of range', () => {
    const m = openDiskMatrix(file);
    expect(() => diskRows(m, Int32Array.of(2, 2))).toThrow(/index\[1\] = 2 must be in 0..9 and above index\[0\]/);
    expect(() => diskRows(m, Int32Array.of(10))).toThrow(/index\[0\] = 10 must be in 0..9/);
    m.close();
  });
});

describe('findNonFinite', () => {
  it('finds the first NaN or infinity by set row and column, or null', async () => {
    const data = numbered(6, 3);
    const file = join(dir, 'nan.npy');
    writeNpy(file, data, [6, 3]);
    const clean = openDiskMatrix(file);
    expect(await findNonFinite(diskRows(clean), 12)).toBeNull();
    clean.close();
    data[4 * 3 + 2] = Number.POSITIVE_INFINITY; // file row 4, column 2
    data[5 * 3 + 0] = Number.NaN;
    writeNpy(file, data, [6, 3]);
    const m = openDiskMatrix(file);
    expect(await findNonFinite(diskRows(m), 12)).toEqual({ row: 4, col: 2, value: Infinity });
    // as a subset, file row 4 is set row 1
    expect(await findNonFinite(diskRows(m, Int32Array.of(1, 4, 5)), 12)).toEqual({ row: 1, col: 2, value: Infinity });
    expect((await findNonFinite(diskRows(m, Int32Array.of(0, 5)), 12))?.row).toBe(1);
    m.close();
  });
});
