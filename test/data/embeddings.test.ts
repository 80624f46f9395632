import { describe, it, expect } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { readEmbeddings, writeNpy } from '../../src/data/embeddings.ts';
import { InputError, ShapeError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'fairhead-emb-'));
const path = (name: string): string => join(dir, name);
const writeTable = (file: string, table: arrow.Table, compression?: Compression): void => {
  const props = compression === undefined ? null : new WriterPropertiesBuilder().setCompression(compression).build();
  writeFileSync(file, writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream')), props));
};
const floatList = (rows: number[][]): arrow.Vector =>
  arrow.vectorFromArray(rows, new arrow.List(new arrow.Field('element', new arrow.Float32(), true)));

// 4 rows, 2-d embeddings: row i = [i, 10 * i]; label yes/no; sex F/M; race B/W
const labels = ['yes', 'no', 'no', 'yes'];
const sex = ['F', 'F', 'M', 'M'];
const race = ['B', 'W', 'W', 'B'];

describe('readEmbeddings from Parquet', () => {
  it('reads f0.. columns with a string label and a group, positive naming class 1', async () => {
    const file = path('cols.parquet');
    writeTable(file, arrow.tableFromArrays({
      f0: Float32Array.of(0, 1, 2, 3), f1: Float64Array.of(0, 10, 20, 30), label: labels, sex,
    }));
    const set = await readEmbeddings(file, { label: 'label', group: ['sex'], positive: 'yes' });
    expect(Array.from(set.x.data)).toEqual([0, 0, 1, 10, 2, 20, 3, 30]);
    expect(set.classes).toEqual(['no', 'yes']);
    expect(Array.from(set.y)).toEqual([1, 0, 0, 1]);
    expect(set.groupNames).toEqual(['F', 'M']);
    expect(Array.from(set.group)).toEqual([0, 0, 1, 1]);
  });

  it('reads a list<float> embedding column, as Spark and Ray write vectors, and crosses two groups', async () => {
    const file = path('list.parquet');
    writeTable(file, new arrow.Table({
      embedding: floatList([[0, 0], [1, 10], [2, 20], [3, 30]]),
      label: arrow.vectorFromArray(Int32Array.of(1, 0, 0, 1)),
      sex: arrow.vectorFromArray(sex),
      race: arrow.vectorFromArray(race),
    }));
    const set = await readEmbeddings(file, { label: 'label', group: ['sex', 'race'] });
    expect(set.x.cols).toBe(2);
    expect(Array.from(set.x.data)).toEqual([0, 0, 1, 10, 2, 20, 3, 30]);
    expect(set.classes).toEqual(['0', '1']);
    expect(Array.from(set.y)).toEqual([1, 0, 0, 1]);
    expect(set.groupNames).toEqual(['F|B', 'F|W', 'M|B', 'M|W']);
    expect(Array.from(set.group)).toEqual([0, 1, 3, 2]);
  });

  it('reads a folder of 2 shards (snappy, as Spark writes; zstd) in file order, skipping _SUCCESS and .crc files', async () => {
    const folder = path('shards');
    mkdirSync(folder);
    writeTable(join(folder, 'part-00000.parquet'), new arrow.Table({
      embedding: floatList([[0, 0], [1, 10]]), label: arrow.vectorFromArray(labels.slice(0, 2)), sex: arrow.vectorFromArray(sex.slice(0, 2)),
    }), Compression.SNAPPY);
    writeTable(join(folder, 'part-00001.parquet'), new arrow.Table({
      embedding: floatList([[2, 20], [3, 30]]), label: arrow.vectorFromArray(labels.slice(2)), sex: arrow.vectorFromArray(sex.slice(2)),
    }), Compression.ZSTD);
    writeFileSync(join(folder, '_SUCCESS'), '');
    writeFileSync(join(folder, '.part-00000.parquet.crc'), 'not parquet');
    const set = await readEmbeddings(folder, { label: 'label', group: ['sex'], positive: 'yes' });
    expect(set.x.rows).toBe(4);
    expect(Array.from(set.x.data)).toEqual([0, 0, 1, 10, 2, 20, 3, 30]);
    expect(Array.from(set.y)).toEqual([1, 0, 0, 1]);
    expect(Array.from(set.group)).toEqual([0, 0, 1, 1]);
  });

  it('names the file and every missing column, listing the columns there are', async () => {
    const file = path('nolabel.parquet');
    writeTable(file, arrow.tableFromArrays({ f0: Float32Array.of(0, 1), y: ['a', 'b'] }));
    const read = readEmbeddings(file, { label: 'label', group: ['sex', 'race'] });
    await expect(read).rejects.toThrow(InputError);
    await expect(readEmbeddings(file, { label: 'label', group: ['sex', 'race'] })).rejects.toThrow(
      `${file}: missing columns "label", "sex", "race"; columns are: f0, y`,
    );
  });

  it('refuses a file that is not Parquet, naming it', async () => {
    const file = path('fake.parquet');
    writeFileSync(file, 'f0,label\n1,2\n');
    await expect(readEmbeddings(file, { label: 'label', group: [] })).rejects.toThrow(new RegExp(`^${file.replace(/[.]/g, '\\.')}: not a readable Parquet file`));
  });

  it('aligns a test set with the training classes and groups', async () => {
    const file = path('test.parquet');
    writeTable(file, arrow.tableFromArrays({ f0: Float32Array.of(5, 6), label: ['yes', 'yes'], sex: ['X', 'M'] }));
    const set = await readEmbeddings(file, { label: 'label', group: ['sex'], positive: 'yes', classes: ['no', 'yes'], groupNames: ['F', 'M'] });
    expect(Array.from(set.y)).toEqual([1, 1]);
    expect(set.groupNames).toEqual(['F', 'M', 'X']);
    expect(Array.from(set.group)).toEqual([2, 1]);
  });
});

describe('readEmbeddings from .npy with a labels CSV', () => {
  it('takes labels and groups from the CSV beside it, one row per embedding', async () => {
    writeNpy(path('emb.npy'), Float32Array.of(0, 0, 1, 10, 2, 20, 3, 30), [4, 2]);
    writeFileSync(path('emb.csv'), `file,label,sex\n${labels.map((l, i) => `img${i}.jpg,${l},${sex[i]}`).join('\n')}\n`);
    const set = await readEmbeddings(path('emb.npy'), { label: 'label', group: ['sex'], positive: 'yes' });
    expect(set.x.rows).toBe(4);
    expect(Array.from(set.y)).toEqual([1, 0, 0, 1]);
    expect(set.groupNames).toEqual(['F', 'M']);
  });

  it('refuses a labels CSV with another number of rows', async () => {
    writeNpy(path('short.npy'), Float32Array.of(0, 0, 1, 10, 2, 20), [3, 2]);
    writeFileSync(path('short-labels.csv'), 'label,sex\nyes,F\nno,M\n');
    const read = (): Promise<unknown> => readEmbeddings(path('short.npy'), { label: 'label', group: ['sex'], positive: 'yes', labelsFile: path('short-labels.csv') });
    await expect(read()).rejects.toThrow(ShapeError);
    await expect(read()).rejects.toThrow(/short-labels\.csv: 2 label rows, but .*short\.npy holds 3 embeddings/);
  });

  it('refuses a 1-D array and asks for a labels file when none is beside it', async () => {
    writeNpy(path('flat.npy'), Float32Array.of(1, 2, 3), [3]);
    await expect(readEmbeddings(path('flat.npy'), { label: 'label', group: [] })).rejects.toThrow(/\.npy shape is \(3\), expected 2-D \(rows, dim\)/);
    writeNpy(path('alone.npy'), Float32Array.of(1, 2), [1, 2]);
    await expect(readEmbeddings(path('alone.npy'), { label: 'label', group: [] })).rejects.toThrow(/alone\.csv not found, pass --labels FILE/);
  });
});

describe('readEmbeddings from CSV', () => {
  it('reads f0.. features with label and group columns', async () => {
    writeFileSync(path('e.csv'), `f0,f1,label,sex\n${labels.map((l, i) => `${i},${10 * i},${l},${sex[i]}`).join('\n')}\n`);
    const set = await readEmbeddings(path('e.csv'), { label: 'label', group: ['sex'], positive: 'yes' });
    expect(Array.from(set.x.data)).toEqual([0, 0, 1, 10, 2, 20, 3, 30]);
    expect(Array.from(set.y)).toEqual([1, 0, 0, 1]);
  });

  it('asks for --positive when the labels are two words', async () => {
    await expect(readEmbeddings(path('e.csv'), { label: 'label', group: ['sex'] })).rejects.toThrow(
      /the target has two values \("no", "yes"\); say which is the positive class with --positive/,
    );
  });

  it('refuses a group column with one value', async () => {
    writeFileSync(path('one.csv'), 'f0,label,sex\n1,0,F\n2,1,F\n');
    await expect(readEmbeddings(path('one.csv'), { label: 'label', group: ['sex'] })).rejects.toThrow(/sensitive column "sex" has only one value \("F"\)/);
  });

  it('refuses an unknown extension, listing the formats', async () => {
    writeFileSync(path('e.json'), '{}');
    await expect(readEmbeddings(path('e.json'), { label: 'label', group: [] })).rejects.toThrow(/unknown embedding format "\.json"; expected \.npy, \.csv, \.tsv, \.parquet or a folder of Parquet files/);
  });
});

describe('readEmbeddings from Parquet as pandas and pyarrow write it', () => {
  it('reads a fixed-size list column with int64 labels and ignores the pandas index', async () => {
    const file = path('fixed.parquet');
    const vectors = arrow.makeData({
      type: new arrow.FixedSizeList(2, new arrow.Field('item', new arrow.Float64(), false)),
      length: 3,
      nullCount: 0,
      child: arrow.makeData({ type: new arrow.Float64(), length: 6, data: Float64Array.of(1, 2, 3, 4, 5, 6) }),
    });
    writeTable(file, new arrow.Table({
      __index_level_0__: arrow.vectorFromArray(BigInt64Array.of(7n, 8n, 9n)),
      emb: arrow.makeVector(vectors),
      label: arrow.vectorFromArray(BigInt64Array.of(0n, 1n, 1n)),
      sex: arrow.vectorFromArray(['F', 'M', 'F']),
    }));
    const set = await readEmbeddings(file, { label: 'label', group: ['sex'] });
    expect(set.x.cols).toBe(2);
    expect(Array.from(set.x.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(set.classes).toEqual(['0', '1']);
    expect(Array.from(set.y)).toEqual([0, 1, 1]);
  });

  it('uses every numeric column but the pandas index when there are no f-columns or lists', async () => {
    const file = path('plain.parquet');
    writeTable(file, new arrow.Table({
      __index_level_0__: arrow.vectorFromArray(BigInt64Array.of(7n, 8n)),
      a: arrow.vectorFromArray(Float64Array.of(1, 3)),
      b: arrow.vectorFromArray(Int32Array.of(2, 4)),
      label: arrow.vectorFromArray(['no', 'yes']),
      sex: arrow.vectorFromArray(['F', 'M']),
    }));
    const set = await readEmbeddings(file, { label: 'label', group: ['sex'], positive: 'yes' });
    expect(Array.from(set.x.data)).toEqual([1, 2, 3, 4]);
  });
});
