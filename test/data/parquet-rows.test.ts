import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { diskRows, forEachChunk, readDiskRows } from '../../src/data/disk-matrix.ts';
import { locateParquetRows, openParquetRows, parquetFileInfo, readParquetText } from '../../src/data/parquet-rows.ts';
import { openRowSource } from '../../src/data/row-source.ts';
import { createStreamingOps } from '../../src/train/streaming-ops.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'fairhead-parquet-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Row r, feature c = 10 r + c (exact in float32). */
const value = (r: number, c: number): number => 10 * r + c;

/** A Parquet file of rows `first .. first+n-1` (values above), `groupRows` rows per row group, in one of three layouts. */
function writeRows(file: string, first: number, n: number, d: number, layout: 'fixed-list' | 'list' | 'columns', groupRows: number, labels = (r: number) => `y${r % 2}`): void {
  const values = new Float32Array(n * d);
  for (let r = 0; r < n; r++) for (let c = 0; c < d; c++) values[r * d + c] = value(first + r, c);
  const columns: Record<string, arrow.Vector> = {};
  if (layout === 'columns') {
    for (let c = 0; c < d; c++) columns[`f${c}`] = arrow.vectorFromArray(Array.from({ length: n }, (_, r) => values[r * d + c] as number), new arrow.Float32());
  } else {
    const rows = Array.from({ length: n }, (_, r) => Array.from(values.subarray(r * d, (r + 1) * d)));
    const type = layout === 'list' ? new arrow.List(new arrow.Field('item', new arrow.Float32())) : new arrow.FixedSizeList(d, new arrow.Field('item', new arrow.Float32()));
    columns['embedding'] = arrow.vectorFromArray(rows, type);
  }
  columns['label'] = arrow.vectorFromArray(Array.from({ length: n }, (_, r) => labels(first + r)), new arrow.Utf8());
  const table = new arrow.Table(columns);
  const props = new WriterPropertiesBuilder().setMaxRowGroupSize(groupRows).build();
  writeFileSync(file, writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream')), props));
}

describe('Parquet rows read a row group at a time', () => {
  for (const layout of ['fixed-list', 'list', 'columns'] as const) {
    it(`read any span across row groups and files (${layout}: 3 files of 7, 0 and 6 rows, 3 rows per row group)`, async () => {
      const folder = join(dir, layout);
      mkdirSync(folder);
      writeRows(join(folder, 'part-0.parquet'), 0, 7, 5, layout, 3);
      writeRows(join(folder, 'part-1.parquet'), 7, 0, 5, layout, 3);
      writeRows(join(folder, 'part-2.parquet'), 7, 6, 5, layout, 3);
      const where = await locateParquetRows(folder, { text: ['label'] });
      expect(where.fileRows).toEqual([7, 0, 6]);
      expect(where.cols).toBe(5);
      const rows = await openParquetRows(where);
      expect([rows.rows, rows.cols]).toEqual([13, 5]);
      for (const [start, count] of [[0, 13], [2, 2], [5, 4], [6, 1], [12, 1], [3, 0]] as const) {
        const into = new Float32Array(count * 5 + 2).fill(-1);
        await rows.readRows(start, count, into);
        const expected = Array.from({ length: count * 5 }, (_, i) => value(start + Math.floor(i / 5), i % 5));
        expect(Array.from(into.subarray(0, count * 5)), `rows ${start}+${count}`).toEqual(expected);
        expect(Array.from(into.subarray(count * 5))).toEqual([-1, -1]); // nothing written past the rows asked for
      }
      // an index of rows, in chunks of 2 rows: forEachChunk reads spans and packs the selected rows
      const picked = Int32Array.of(1, 2, 6, 7, 12);
      expect(Array.from((await readDiskRows(diskRows(rows, picked), 40)).data)).toEqual(Array.from(picked).flatMap((r) => [0, 1, 2, 3, 4].map((c) => value(r, c))));
      const firsts: number[] = [];
      await forEachChunk(diskRows(rows), 0, 13, new Float32Array(10), (_, first) => firsts.push(first));
      expect(firsts).toEqual([0, 2, 4, 6, 8, 10, 12]);
      // another thread opens the same rows from the plain-data location
      const again = await openRowSource(JSON.parse(JSON.stringify(rows.location)));
      const a = new Float32Array(10);
      await again.readRows(11, 2, a);
      expect(Array.from(a)).toEqual([110, 111, 112, 113, 114, 120, 121, 122, 123, 124]);
      again.close();
      rows.close();
      await expect(rows.readRows(0, 1, a)).rejects.toThrow(/used after close/);
      expect(await readParquetText(where, ['label'])).toEqual([Array.from({ length: 13 }, (_, r) => `y${r % 2}`)]);
    });
  }

  it('give the products of the in-memory rows to the streaming trainer, 2 worker threads each decoding its own rows', async () => {
    const folder = join(dir, 'trainer');
    mkdirSync(folder);
    writeRows(join(folder, 'a.parquet'), 0, 50, 4, 'fixed-list', 8);
    writeRows(join(folder, 'b.parquet'), 50, 31, 4, 'fixed-list', 8);
    const rows = await openParquetRows(await locateParquetRows(folder, { text: [] }));
    const index = Int32Array.from({ length: 40 }, (_, p) => 2 * p + (p % 2));
    const ops = await createStreamingOps(diskRows(rows, index), 1, { threads: 2, chunkBytes: 4 * 4 * 5 });
    try {
      const w = Float64Array.of(0.5, -1, 0.25, 2);
      const z = new Float64Array(40);
      await ops.forward(w, Float64Array.of(3), z);
      expect(Array.from(z)).toEqual(Array.from(index, (r) => 3 + 0.5 * value(r, 0) - value(r, 1) + 0.25 * value(r, 2) + 2 * value(r, 3)));
    } finally {
      await ops.close();
      rows.close();
    }
  });

  it('name the file, row and feature of a value that is not finite, the first time it is read', async () => {
    const file = join(dir, 'nan.parquet');
    writeRows(file, 0, 6, 3, 'fixed-list', 2);
    // rewrite with row 4, feature 2 = NaN
    const values = Array.from({ length: 6 }, (_, r) => [0, 1, 2].map((c) => (r === 4 && c === 2 ? Number.NaN : value(r, c))));
    const table = new arrow.Table({ embedding: arrow.vectorFromArray(values, new arrow.FixedSizeList(3, new arrow.Field('item', new arrow.Float32()))), label: arrow.vectorFromArray(['a', 'b', 'a', 'b', 'a', 'b'], new arrow.Utf8()) });
    writeFileSync(file, writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream')), new WriterPropertiesBuilder().setMaxRowGroupSize(2).build()));
    const rows = await openParquetRows(await locateParquetRows(file, { text: ['label'] }));
    const into = new Float32Array(9);
    await rows.readRows(0, 3, into); // rows 0-2 are fine
    await expect(rows.readRows(3, 2, into)).rejects.toThrow(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: row 5, feature 2: not a finite number \\(NaN\\); embeddings must be finite$`));
    rows.close();
  });

  it('refuse a file cut short, and a second file without the first one\'s feature or label columns', async () => {
    const cut = join(dir, 'cut.parquet');
    writeRows(cut, 0, 20, 3, 'fixed-list', 5);
    writeFileSync(cut, readFileSync(cut).subarray(0, 300));
    await expect(locateParquetRows(cut, { text: ['label'] })).rejects.toThrow(/cut\.parquet: not a readable Parquet file \(.*\); a file cut short has no footer$/);
    await expect(parquetFileInfo(cut)).rejects.toThrow(/not a readable Parquet file/);
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    writeRows(join(mixed, '0.parquet'), 0, 4, 3, 'fixed-list', 5);
    writeRows(join(mixed, '1.parquet'), 4, 4, 3, 'columns', 5);
    await expect(locateParquetRows(mixed, { text: ['label'] })).rejects.toThrow(/1\.parquet: missing column "embedding" \(found in .*0\.parquet\); columns are: f0, f1, f2, label$/);
  });
});
