/**
 * The catalogue of messy inputs: one row per case, each a tiny file (or folder) written into a fresh folder, the
 * CLI arguments run there (paths relative to that folder, which is also the working directory), and what must
 * happen.
 *
 * - `bad`: the input is wrong. fairhead must exit with code 2 and print exactly one line, `fairhead: ...`,
 *   matching `message` (which names the file, line, column or option), no stack trace, and write nothing in `out/`.
 * - `awkward`: the input is valid but unusual (BOM, CRLF, quoted commas and newlines, missing-value tokens, ...).
 *   fairhead must exit 0 and read it correctly: `check` asserts what was read.
 *
 * README.md beside this file lists the same cases for people; a test keeps the two in step.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as arrow from 'apache-arrow';
import { Table as WasmTable, writeParquet } from 'parquet-wasm';
import sharp from 'sharp';
import { expect } from 'vitest';
import { encodeNpy } from '../../src/data/npy.ts';
import { encodeModel, floatTensor, floatValueInfo, intAttr, makeMlpClassifier, makeReluRegressor, makeTinyCnnClassifier } from '../fixtures/make-onnx-model.ts';
import { QUICK_RUN, tinyCsv, tinyRow, type CliResult } from '../hardening/cli.ts';
import { makeTinyBert, textCsv, withExternalData, wordPieceTokenizerJson, writeTinyBert } from '../fixtures/make-text-model.ts';
import onnxProto from 'onnx-proto';

/** What every case's setup may use besides its own folder. */
export interface CatalogueContext {
  /** A model folder written by a real `fairhead run` on {@link tinyCsv} (mlp backbone); copy it, do not edit it. */
  readonly modelDir: string;
}

/** One catalogue row. */
export interface CatalogueCase {
  /** Short kebab-case name, also listed in README.md. */
  readonly id: string;
  readonly kind: 'bad' | 'awkward';
  /** What is odd about the input, for people. */
  readonly what: string;
  /** Write the input files into `dir` (the case's working directory). */
  readonly setup: (dir: string, ctx: CatalogueContext) => void | Promise<void>;
  /** CLI arguments; relative paths resolve in `dir`. */
  readonly args: readonly string[];
  /** Expected exit code: 2 for bad inputs, 0 for awkward ones. */
  readonly code: 0 | 2;
  /** Bad inputs: the one line of stderr must match (it includes the `fairhead: ` prefix). */
  readonly message?: RegExp;
  /**
   * Set while fairhead still gets this case wrong (the test then expects the assertion to fail, so a fix is
   * noticed): where the bug is and what it does.
   */
  readonly knownBug?: string;
  /** Awkward inputs: assert the input was read correctly. */
  readonly check?: (result: CliResult, dir: string) => void;
}

const put = (dir: string, name: string, content: string | Uint8Array): void => {
  writeFileSync(join(dir, name), content);
};

/** `tinyCsv()` with row `i` (0-based, line i + 2) replaced by `fields`. */
function withRow(i: number, fields: string, rows = 60): string {
  const lines = tinyCsv(rows).split('\n');
  lines[i + 1] = fields;
  return lines.join('\n');
}

/** `tinyCsv()` with each row mapped. */
function mapRows(f: (fields: string[], i: number) => string[], header = 'age,hours,color,sex,y', rows = 60): string {
  const lines = [header];
  for (let i = 0; i < rows; i++) lines.push(f(tinyRow(i), i).join(','));
  return `${lines.join('\n')}\n`;
}

const RUN = (extra: readonly string[] = []): string[] => ['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--out', 'out', ...QUICK_RUN, ...extra];
const RUN_EMB = (file: string, extra: readonly string[] = []): string[] => [
  'run', '--embeddings', file, '--target', 'y', '--sensitive', 'g', '--out', 'out', '--bootstrap', '0', '--quiet', ...extra,
];

/** 12 embeddings (3-d) with labels y and groups g, every (y, g) cell 3 rows. */
function embeddingRows(): { x: Float32Array; y: string[]; g: string[] } {
  const n = 12;
  const x = new Float32Array(n * 3);
  const y: string[] = [];
  const g: string[] = [];
  for (let i = 0; i < n; i++) {
    x.set([i / n, (i % 3) - 1, i % 2 === 0 ? 0.5 : -0.5], i * 3);
    y.push(String(Math.floor(i / 2) % 2));
    g.push(i % 2 === 0 ? 'a' : 'b');
  }
  return { x, y, g };
}

function labelsCsv(y: readonly string[], g: readonly string[]): string {
  return `y,g\n${y.map((v, i) => `${v},${g[i]}`).join('\n')}\n`;
}

function parquetBytes(columns: Record<string, number[] | string[]>): Uint8Array {
  const table = arrow.tableFromArrays(columns as Record<string, number[]>);
  return writeParquet(WasmTable.fromIPCStream(arrow.tableToIPC(table, 'stream')));
}

/** An image classifier over 3 x 2 x 2 inputs: Flatten (the embedding, 12 values) -> Gemm -> Softmax. */
export function rgbImageClassifier(): Uint8Array {
  const w = Array.from({ length: 24 }, (_, i) => ((i % 5) - 2) / 4);
  return encodeModel({
    name: 'rgb',
    node: [
      { name: 'flatten', opType: 'Flatten', input: ['features'], output: ['flat'], attribute: [intAttr('axis', 1)] },
      { name: 'head', opType: 'Gemm', input: ['flat', 'W_head', 'b_head'], output: ['logits'], attribute: [intAttr('transB', 1)] },
      { name: 'softmax', opType: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [intAttr('axis', 1)] },
    ],
    initializer: [floatTensor('W_head', [2, 12], w), floatTensor('b_head', [2], [0, 0])],
    input: [floatValueInfo('features', ['N', 3, 2, 2])],
    output: [floatValueInfo('probabilities', ['N', 2])],
  });
}

/** 16 small JPEGs img0.jpg .. img15.jpg and labels.csv (y, g), every (y, g) cell 4 images. */
export async function writeImages(dir: string): Promise<void> {
  mkdirSync(join(dir, 'img'), { recursive: true });
  const rows = ['file,y,g'];
  for (let i = 0; i < 16; i++) {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: (i * 37) % 256, g: (i * 91) % 256, b: (i * 53) % 256 } } }).jpeg().toBuffer();
    writeFileSync(join(dir, 'img', `img${i}.jpg`), jpeg);
    rows.push(`img${i}.jpg,${Math.floor(i / 2) % 2},${i % 2 === 0 ? 'a' : 'b'}`);
  }
  put(dir, 'labels.csv', `${rows.join('\n')}\n`);
}

/** Copy the context's model folder to `dir/model`, with the manifest passed through `edit`. */
function copyModel(dir: string, ctx: CatalogueContext, edit: (manifest: Record<string, unknown>) => unknown): void {
  mkdirSync(join(dir, 'model'));
  const manifest = JSON.parse(readFileSync(join(ctx.modelDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'model', 'backbone.json'), readFileSync(join(ctx.modelDir, 'backbone.json')));
  const edited = edit(manifest);
  writeFileSync(join(dir, 'model', 'manifest.json'), typeof edited === 'string' ? edited : JSON.stringify(edited));
}

/** An image classifier with a dynamic height and width: [N, 3, H, W] -> GlobalAveragePool -> Flatten -> Gemm -> Softmax. */
function dynamicImageClassifier(): Uint8Array {
  return encodeModel({
    name: 'dynamic',
    node: [
      { name: 'pool', opType: 'GlobalAveragePool', input: ['pixel_values'], output: ['pooled'] },
      { name: 'flatten', opType: 'Flatten', input: ['pooled'], output: ['flat'], attribute: [intAttr('axis', 1)] },
      { name: 'head', opType: 'Gemm', input: ['flat', 'W_head', 'b_head'], output: ['logits'], attribute: [intAttr('transB', 1)] },
      { name: 'softmax', opType: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [intAttr('axis', 1)] },
    ],
    initializer: [floatTensor('W_head', [2, 3], [1, -1, 0, -1, 1, 0]), floatTensor('b_head', [2], [0, 0])],
    input: [floatValueInfo('pixel_values', ['N', 3, 'height', 'width'])],
    output: [floatValueInfo('probabilities', ['N', 2])],
  });
}

/** A text CSV (`reviews.csv`) and the tiny BERT with its tokenizer in `dir/bert/`. */
function writeTextCase(dir: string, options: Parameters<typeof writeTinyBert>[1] = {}): void {
  mkdirSync(join(dir, 'bert'));
  writeTinyBert(join(dir, 'bert'), options);
  put(dir, 'reviews.csv', textCsv(40));
}

const TEXT_RUN = (extra: readonly string[] = []): string[] => [
  'run', '--data', 'reviews.csv', '--text-column', 'text', '--target', 'label', '--positive', 'pos', '--sensitive', 'group',
  '--backbone', 'onnx:bert/model.onnx', '--out', 'out', '--cache-dir', 'cache', '--bootstrap', '0', '--quiet', ...extra,
];

const IMG_RUN = (extra: readonly string[]): string[] => [
  'run', '--images', 'img', '--labels', 'labels.csv', '--target', 'y', '--sensitive', 'g', '--out', 'out', '--cache-dir', 'cache',
  '--bootstrap', '0', '--quiet', ...extra,
];

function metricsJson(r: CliResult): { rows: number; byGroup: Record<string, { count: number; accuracy: number }>; positive: string } {
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { rows: number; byGroup: Record<string, { count: number; accuracy: number }>; positive: string };
}

/** An image classifier like {@link rgbImageClassifier} on `size` x `size` images, its head weights scaled by `scale`. */
function imageModel(size: number, scale: number): Uint8Array {
  const d = 3 * size * size;
  const w = Array.from({ length: 2 * d }, (_, i) => (scale * ((i % 5) - 2)) / 4);
  return encodeModel({
    name: 'rgb',
    node: [
      { name: 'flatten', opType: 'Flatten', input: ['features'], output: ['flat'], attribute: [intAttr('axis', 1)] },
      { name: 'head', opType: 'Gemm', input: ['flat', 'W_head', 'b_head'], output: ['logits'], attribute: [intAttr('transB', 1)] },
      { name: 'softmax', opType: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [intAttr('axis', 1)] },
    ],
    initializer: [floatTensor('W_head', [2, d], w), floatTensor('b_head', [2], [0, 0])],
    input: [floatValueInfo('features', ['N', 3, size, size])],
    output: [floatValueInfo('probabilities', ['N', 2])],
  });
}

/**
 * Shard folder `emb/` (2 shards of {@link writeImages}' 16 images, embedded by a.onnx) and, when asked, shard 1 of
 * the same images embedded into `other/` by another model or with other label columns.
 */
async function writeShards(dir: string, other?: { model?: Uint8Array; labels?: (csv: string) => string }): Promise<void> {
  const { embedShard } = await import('../../src/pipeline/embed.ts');
  await writeImages(dir);
  put(dir, 'a.onnx', imageModel(2, 1));
  const quiet = { onWarning: () => {} };
  const at = (f: string): string => join(dir, f);
  for (const k of [0, 1]) await embedShard({ images: at('img'), labels: at('labels.csv'), backbone: `onnx:${at('a.onnx')}`, out: at('emb'), shard: { index: k, count: 2, from: 'flag' } }, quiet);
  if (!other) return;
  put(dir, 'b.onnx', other.model ?? imageModel(2, 1));
  put(dir, 'labels-b.csv', (other.labels ?? ((c) => c))(readFileSync(at('labels.csv'), 'utf8')));
  await embedShard({ images: at('img'), labels: at('labels-b.csv'), backbone: `onnx:${at('b.onnx')}`, out: at('other'), shard: { index: 1, count: 2, from: 'flag' } }, quiet);
}

/** Replace shard 1 of `emb/` by `other/`'s (its Parquet file, and its record unless `keepRecord`). */
function swapShard(dir: string, keepRecord: boolean): void {
  const parquet = 'shard-00001-of-00002.parquet';
  const record = 'shard-00001-of-00002.json';
  const bytes = readFileSync(join(dir, 'other', parquet));
  writeFileSync(join(dir, 'emb', parquet), bytes);
  if (!keepRecord) {
    writeFileSync(join(dir, 'emb', record), readFileSync(join(dir, 'other', record)));
    return;
  }
  // the record still says it belongs to emb/'s manifest, but describes the new bytes: only the columns give it away
  const r = JSON.parse(readFileSync(join(dir, 'emb', record), 'utf8')) as Record<string, unknown>;
  const theirs = JSON.parse(readFileSync(join(dir, 'other', record), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'emb', record), JSON.stringify({ ...r, bytes: theirs['bytes'], sha256: theirs['sha256'], rows: theirs['rows'] }));
}

const EMBED = (extra: readonly string[]): string[] => ['embed', '--images', 'img', '--labels', 'labels.csv', '--backbone', 'onnx:model.onnx', '--out', 'emb', '--quiet', ...extra];
const RUN_SHARDS = ['run', '--embeddings', 'emb', '--target', 'y', '--sensitive', 'g', '--out', 'out', '--bootstrap', '0', '--quiet'];

const METRICS = ['metrics', '--data', 'preds.csv', '--target', 'y', '--pred', 'p', '--sensitive', 'g', '--json'];

/** The catalogue. */
export const CATALOGUE: readonly CatalogueCase[] = [
  // ---- tabular CSV: files and rows -------------------------------------------------------------------------
  { id: 'csv-missing-file', kind: 'bad', what: '--data names a file that does not exist', setup: () => {}, args: RUN(), code: 2, message: /^fairhead: data\.csv: file not found$/ },
  { id: 'csv-is-a-folder', kind: 'bad', what: '--data names a folder', setup: (d) => mkdirSync(join(d, 'data.csv')), args: RUN(), code: 2, message: /^fairhead: data\.csv: is a folder, expected a CSV file$/ },
  { id: 'csv-empty', kind: 'bad', what: 'a 0-byte CSV', setup: (d) => put(d, 'data.csv', ''), args: RUN(), code: 2, message: /^fairhead: data\.csv: file is empty/ },
  { id: 'csv-header-only', kind: 'bad', what: 'a header line and no rows', setup: (d) => put(d, 'data.csv', 'age,hours,color,sex,y\n'), args: RUN(), code: 2, message: /^fairhead: data\.csv: no (data )?rows/ },
  { id: 'csv-ragged-short-row', kind: 'bad', what: 'line 5 has 4 fields, the header 5', setup: (d) => put(d, 'data.csv', withRow(3, '30,20,red,F')), args: RUN(), code: 2, message: /^fairhead: data\.csv: line 5 has 4 fields, expected 5/ },
  { id: 'csv-ragged-long-row', kind: 'bad', what: 'line 8 has 6 fields, the header 5', setup: (d) => put(d, 'data.csv', withRow(6, '30,20,red,F,1,extra')), args: RUN(), code: 2, message: /^fairhead: data\.csv: line 8 has 6 fields, expected 5/ },
  {
    id: 'csv-not-utf8', kind: 'bad', what: 'a Latin-1 byte (0xE9, "é") on line 4',
    setup: (d) => put(d, 'data.csv', Buffer.concat([Buffer.from(tinyCsv().split('\n').slice(0, 3).join('\n') + '\n'), Buffer.from('30,20,r'), Buffer.from([0xe9]), Buffer.from('d,F,1\n'), Buffer.from(tinyCsv().split('\n').slice(4).join('\n'))])),
    args: RUN(), code: 2, message: /^fairhead: data\.csv: line 4 is not valid UTF-8 \(byte \d+\)/,
  },
  { id: 'csv-unclosed-quote', kind: 'bad', what: 'a quoted field opened on line 6 and never closed', setup: (d) => put(d, 'data.csv', withRow(4, '30,20,"red,F,1')), args: RUN(), code: 2, message: /^fairhead: data\.csv: line \d+: .*[Qq]uote/ },
  { id: 'csv-empty-header-name', kind: 'bad', what: 'the header\'s second column has no name', setup: (d) => put(d, 'data.csv', tinyCsv(60, 'age,,color,sex,y')), args: RUN(), code: 2, message: /^fairhead: data\.csv: header column 2 has no name$/ },
  {
    id: 'csv-duplicate-feature-column', kind: 'bad', what: 'two columns named decile_score (as in COMPAS\'s compas-scores-two-years.csv)',
    setup: (d) => put(d, 'data.csv', mapRows((f) => [f[0] as string, f[1] as string, f[0] as string, f[3] as string, f[4] as string], 'decile_score,hours,decile_score,sex,y')),
    args: RUN(), code: 2, message: /^fairhead: data\.csv: .*"decile_score" appears 2 times in the header \(columns 1, 3\)/,
  },
  { id: 'csv-duplicate-target-column', kind: 'bad', what: 'the target column y appears twice', setup: (d) => put(d, 'data.csv', tinyCsv(60, 'age,y,color,sex,y')), args: RUN(), code: 2, message: /^fairhead: data\.csv: --target "y" appears 2 times in the header/ },
  { id: 'target-column-missing', kind: 'bad', what: '--target names no column', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--target', 'label']), code: 2, message: /^fairhead: data\.csv: --target "label" not found; columns are: age, hours, color, sex, y$/ },
  { id: 'sensitive-column-missing', kind: 'bad', what: '--sensitive names no column', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--sensitive', 'race']), code: 2, message: /^fairhead: data\.csv: --sensitive "race" not found; columns are/ },
  { id: 'target-is-sensitive', kind: 'bad', what: 'the same column as --target and --sensitive', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--sensitive', 'y']), code: 2, message: /^fairhead: data\.csv: column "y" is both --target and --sensitive$/ },

  // ---- tabular CSV: labels and groups ----------------------------------------------------------------------
  { id: 'label-three-values', kind: 'bad', what: 'the target holds 0, 1 and 2 (fairhead trains binary heads)', setup: (d) => put(d, 'data.csv', mapRows((f, i) => [...f.slice(0, 4), String(i % 3)])), args: RUN(), code: 2, message: /^fairhead: data\.csv column "y": a binary target is required but it has 3 values \("0", "1", "2"\); pass --positive VALUE/ },
  { id: 'label-one-value', kind: 'bad', what: 'every target value is 1', setup: (d) => put(d, 'data.csv', mapRows((f) => [...f.slice(0, 4), '1'])), args: RUN(), code: 2, message: /^fairhead: data\.csv column "y": the target has only one value \("1"\)/ },
  { id: 'label-two-names-no-positive', kind: 'bad', what: 'the target is yes/no and --positive is not given', setup: (d) => put(d, 'data.csv', mapRows((f) => [...f.slice(0, 4), f[4] === '1' ? 'yes' : 'no'])), args: RUN(), code: 2, message: /^fairhead: data\.csv column "y": the target has two values \("no", "yes"\); say which is the positive class with --positive/ },
  { id: 'positive-not-a-value', kind: 'bad', what: '--positive names a value the target never takes', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--positive', 'maybe']), code: 2, message: /^fairhead: data\.csv column "y": --positive "maybe" is not a value of the target; values are: "0", "1"$/ },
  { id: 'label-empty-cell', kind: 'bad', what: 'the target cell of line 6 is empty', setup: (d) => put(d, 'data.csv', withRow(4, '30,20,red,F,')), args: RUN(), code: 2, message: /^fairhead: data\.csv: line 6: target column "y" is empty$/ },
  { id: 'sensitive-one-value', kind: 'bad', what: 'every row has sex F', setup: (d) => put(d, 'data.csv', mapRows((f) => [f[0] as string, f[1] as string, f[2] as string, 'F', f[4] as string])), args: RUN(), code: 2, message: /^fairhead: data\.csv: sensitive column "sex" has only one value \("F"\)/ },
  {
    id: 'label-group-cell-empty', kind: 'bad', what: 'no F row has label 0, so M2\'s group-balanced sample has an empty (label, group) cell',
    setup: (d) => put(d, 'data.csv', mapRows((f) => (f[3] === 'F' ? [...f.slice(0, 4), '1'] : f))),
    args: RUN(), code: 2, message: /^fairhead: data\.csv: train \+ validation has no rows with label "0" in group "F"/,
  },
  { id: 'test-file-new-class', kind: 'bad', what: '--test-data holds a label value (2) training never saw', setup: (d) => { put(d, 'data.csv', tinyCsv()); put(d, 'test.csv', withRow(2, '30,20,red,F,2', 8)); }, args: RUN(['--test-data', 'test.csv']), code: 2, message: /^fairhead: test\.csv: line 4: target "2" is not a training class; classes are: "0", "1"$/ },

  // ---- options and config ----------------------------------------------------------------------------------
  { id: 'option-unknown-constraint', kind: 'bad', what: '--constraint eq (a typo of eo)', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--constraint', 'eq']), code: 2, message: /^fairhead: Unknown constraint "eq"\. Valid: eo, dp, eopp, di, ae, mmf$/ },
  { id: 'option-unknown-method', kind: 'bad', what: '--method m2p (a remedy reproduce measures, not offered)', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--method', 'm2p']), code: 2, message: /^fairhead: Unknown method "m2p"\. Valid: b1, b2, b3, m1, m2, m2w$/ },
  { id: 'option-bad-epochs', kind: 'bad', what: '--epochs 0', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--epochs', '0']), code: 2, message: /^fairhead: --epochs: expected an integer >= 1, received "0"$/ },
  { id: 'option-bad-threads', kind: 'bad', what: '--threads 0', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--threads', '0']), code: 2, message: /^fairhead: --threads: expected an integer >= 1, received "0"$/ },
  { id: 'option-bad-bootstrap', kind: 'bad', what: '--bootstrap abc', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--bootstrap', 'abc']), code: 2, message: /^fairhead: --bootstrap: expected an integer >= 0, received "abc"$/ },
  { id: 'option-bad-fraction', kind: 'bad', what: '--validation-fraction 1.5', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--validation-fraction', '1.5']), code: 2, message: /^fairhead: --validation-fraction should be in \[0, 1\), received 1\.5$/ },
  { id: 'option-unknown-backbone', kind: 'bad', what: '--backbone resnet', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--backbone', 'resnet']), code: 2, message: /^fairhead: Unknown backbone "resnet"\. Valid: mlp, cnn, onnx:FILE, face-api, embeddings$/ },
  { id: 'config-not-json', kind: 'bad', what: '--config file that is not JSON', setup: (d) => { put(d, 'data.csv', tinyCsv()); put(d, 'cfg.json', '{ epochs: 2 '); }, args: RUN(['--config', 'cfg.json']), code: 2, message: /^fairhead: --config cfg\.json: is not valid JSON$/ },
  { id: 'config-unknown-key', kind: 'bad', what: '--config with a misspelt key "epoch"', setup: (d) => { put(d, 'data.csv', tinyCsv()); put(d, 'cfg.json', '{ "epoch": 2 }'); }, args: RUN(['--config', 'cfg.json']), code: 2, message: /^fairhead: --config cfg\.json: unknown key "epoch"\. Valid: .*epochs/ },

  // ---- output folder ---------------------------------------------------------------------------------------
  { id: 'out-is-a-file', kind: 'bad', what: '--out names an existing file', setup: (d) => { put(d, 'data.csv', tinyCsv()); put(d, 'taken', 'x'); }, args: [...RUN(), '--out', 'taken'], code: 2, message: /^fairhead: --out taken: is a file; expected an output folder/ },
  { id: 'out-under-a-file', kind: 'bad', what: '--out is a folder inside a regular file (not writable)', setup: (d) => { put(d, 'data.csv', tinyCsv()); put(d, 'taken', 'x'); }, args: [...RUN(), '--out', 'taken/out'], code: 2, message: /^fairhead: --out taken\/out: .*taken is a file, so no folder can be made inside it/ },

  // ---- embeddings: .npy, CSV, Parquet ----------------------------------------------------------------------
  {
    id: 'npy-truncated', kind: 'bad', what: 'an .npy file cut off in its data section',
    setup: (d) => { const e = embeddingRows(); put(d, 'emb.npy', encodeNpy(e.x, [12, 3]).slice(0, 128 + 40)); put(d, 'emb.csv', labelsCsv(e.y, e.g)); },
    args: RUN_EMB('emb.npy'), code: 2, message: /^fairhead: emb\.npy: \.npy shape \(12, 3\) of float32 needs 144 data bytes, the file holds 40 \(truncated file\?\)$/,
  },
  { id: 'npy-not-npy', kind: 'bad', what: 'a .npy file that is really a CSV', setup: (d) => { put(d, 'emb.npy', 'f0,f1\n1,2\n'); put(d, 'emb.csv', 'y,g\n0,a\n'); }, args: RUN_EMB('emb.npy'), code: 2, message: /^fairhead: emb\.npy: not a NumPy \.npy file/ },
  {
    id: 'npy-nan', kind: 'bad', what: 'an .npy embedding holding NaN (row 2, feature 1)',
    setup: (d) => { const e = embeddingRows(); e.x[4] = Number.NaN; put(d, 'emb.npy', encodeNpy(e.x, [12, 3])); put(d, 'emb.csv', labelsCsv(e.y, e.g)); },
    args: RUN_EMB('emb.npy'), code: 2, message: /^fairhead: emb\.npy: row 2, feature 1: not a finite number \(NaN\)/,
  },
  {
    id: 'npy-labels-row-count', kind: 'bad', what: 'the labels CSV of an .npy file has one row too few',
    setup: (d) => { const e = embeddingRows(); put(d, 'emb.npy', encodeNpy(e.x, [12, 3])); put(d, 'emb.csv', labelsCsv(e.y.slice(1), e.g.slice(1))); },
    args: RUN_EMB('emb.npy'), code: 2, message: /^fairhead: emb\.csv: 11 label rows, but emb\.npy holds 12 embeddings/,
  },
  {
    id: 'npy-labels-elsewhere', kind: 'awkward', what: 'an .npy file whose labels CSV has another name, given with --labels',
    setup: (d) => { const e = embeddingRows(); put(d, 'emb.npy', encodeNpy(e.x, [12, 3])); put(d, 'meta.csv', labelsCsv(e.y, e.g)); },
    args: RUN_EMB('emb.npy', ['--labels', 'meta.csv', '--method', 'b1', '--json']), code: 0,
    check: (r) => {
      const m = JSON.parse(r.stdout) as { runs: { splits: { train: { rows?: number } } }[] };
      expect(m.runs.length).toBe(1);
    },
  },
  {
    id: 'parquet-missing-columns', kind: 'bad', what: 'a Parquet file without the named label and group columns',
    setup: (d) => { const e = embeddingRows(); put(d, 'emb.parquet', parquetBytes({ f0: Array.from(e.x.filter((_, i) => i % 3 === 0)), label: e.y })); },
    args: RUN_EMB('emb.parquet'), code: 2, message: /^fairhead: emb\.parquet: missing columns "y", "g"; columns are: f0, label$/,
  },
  { id: 'parquet-corrupt', kind: 'bad', what: 'a .parquet file holding garbage between the PAR1 magic bytes', setup: (d) => put(d, 'emb.parquet', 'PAR1 this is not parquet PAR1'), args: RUN_EMB('emb.parquet'), code: 2, message: /^fairhead: emb\.parquet: .*(Parquet|parquet)/ },
  { id: 'emb-csv-nan', kind: 'bad', what: 'an embedding CSV with NaN in column f1, line 3', setup: (d) => put(d, 'emb.csv', 'f0,f1,y,g\n0.1,0.2,0,a\n0.3,NaN,1,b\n0.5,0.6,0,b\n'), args: RUN_EMB('emb.csv'), code: 2, message: /^fairhead: emb\.csv: line 3.*"f1"/ },
  { id: 'emb-csv-empty-cell', kind: 'bad', what: 'an embedding CSV with an empty feature cell', setup: (d) => put(d, 'emb.csv', 'f0,f1,y,g\n0.1,0.2,0,a\n0.3,,1,b\n0.5,0.6,0,b\n'), args: RUN_EMB('emb.csv'), code: 2, message: /^fairhead: emb\.csv: line 3.*"f1"/ },
  { id: 'emb-unknown-format', kind: 'bad', what: 'embeddings in an .h5 file', setup: (d) => put(d, 'emb.h5', 'HDF'), args: RUN_EMB('emb.h5'), code: 2, message: /^fairhead: emb\.h5: unknown embedding format "\.h5"; expected \.npy, \.csv/ },

  // ---- ONNX backbones --------------------------------------------------------------------------------------
  {
    id: 'onnx-wrong-input-width', kind: 'bad', what: 'an ONNX model taking 2 features for a CSV with 3 numeric feature columns',
    setup: (d) => { put(d, 'data.csv', mapRows((f) => [f[0] as string, f[1] as string, String(f[2] === 'red' ? 1 : 0), f[3] as string, f[4] as string], 'age,hours,red,sex,y')); put(d, 'model.onnx', makeMlpClassifier({ hidden: [{ weights: [[1, 0], [0, 1]], bias: [0, 0] }], head: { weights: [[1, -1], [-1, 1]], bias: [0, 0] }, activation: 'softmax' })); },
    args: RUN(['--backbone', 'onnx:model.onnx']), code: 2, message: /^fairhead: model\.onnx: the model takes 2 input features, but data\.csv has 3 feature columns \(age, hours, red\)/,
  },
  { id: 'onnx-image-input-shape', kind: 'bad', what: 'an ONNX image model with a 1-channel input [N, 1, 2, 2]', setup: async (d) => { await writeImages(d); put(d, 'model.onnx', makeTinyCnnClassifier(1, { weights: [[1, 0, 0, 0], [0, 1, 0, 0]], bias: [0, 0] })); }, args: IMG_RUN(['--backbone', 'onnx:model.onnx']), code: 2, message: /^fairhead: model\.onnx: an image model needs a 3-channel input \[N, 3, H, W\] or \[N, H, W, 3\], the model's input "features" is \[N, 1, 2, 2\]$/ },
  {
    id: 'onnx-image-dynamic-size', kind: 'bad', what: 'an ONNX image model with a dynamic height and width, and no preprocessor_config.json, --preprocess or --input-size',
    setup: async (d) => { await writeImages(d); put(d, 'model.onnx', dynamicImageClassifier()); }, args: IMG_RUN(['--backbone', 'onnx:model.onnx']), code: 2,
    message: /^fairhead: model\.onnx: model input "pixel_values" \[N, 3, height, width\] has a dynamic height and width, and no size comes from .*; expected e\.g\. --input-size 3x224x224/,
  },
  {
    id: 'preprocess-wrong-type', kind: 'bad', what: 'a preprocessor_config.json beside the model whose image_mean is the string "0.5"',
    setup: async (d) => { await writeImages(d); put(d, 'model.onnx', rgbImageClassifier()); put(d, 'preprocessor_config.json', JSON.stringify({ size: { height: 2, width: 2 }, image_mean: '0.5', image_std: [0.5, 0.5, 0.5] })); },
    args: IMG_RUN(['--backbone', 'onnx:model.onnx']), code: 2, message: /^fairhead: preprocessor_config\.json: "image_mean" should be a number or a list of 3 numbers, received "0\.5"$/,
  },
  {
    id: 'preprocess-size-mismatch', kind: 'bad', what: '--crop 3 for a model whose input is fixed at 2 x 2',
    setup: async (d) => { await writeImages(d); put(d, 'model.onnx', rgbImageClassifier()); }, args: IMG_RUN(['--backbone', 'onnx:model.onnx', '--image-size', '4', '--crop', '3']), code: 2,
    message: /^fairhead: model\.onnx: the preprocessing makes 3x3 images, the model's input "features" \[N, 3, 2, 2\] takes 2x2/,
  },
  { id: 'option-bad-image-mean', kind: 'bad', what: '--image-mean with two numbers', setup: async (d) => { await writeImages(d); put(d, 'model.onnx', rgbImageClassifier()); }, args: IMG_RUN(['--backbone', 'onnx:model.onnx', '--image-mean', '0.5,0.5']), code: 2, message: /^fairhead: --image-mean: expected 3 comma-separated numbers, one per channel/ },
  { id: 'option-bad-input-size', kind: 'bad', what: '--input-size 48x192 (no channels)', setup: async (d) => { await writeImages(d); put(d, 'model.onnx', dynamicImageClassifier()); }, args: IMG_RUN(['--backbone', 'onnx:model.onnx', '--input-size', '48x192']), code: 2, message: /^fairhead: --input-size: expected channels x height x width, e\.g\. 3x224x224, received "48x192"$/ },

  // ---- text models -----------------------------------------------------------------------------------------
  { id: 'tokenizer-not-json', kind: 'bad', what: 'a tokenizer.json cut off in the middle', setup: (d) => { writeTextCase(d); put(d, 'bert/tokenizer.json', JSON.stringify(wordPieceTokenizerJson()).slice(0, 200)); }, args: TEXT_RUN(), code: 2, message: /^fairhead: bert\/tokenizer\.json: not valid JSON \(.*\); expected a Hugging Face tokenizer\.json$/ },
  { id: 'tokenizer-not-a-tokenizer', kind: 'bad', what: 'a tokenizer.json whose model type is unknown', setup: (d) => { writeTextCase(d); put(d, 'bert/tokenizer.json', JSON.stringify({ ...wordPieceTokenizerJson(), model: { type: 'Telepathy' } })); }, args: TEXT_RUN(), code: 2, message: /^fairhead: bert\/tokenizer\.json: not a tokenizer Hugging Face tokenizers can read \(.+\); expected a tokenizer\.json saved by tokenizer\.save_pretrained\(\)$/ },
  { id: 'tokenizer-missing', kind: 'bad', what: 'a text model without a tokenizer.json beside it and no --tokenizer', setup: (d) => { writeTextCase(d); rmSync(join(d, 'bert', 'tokenizer.json')); }, args: TEXT_RUN(), code: 2, message: /^fairhead: bert\/model\.onnx: a text model needs its tokenizer: no tokenizer\.json beside the model; give --tokenizer FILE$/ },
  {
    id: 'tokenizer-vocab-too-large', kind: 'bad', what: 'a tokenizer of 30 token ids for a model whose embedding table has 20 rows',
    setup: (d) => writeTextCase(d, { vocabRows: 20 }), args: TEXT_RUN(), code: 2,
    message: /^fairhead: bert\/tokenizer\.json: the tokenizer has 30 token ids, the model's embedding table \(fed by "input_ids"\) has 20 rows; expected the tokenizer\.json saved with this model$/,
  },
  {
    id: 'text-empty-cell', kind: 'bad', what: 'the text column of line 7 is empty',
    setup: (d) => { writeTextCase(d); const lines = textCsv(40).split('\n'); lines[6] = ',pos,a'; put(d, 'reviews.csv', lines.join('\n')); }, args: TEXT_RUN(), code: 2,
    message: /^fairhead: reviews\.csv: line 7: column "text" is empty; expected a text in every row$/,
  },
  { id: 'text-column-missing', kind: 'bad', what: '--text-column names no column', setup: (d) => writeTextCase(d), args: TEXT_RUN(['--text-column', 'review']), code: 2, message: /^fairhead: reviews\.csv: --text-column "review" not found; columns are: text, label, group$/ },
  {
    id: 'text-model-unknown-input', kind: 'bad', what: 'a text model with a fourth input "pixel_mask" fairhead cannot feed from text',
    setup: (d) => {
      writeTextCase(d);
      const m = makeTinyBert();
      m.graph?.input?.push({ name: 'pixel_mask', type: { tensorType: { elemType: onnxProto.onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 4 }] } } } });
      put(d, 'bert/model.onnx', onnxProto.onnx.ModelProto.encode(m).finish());
    },
    args: TEXT_RUN(), code: 2,
    message: /^fairhead: bert\/model\.onnx: cannot tell what to feed "pixel_mask" from text: the model's inputs are "input_ids" int64 \[batch, sequence\], "attention_mask" int64 \[batch, sequence\], "token_type_ids" int64 \[batch, sequence\], "pixel_mask" float32 \[batch, 4\]; expected int64/,
  },
  { id: 'text-model-without-text-column', kind: 'bad', what: 'a text model run on --data without --text-column', setup: (d) => writeTextCase(d), args: TEXT_RUN().filter((a, i, all) => a !== '--text-column' && all[i - 1] !== '--text-column'), code: 2, message: /^fairhead: bert\/model\.onnx: the model has 3 inputs \("input_ids" int64 \[batch, sequence\], .*\); expected exactly one feature input \(a text model needs --text-column\)$/ },

  // ---- external data ---------------------------------------------------------------------------------------
  { id: 'onnx-external-data-missing', kind: 'bad', what: 'a model saved with external data whose model.onnx_data was not copied along', setup: (d) => { writeTextCase(d, { external: true }); rmSync(join(d, 'bert', 'model.onnx_data')); }, args: TEXT_RUN(), code: 2, message: /^fairhead: bert\/model\.onnx: tensor "word_embeddings" is stored in "model\.onnx_data", which is missing beside the model; expected the model's external data file\(s\) in its folder$/ },
  {
    id: 'onnx-external-data-escapes', kind: 'bad', what: 'a model whose external data location is ../secret.bin',
    setup: (d) => { writeTextCase(d); put(d, 'secret.bin', new Uint8Array(4096)); put(d, 'bert/model.onnx', withExternalData(makeTinyBert(), d, 'secret.bin').slice()); const m = onnxProto.onnx.ModelProto.decode(readFileSync(join(d, 'bert', 'model.onnx'))); for (const t of m.graph?.initializer ?? []) for (const e of t.externalData ?? []) if (e.key === 'location') e.value = '../secret.bin'; put(d, 'bert/model.onnx', onnxProto.onnx.ModelProto.encode(m).finish()); },
    args: TEXT_RUN(), code: 2, message: /^fairhead: bert\/model\.onnx: tensor "word_embeddings" names external data "\.\.\/secret\.bin"; expected a file name relative to the model's folder \(no absolute path, no "\.\."\)$/,
  },
  { id: 'onnx-corrupt', kind: 'bad', what: 'a .onnx file holding random bytes', setup: (d) => { put(d, 'data.csv', tinyCsv()); put(d, 'model.onnx', Uint8Array.from({ length: 64 }, (_, i) => (i * 97 + 13) % 256)); }, args: RUN(['--backbone', 'onnx:model.onnx']), code: 2, message: /^fairhead: model\.onnx: not a valid ONNX model/ },
  { id: 'onnx-missing', kind: 'bad', what: '--backbone onnx: names no file', setup: (d) => put(d, 'data.csv', tinyCsv()), args: RUN(['--backbone', 'onnx:nope.onnx']), code: 2, message: /^fairhead: nope\.onnx: cannot read the ONNX model \(ENOENT\)/ },
  { id: 'onnx-not-a-classifier', kind: 'bad', what: 'an ONNX model without a final linear layer (Gemm then Relu)', setup: (d) => { put(d, 'data.csv', mapRows((f) => [f[0] as string, f[1] as string, String(f[2] === 'red' ? 1 : 0), f[3] as string, f[4] as string], 'age,hours,red,sex,y')); put(d, 'model.onnx', makeReluRegressor()); }, args: RUN(['--backbone', 'onnx:model.onnx']), code: 2, message: /^fairhead: model\.onnx: / },

  // ---- images ----------------------------------------------------------------------------------------------
  {
    id: 'jpeg-corrupt-strict', kind: 'bad', what: 'a truncated JPEG with --strict',
    setup: async (d) => { await writeImages(d); put(d, 'model.onnx', rgbImageClassifier()); const f = join(d, 'img', 'img5.jpg'); writeFileSync(f, readFileSync(f).subarray(0, 40)); },
    args: IMG_RUN(['--backbone', 'onnx:model.onnx', '--strict']), code: 2, message: /^fairhead: .*img5\.jpg/,
  },
  {
    id: 'jpeg-corrupt-skipped', kind: 'awkward', what: 'a truncated JPEG without --strict: skipped with a warning naming it',
    setup: async (d) => { await writeImages(d); put(d, 'model.onnx', rgbImageClassifier()); const f = join(d, 'img', 'img5.jpg'); writeFileSync(f, readFileSync(f).subarray(0, 40)); },
    args: [...IMG_RUN(['--backbone', 'onnx:model.onnx', '--method', 'b1']).filter((a) => a !== '--quiet')], code: 0,
    check: (r, d) => {
      expect(r.stderr).toMatch(/warning: .*img5\.jpg/);
      const m = JSON.parse(readFileSync(join(d, 'out', 'metrics.json'), 'utf8')) as { runs: unknown[] };
      expect(m.runs.length).toBeGreaterThan(0);
    },
  },
  { id: 'images-file-missing', kind: 'bad', what: 'labels.csv names an image that is not in the folder', setup: async (d) => { await writeImages(d); put(d, 'labels.csv', `${readFileSync(join(d, 'labels.csv'), 'utf8')}ghost.jpg,1,a\n`); }, args: IMG_RUN([]), code: 2, message: /^fairhead: labels\.csv: 1 of 17 images named in column "file" are missing from img: ghost\.jpg \(line 18\)$/ },
  { id: 'images-folder-missing', kind: 'bad', what: '--images names no folder', setup: (d) => put(d, 'labels.csv', 'file,y,g\na.jpg,0,a\n'), args: IMG_RUN([]), code: 2, message: /^fairhead: img: image folder not found \(--images\)$/ },
  { id: 'image-path-escapes', kind: 'bad', what: 'labels.csv names ../data.csv as an image', setup: async (d) => { await writeImages(d); put(d, 'labels.csv', 'file,y,g\n../labels.csv,0,a\n'); }, args: IMG_RUN([]), code: 2, message: /^fairhead: labels\.csv: line 2: image "\.\.\/labels\.csv" must be a path inside img/ },

  // ---- model folders and predict ---------------------------------------------------------------------------
  { id: 'model-missing', kind: 'bad', what: 'predict --model names nothing', setup: (d) => put(d, 'new.csv', tinyCsv(4)), args: ['predict', '--model', 'nope', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: nope: model not found/ },
  { id: 'model-newer-version', kind: 'bad', what: 'a manifest of format version 2 (from a newer fairhead)', setup: (d, c) => { copyModel(d, c, (m) => ({ ...m, version: 2 })); put(d, 'new.csv', tinyCsv(4)); }, args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: .*manifest\.json: model format version 2 is newer than this fairhead reads \(1\); upgrade fairhead$/ },
  { id: 'model-manifest-not-json', kind: 'bad', what: 'a manifest.json cut in half', setup: (d, c) => { copyModel(d, c, (m) => JSON.stringify(m).slice(0, 100)); put(d, 'new.csv', tinyCsv(4)); }, args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: .*model\/manifest\.json: is not valid JSON$/ },
  { id: 'model-head-shape', kind: 'bad', what: 'a manifest whose head weights are one short', setup: (d, c) => { copyModel(d, c, (m) => { const h = m['head'] as { weights: number[] }; return { ...m, head: { ...h, weights: h.weights.slice(1) } }; }); put(d, 'new.csv', tinyCsv(4)); }, args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: .*manifest\.json \(head\)/,
  },
  { id: 'model-backbone-outside', kind: 'bad', what: 'a manifest whose backbone file is ../../secret.json', setup: (d, c) => { copyModel(d, c, (m) => ({ ...m, backbone: { ...(m['backbone'] as object), file: '../../secret.json' } })); put(d, 'new.csv', tinyCsv(4)); }, args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: .*manifest\.json: backbone file must be inside the model folder$/ },
  {
    id: 'model-backbone-sibling', kind: 'bad', what: 'a manifest whose backbone file is ../model-evil/backbone.json (a sibling folder whose name starts like the model folder\'s)',
    setup: (d, c) => { copyModel(d, c, (m) => ({ ...m, backbone: { ...(m['backbone'] as object), file: '../model-evil/backbone.json' } })); mkdirSync(join(d, 'model-evil')); writeFileSync(join(d, 'model-evil', 'backbone.json'), readFileSync(join(c.modelDir, 'backbone.json'))); put(d, 'new.csv', tinyCsv(4)); },
    args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: .*manifest\.json: backbone file must be inside the model folder$/,
  },
  {
    id: 'model-head-not-numbers', kind: 'bad', what: 'a manifest whose head weights are strings (one a JavaScript expression)',
    setup: (d, c) => { copyModel(d, c, (m) => { const h = m['head'] as { weights: unknown[] }; return { ...m, head: { ...h, weights: h.weights.map((_, i) => (i === 0 ? "require('fs').writeFileSync('pwned', '')" : 'x')) } }; }); put(d, 'new.csv', tinyCsv(4)); },
    args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: .*manifest\.json \(head\).*weights/,
  },
  { id: 'predict-missing-feature', kind: 'bad', what: 'predict on rows without the hours column', setup: (d, c) => { copyModel(d, c, (m) => m); put(d, 'new.csv', 'age,color\n30,red\n'); }, args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: new\.csv: feature column "hours" not found; columns are: age, color$/ },
  { id: 'predict-text-in-number', kind: 'bad', what: 'predict on a row whose hours cell is "lots"', setup: (d, c) => { copyModel(d, c, (m) => m); put(d, 'new.csv', 'age,hours,color\n30,20,red\n31,lots,blue\n'); }, args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'out/p.csv'], code: 2, message: /^fairhead: new\.csv: line 3: column "hours" should be a number \(it was numeric in training\), received "lots"$/ },
  { id: 'predict-out-not-writable', kind: 'bad', what: 'predict --out inside a regular file', setup: (d, c) => { copyModel(d, c, (m) => m); put(d, 'new.csv', tinyCsv(4)); put(d, 'taken', 'x'); }, args: ['predict', '--model', 'model', '--data', 'new.csv', '--out', 'taken/p.csv'], code: 2, message: /^fairhead: taken\/p\.csv: cannot write \((ENOTDIR|EEXIST)\)/ },

  // ---- metrics on a predictions CSV ------------------------------------------------------------------------
  { id: 'metrics-pred-missing', kind: 'bad', what: 'metrics --pred names no column', setup: (d) => put(d, 'preds.csv', 'y,guess,g\n0,0,a\n1,1,b\n'), args: METRICS, code: 2, message: /^fairhead: preds\.csv: .*"p" not found; columns are: y, guess, g$/ },
  { id: 'metrics-score-not-number', kind: 'bad', what: 'metrics --score column holding "high" on line 3', setup: (d) => put(d, 'preds.csv', 'y,p,s,g\n0,0,0.1,a\n1,1,high,b\n'), args: [...METRICS, '--score', 's'], code: 2, message: /^fairhead: preds\.csv: row 2 \(line 3\), column "s" \(--score\): "high" is not a number$/ },

  // ---- reproduce: the UTKFace faces are the user's to pass -----------------------------------------------
  { id: 'reproduce-no-utkface', kind: 'bad', what: 'reproduce a UTKFace experiment without --utkface', setup: () => {}, args: ['reproduce', '--experiment', 'utkface-gender-race', '--quick', '--out', 'out', '--cache-dir', 'out/cache'], code: 2, message: /^fairhead: --utkface: experiment utkface-gender-race needs the UTKFace faces; pass --utkface DIR, a folder of UTKFace \(https:\/\/susanqq\.github\.io\/UTKFace\/.*\)$/ },
  { id: 'reproduce-utkface-no-faces', kind: 'bad', what: 'reproduce --utkface naming a folder with neither labels.csv nor UTKFace-named images', setup: (d) => { mkdirSync(join(d, 'faces')); put(join(d, 'faces'), 'photo.jpg', 'x'); }, args: ['reproduce', '--experiment', 'all', '--quick', '--utkface', 'faces', '--out', 'out', '--cache-dir', 'out/cache'], code: 2, message: /^fairhead: --utkface faces: expected images\/ and labels\.csv, or UTKFace's own files named \{age\}_\{gender\}_\{race\}_\{date\}\.jpg/ },

  // ---- awkward but valid: read correctly -------------------------------------------------------------------
  {
    id: 'csv-bom', kind: 'awkward', what: 'a UTF-8 byte order mark before the header (Excel\'s "CSV UTF-8")',
    setup: (d) => put(d, 'preds.csv', '\uFEFFy,p,g\n1,1,a\n0,1,a\n1,1,b\n'), args: METRICS, code: 0,
    check: (r) => {
      const m = metricsJson(r);
      expect(m.rows).toBe(3);
      expect(m.byGroup['a']?.accuracy).toBe(0.5);
    },
  },
  {
    id: 'csv-crlf', kind: 'awkward', what: 'Windows line ends (CRLF) and a final CRLF',
    setup: (d) => put(d, 'preds.csv', 'y,p,g\r\n1,1,a\r\n0,1,a\r\n1,1,b\r\n'), args: METRICS, code: 0,
    check: (r) => {
      const m = metricsJson(r);
      expect(Object.keys(m.byGroup)).toEqual(['a', 'b']); // no "b\r"
      expect(m.byGroup['b']?.count).toBe(1);
    },
  },
  {
    id: 'csv-quoted-comma-newline', kind: 'awkward', what: 'group names with a quoted comma, a doubled quote and a newline',
    setup: (d) => put(d, 'preds.csv', 'y,p,g\n1,1,"Doe, Jane"\n0,1,"say ""hi"""\n1,0,"two\nlines"\n0,0,"Doe, Jane"\n'), args: METRICS, code: 0,
    check: (r) => {
      const m = metricsJson(r);
      expect(m.rows).toBe(4);
      expect(Object.keys(m.byGroup).sort()).toEqual(['Doe, Jane', 'say "hi"', 'two\nlines']);
      expect(m.byGroup['Doe, Jane']?.count).toBe(2);
    },
  },
  {
    id: 'csv-semicolon-padded', kind: 'awkward', what: 'semicolons as delimiters and ", "-style padding (as UCI files)',
    setup: (d) => put(d, 'preds.csv', 'y ; p ; g\n1 ; 1 ; a\n0 ; 0 ; b\n1 ; 0 ; b\n'), args: METRICS, code: 0,
    check: (r) => {
      const m = metricsJson(r);
      expect(m.byGroup['b']).toMatchObject({ count: 2, accuracy: 0.5 });
    },
  },
  // ---- embedding shards (fairhead embed, fairhead run --embeddings DIR) ------------------------------------
  { id: 'shard-k-not-below-n', kind: 'bad', what: 'embed --shard 5/4 (shards are numbered 0 to 3)', setup: async (d) => { await writeImages(d); put(d, 'model.onnx', imageModel(2, 1)); }, args: EMBED(['--shard', '5/4']), code: 2, message: /^fairhead: --shard 5\/4: K must be below N \(shards are numbered 0 to N-1: 0\/4 \.\. 3\/4\)$/ },
  { id: 'shard-auto-outside-scheduler', kind: 'bad', what: 'embed --shard auto outside a Slurm array or Kubernetes Indexed Job', setup: async (d) => { await writeImages(d); put(d, 'model.onnx', imageModel(2, 1)); }, args: EMBED(['--shard', 'auto']), code: 2, message: /^fairhead: --shard auto: not inside a Slurm array task \(SLURM_ARRAY_TASK_ID\) nor a Kubernetes Indexed Job \(JOB_COMPLETION_INDEX\); give --shard K\/N$/ },
  { id: 'embed-into-other-embeddings', kind: 'bad', what: 'embed --out a folder holding shards of another backbone', setup: async (d) => { await writeShards(d); put(d, 'model.onnx', imageModel(2, 3)); }, args: EMBED(['--shard', '1/2']), code: 2, message: /^fairhead: --out emb holds shards of other embeddings \(backbone onnx:model\.onnx \(sha256:[0-9a-f]+, node flat\) vs onnx:.*a\.onnx/ },
  { id: 'shards-missing', kind: 'bad', what: 'a shard folder whose shard 1 of 2 is missing', setup: async (d) => { await writeShards(d); rmSync(join(d, 'emb', 'shard-00001-of-00002.parquet')); }, args: RUN_SHARDS, code: 2, message: /^fairhead: emb: 1 of 2 shards missing: shard-00001-of-00002\.parquet; run fairhead embed again with --shard 1\/2: finished shards are skipped$/ },
  { id: 'shards-other-backbone', kind: 'bad', what: 'shard 1 embedded by another ONNX model than shard 0', setup: async (d) => { await writeShards(d, { model: imageModel(2, 3) }); swapShard(d, false); }, args: RUN_SHARDS, code: 2, message: /^fairhead: emb\/shard-00001-of-00002\.parquet: embedded differently from the other shards \(backbone onnx:.*b\.onnx \(sha256:[0-9a-f]+, node flat\) vs onnx:.*a\.onnx/ },
  { id: 'shards-other-preprocessing', kind: 'bad', what: 'shard 1 embedded from 4 x 4 images, shard 0 from 2 x 2', setup: async (d) => { await writeShards(d, { model: imageModel(4, 1) }); swapShard(d, false); }, args: RUN_SHARDS, code: 2, message: /^fairhead: emb\/shard-00001-of-00002\.parquet: embedded differently .*preprocessing \(preprocessing\.resize\.height 4 vs 2, preprocessing\.resize\.width 4 vs 2, size 4 vs 2\)/ },
  { id: 'shards-other-columns', kind: 'bad', what: 'shard 1 has a column more than the manifest lists (its record patched to match its bytes)', setup: async (d) => { await writeShards(d, { labels: (c) => `${c.trimEnd().split('\n').map((line, i) => `${line},${i === 0 ? 'extra' : 'x'}`).join('\n')}\n` }); swapShard(d, true); }, args: RUN_SHARDS, code: 2, message: /^fairhead: emb\/shard-00001-of-00002\.parquet: columns file, y, g, extra, embedding; the manifest's are file, y, g, embedding$/ },
  { id: 'shards-truncated', kind: 'bad', what: 'a shard Parquet file cut short', setup: async (d) => { await writeShards(d); const f = join(d, 'emb', 'shard-00001-of-00002.parquet'); writeFileSync(f, readFileSync(f).subarray(0, 200)); }, args: RUN_SHARDS, code: 2, message: /^fairhead: emb\/shard-00001-of-00002\.parquet: 200 bytes, its record shard-00001-of-00002\.json says \d+ \(cut short\); run fairhead embed again with --shard 1\/2$/ },
  {
    id: 'csv-blank-lines', kind: 'awkward', what: 'blank lines between rows and at the end',
    setup: (d) => put(d, 'preds.csv', 'y,p,g\n\n1,1,a\n\n0,0,b\n\n\n'), args: METRICS, code: 0,
    check: (r) => expect(metricsJson(r).rows).toBe(2),
  },
  {
    id: 'csv-missing-tokens', kind: 'awkward', what: 'numeric cells NaN, inf, -Infinity, ? and empty: imputed with the mean and flagged',
    setup: (d) => put(d, 'data.csv', mapRows((f, i) => (i % 10 === 3 ? [['NaN', 'inf', '-Infinity', '?', ''][i % 5] as string, ...f.slice(1)] : f))),
    args: RUN(['--method', 'b1']), code: 0,
    check: (_r, d) => {
      const m = JSON.parse(readFileSync(join(d, 'out', 'model', 'manifest.json'), 'utf8')) as { input: { encoding: { features: { column: string; kind: string; missingIndicator?: boolean }[] } } };
      expect(m.input.encoding.features[0]).toMatchObject({ column: 'age', kind: 'numeric', missingIndicator: true });
    },
  },
  {
    id: 'csv-bom-crlf-run', kind: 'awkward', what: 'a BOM, CRLF line ends and a quoted category with a comma, through `fairhead run`',
    setup: (d) => put(d, 'data.csv', `\uFEFF${mapRows((f) => [f[0] as string, f[1] as string, f[2] === 'red' ? '"red, dark"' : f[2] as string, f[3] as string, f[4] as string]).replace(/\n/g, '\r\n')}`),
    args: RUN(['--method', 'b1']), code: 0,
    check: (_r, d) => {
      const m = JSON.parse(readFileSync(join(d, 'out', 'model', 'manifest.json'), 'utf8')) as { input: { encoding: { featureNames: string[]; groupNames: string[] } } };
      expect(m.input.encoding.featureNames).toEqual(['age', 'hours', 'color=blue', 'color=red, dark']);
      expect(m.input.encoding.groupNames).toEqual(['F', 'M']);
    },
  },
];
