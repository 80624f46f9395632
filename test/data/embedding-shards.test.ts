import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { wasmMemory } from 'parquet-wasm';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkShardFolder,
  describeManifestDifference,
  parseShardOption,
  shardRange,
  writeShardFile,
  type ShardRecord,
  type ShardsManifest,
} from '../../src/data/embedding-shards.ts';
import { defaultImagePreprocessing } from '../../src/data/image-preprocessing.ts';
import { writeNpy } from '../../src/data/npy.ts';
import { readParquetEmbeddings } from '../../src/data/parquet.ts';
import { embedShard } from '../../src/pipeline/embed.ts';
import { finetuneAndEvaluate } from '../../src/pipeline/finetune.ts';
import { prepareData } from '../../src/pipeline/prepare.ts';
import { readCsvTable } from '../../src/data/csv-table.ts';
import { encodeFeatures, tabularEncodingFromJSON } from '../../src/data/tabular.ts';
import { loadModelBundle } from '../../src/export/model-bundle.ts';
import { predictWithModel } from '../../src/pipeline/predict.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { encodeModel, floatTensor, floatValueInfo, intAttr, makeMlpClassifier } from '../fixtures/make-onnx-model.ts';
import { tinyCsv, tinyRow } from '../hardening/cli.ts';
import { textCsv, writeTinyBert } from '../fixtures/make-text-model.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'fairhead-shards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * An ONNX image model whose embedding is the image itself: [N, 3, 4, 4] -> Flatten (48 values) -> Gemm -> Softmax
 * (`bias`: the first logit's, another model with the same embedding).
 */
function pixelModel(bias = 0): Uint8Array {
  const w = Array.from({ length: 96 }, (_, i) => ((i % 7) - 3) / 8);
  return encodeModel({
    name: 'pixels',
    node: [
      { name: 'flatten', opType: 'Flatten', input: ['features'], output: ['flat'], attribute: [intAttr('axis', 1)] },
      { name: 'head', opType: 'Gemm', input: ['flat', 'W_head', 'b_head'], output: ['logits'], attribute: [intAttr('transB', 1)] },
      { name: 'softmax', opType: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [intAttr('axis', 1)] },
    ],
    initializer: [floatTensor('W_head', [2, 48], w), floatTensor('b_head', [2], [bias, 0])],
    input: [floatValueInfo('features', ['N', 3, 4, 4])],
    output: [floatValueInfo('probabilities', ['N', 2])],
  });
}

/** Colour of image i: red says y, green says g, blue varies; every (y, g) cell has 10 of the 40 images. */
function colour(i: number): { r: number; g: number; b: number; y: number; group: string } {
  const y = i % 2;
  const group = Math.floor(i / 2) % 2 === 0 ? 'a' : 'b';
  const noise = (i * 37) % 90;
  return { r: y ? 150 + noise : 40 + noise, g: group === 'a' ? 200 - noise : 60 + noise, b: (i * 53) % 256, y, group };
}

const images = join(dir, 'images');
const labels = join(dir, 'labels.csv');
const model = join(dir, 'model.onnx');
const BROKEN = 17; // a truncated PNG: skipped, and recorded in its shard

beforeAll(async () => {
  mkdirSync(images);
  const rows = ['file,y,g,note'];
  for (let i = 0; i < 40; i++) {
    const c = colour(i);
    // solid 4 x 4 PNGs (lossless): the embedding of image i is exactly [r x 16, g x 16, b x 16] / 255
    const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: c.r, g: c.g, b: c.b } } }).png().toBuffer();
    writeFileSync(join(images, `img${i}.png`), i === BROKEN ? png.subarray(0, 30) : png);
    rows.push(`img${i}.png,${c.y},${c.group},"n ${i}, as text"`);
  }
  writeFileSync(labels, `${rows.join('\n')}\n`);
  writeFileSync(model, pixelModel());
});

const base = { images, labels, backbone: `onnx:${model}` } as const;
const shard = (index: number, count: number) => ({ index, count, from: 'flag' as const });

describe('parseShardOption', () => {
  it('reads K/N, 0-based, and defaults to the whole input as shard 0 of 1', () => {
    expect(parseShardOption('1/4', undefined, {})).toEqual({ index: 1, count: 4, from: 'flag' });
    expect(parseShardOption(' 0 / 1 ', undefined, {})).toEqual({ index: 0, count: 1, from: 'flag' });
    expect(parseShardOption(undefined, undefined, {})).toEqual({ index: 0, count: 1, from: 'default' });
  });

  it('takes K and N from a Slurm array 0-(N-1), or N from --shards when one task is resubmitted', () => {
    const array = { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3' };
    expect(parseShardOption('auto', undefined, array)).toEqual({ index: 3, count: 4, from: 'slurm' });
    // `sbatch --array=2`: a one-task array, so N must come from --shards
    const resubmitted = { SLURM_ARRAY_TASK_ID: '2', SLURM_ARRAY_TASK_COUNT: '1', SLURM_ARRAY_TASK_MIN: '2', SLURM_ARRAY_TASK_MAX: '2' };
    expect(parseShardOption('auto', 4, resubmitted)).toEqual({ index: 2, count: 4, from: 'slurm' });
    expect(() => parseShardOption('auto', undefined, resubmitted)).toThrow(/^--shard auto: the Slurm array is 2-2 \(1 tasks\), not 0-\(N-1\); give the shard count with --shards N/);
  });

  it('takes K from a Kubernetes Indexed Job and N from --shards', () => {
    expect(parseShardOption('auto', 8, { JOB_COMPLETION_INDEX: '5' })).toEqual({ index: 5, count: 8, from: 'kubernetes' });
    expect(() => parseShardOption('auto', undefined, { JOB_COMPLETION_INDEX: '5' })).toThrow(/needs --shards N, the Job's completions/);
    expect(() => parseShardOption('auto', 4, { JOB_COMPLETION_INDEX: '4' })).toThrow(/JOB_COMPLETION_INDEX=4 is not below --shards 4/);
  });

  it('refuses K >= N, N = 0, text that is not K/N, auto outside a scheduler, and --shards without --shard', () => {
    expect(() => parseShardOption('5/4', undefined, {})).toThrow(/^--shard 5\/4: K must be below N \(shards are numbered 0 to N-1: 0\/4 \.\. 3\/4\)$/);
    expect(() => parseShardOption('4/4', undefined, {})).toThrow(/K must be below N/);
    expect(() => parseShardOption('0/0', undefined, {})).toThrow(/^--shard 0\/0: N must be at least 1$/);
    expect(() => parseShardOption('two of four', undefined, {})).toThrow(/^--shard: expected K\/N .* or auto, received "two of four"$/);
    expect(() => parseShardOption('auto', undefined, {})).toThrow(/^--shard auto: not inside a Slurm array task \(SLURM_ARRAY_TASK_ID\) nor a Kubernetes Indexed Job \(JOB_COMPLETION_INDEX\); give --shard K\/N$/);
    expect(() => parseShardOption(undefined, 4, {})).toThrow(/--shards N goes with --shard auto/);
    expect(() => parseShardOption('1/4', 3, {})).toThrow(/--shard 1\/4 and --shards 3 disagree on N/);
    expect(() => parseShardOption('auto', undefined, { SLURM_ARRAY_TASK_ID: 'x' })).toThrow(/SLURM_ARRAY_TASK_ID="x" is not a whole number/);
  });
});

describe('shardRange', () => {
  it('cuts n rows into N contiguous slices, in order, sizes within one of each other', () => {
    expect([0, 1, 2, 3].map((k) => shardRange(10, k, 4))).toEqual([
      { start: 0, end: 2 },
      { start: 2, end: 5 },
      { start: 5, end: 7 },
      { start: 7, end: 10 },
    ]);
    for (const [n, count] of [[0, 3], [2, 5], [41, 4], [1000, 7]] as const) {
      const slices = Array.from({ length: count }, (_, k) => shardRange(n, k, count));
      expect(slices[0]?.start).toBe(0);
      expect(slices[count - 1]?.end).toBe(n);
      for (let k = 1; k < count; k++) expect(slices[k]?.start).toBe(slices[k - 1]?.end);
      const sizes = slices.map((s) => s.end - s.start);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
  });
});

describe('fairhead embed into shards', () => {
  const shards = join(dir, 'shards');
  const single = join(dir, 'single');
  const warnings: string[] = [];

  beforeAll(async () => {
    for (let k = 0; k < 4; k++) await embedShard({ ...base, out: shards, shard: shard(k, 4), blockRows: 4 }, { onWarning: (m) => warnings.push(m) });
    await embedShard({ ...base, out: single }, { onWarning: () => {} });
  }, 120_000);

  it('4 shards hold the rows of one whole run, in input order: ids, label columns and embeddings', () => {
    const a = readParquetEmbeddings(shards, { text: ['file', 'y', 'g', 'note'] });
    const b = readParquetEmbeddings(single, { text: ['file', 'y', 'g', 'note'] });
    expect(a.files.map((f) => f.slice(shards.length + 1))).toEqual(['shard-00000-of-00004.parquet', 'shard-00001-of-00004.parquet', 'shard-00002-of-00004.parquet', 'shard-00003-of-00004.parquet']);
    expect(a.x.rows).toBe(39); // 40 images, one undecodable
    expect(a.x.cols).toBe(48);
    expect(a.text).toEqual(b.text);
    expect(Array.from(a.x.data)).toEqual(Array.from(b.x.data));
    const ids = Array.from({ length: 40 }, (_, i) => `img${i}.png`).filter((_, i) => i !== BROKEN);
    expect(a.text[0]).toEqual(ids);
    expect(a.text[3]?.[0]).toBe('n 0, as text');
    // image 3 is solid (r, g, b): its NCHW embedding is 16 x r/255, 16 x g/255, 16 x b/255
    const c = colour(3);
    const expected = [...Array<number>(16).fill(c.r / 255), ...Array<number>(16).fill(c.g / 255), ...Array<number>(16).fill(c.b / 255)];
    expect(Array.from(a.x.data.subarray(3 * 48, 4 * 48))).toEqual(expected.map((v) => Math.fround(v)));
  });

  it('records each shard: its input rows, rows kept, the skipped image and the SHA-256 that the folder check verifies', async () => {
    const record = JSON.parse(readFileSync(join(shards, 'shard-00001-of-00004.json'), 'utf8')) as ShardRecord;
    expect(record.range).toEqual([10, 20]);
    expect(record.rows).toBe(9);
    expect(record.skipped).toEqual([{ row: BROKEN, reason: expect.stringMatching(/^cannot decode image \(/) as unknown as string }]);
    expect(warnings.some((m) => m.includes(`img${BROKEN}.png: skipped`))).toBe(true);
    const manifest = JSON.parse(readFileSync(join(shards, 'manifest.json'), 'utf8')) as ShardsManifest;
    expect(manifest.columns).toEqual(['file', 'y', 'g', 'note', 'embedding']);
    expect(manifest.input).toEqual({ kind: 'images', size: 4, layout: 'preprocessed', preprocessing: defaultImagePreprocessing(4, 4) });
    expect(manifest.backbone.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const folder = await checkShardFolder(shards);
    expect(folder.rows).toBe(39);
    expect(folder.files).toHaveLength(4);
  });

  it('skips a shard that is already written and checks out, and embeds a corrupt one again', async () => {
    const file = join(shards, 'shard-00002-of-00004.parquet');
    const before = statSync(file).mtimeMs;
    const again = await embedShard({ ...base, out: shards, shard: shard(2, 4) });
    expect(again.status).toBe('skipped');
    expect(statSync(file).mtimeMs).toBe(before);

    const bytes = readFileSync(file);
    bytes[100] = (bytes[100] as number) ^ 0xff; // same size, one byte flipped
    writeFileSync(file, bytes);
    await expect(checkShardFolder(shards)).rejects.toThrow(/shard-00002-of-00004\.parquet: its bytes do not match the SHA-256 in shard-00002-of-00004\.json \(corrupt\); run fairhead embed again with --shard 2\/4/);
    const told: string[] = [];
    const redone = await embedShard({ ...base, out: shards, shard: shard(2, 4) }, { onWarning: (m) => told.push(m) });
    expect(redone.status).toBe('written');
    expect(told).toEqual([expect.stringMatching(/shard-00002-of-00004\.parquet: its bytes do not match the SHA-256 of its record \(corrupt\); embedding it again$/)]);
    expect((await checkShardFolder(shards)).rows).toBe(39);
  }, 60_000);

  it('fits the head the image run fits, from the shards in memory and streamed row group by row group', async () => {
    const task = { target: 'y', sensitive: ['g'] } as const;
    const head = { method: 'm2', constraint: 'eo', alpha: 2, optimizer: 'lbfgs', seed: 0 } as const;
    const fromImages = await prepareData({ ...base, ...task });
    const fromShards = await prepareData({ embeddings: shards, backbone: 'embeddings', ...task });
    const streamed = await prepareData({ embeddings: shards, backbone: 'embeddings', ...task, maxMemory: 1024 });
    expect(fromShards.onDisk).toBeUndefined();
    expect(streamed.onDisk?.train.x.matrix.location.kind).toBe('parquet');
    expect(Array.from(fromShards.test.y)).toEqual(Array.from(fromImages.test.y));
    expect(Array.from(streamed.test.group)).toEqual(Array.from(fromImages.test.group));
    const a = await finetuneAndEvaluate(fromImages, head);
    const b = await finetuneAndEvaluate(fromShards, head);
    const c = await finetuneAndEvaluate(streamed, { ...head, method: 'b1', alpha: 0 });
    const d = await finetuneAndEvaluate(fromShards, { ...head, method: 'b1', alpha: 0 });
    expect(Array.from(b.head.weights)).toEqual(Array.from(a.head.weights));
    expect(b.record.splits.test.accuracy).toBe(a.record.splits.test.accuracy);
    // streamed: the same objective, its sums rounded in another order, so L-BFGS takes a slightly different path to
    // the same optimum and meets its tolerance (objective stable to 1e-7) a little elsewhere
    const scale = Math.max(...Array.from(d.head.weights, Math.abs));
    for (let j = 0; j < d.head.weights.length; j++) expect(Math.abs((c.head.weights[j] as number) - (d.head.weights[j] as number)) / scale).toBeLessThan(1e-4);
    expect(c.record.splits.test.accuracy).toBe(d.record.splits.test.accuracy);
    expect(c.record.splits.validation?.equalizedOddsDifference).toBeCloseTo(d.record.splits.validation?.equalizedOddsDifference as number, 9);
    // the same rows as an .npy, streamed the same way: the same chunks, so the same sums, bit for bit
    const p = readParquetEmbeddings(shards, { text: ['y', 'g'] });
    writeNpy(join(dir, 'same.npy'), p.x.data, [p.x.rows, p.x.cols]);
    writeFileSync(join(dir, 'same.csv'), `y,g\n${(p.text[0] as string[]).map((y, i) => `${y},${p.text[1]?.[i]}`).join('\n')}\n`);
    const npy = await prepareData({ embeddings: join(dir, 'same.npy'), labels: join(dir, 'same.csv'), backbone: 'embeddings', ...task, maxMemory: 1024 });
    expect(npy.onDisk?.train.x.matrix.location.kind).toBe('file');
    const e = await finetuneAndEvaluate(npy, { ...head, method: 'b1', alpha: 0 });
    expect(Array.from(c.head.weights)).toEqual(Array.from(e.head.weights));
  }, 120_000);

  /** A quick plain fit (B1) of y with group g, quiet. */
  const b1 = { target: 'y', sensitive: ['g'], method: 'b1', constraint: 'eo', alpha: 0, optimizer: 'lbfgs', seed: 0, quiet: true, bootstrap: 0 } as const;

  it('saves a model that takes images when the shards\' ONNX model is at hand: predict on the images as the image run\'s model does', async () => {
    const fromImages = await runPipeline({ ...base, ...b1, cacheDir: false, out: join(dir, 'run-images') });
    const fromShards = await runPipeline({ embeddings: shards, backbone: 'embeddings', ...b1, out: join(dir, 'run-shards') });
    expect(fromShards.prepared.warnings.filter((w) => w.includes('takes embeddings'))).toEqual([]);
    const manifest = loadModelBundle(join(dir, 'run-shards', 'model')).manifest;
    expect(manifest.backbone).toMatchObject({ kind: 'onnx', spec: `onnx:${model}`, file: 'model.onnx' });
    expect(manifest.input).toEqual(loadModelBundle(join(dir, 'run-images', 'model')).manifest.input);
    const a = await predictWithModel(join(dir, 'run-images', 'model'), { images, labels });
    const b = await predictWithModel(join(dir, 'run-shards', 'model'), { images, labels });
    expect(b.ids).toEqual(a.ids);
    expect(b.ids).toHaveLength(39);
    for (let i = 0; i < a.scores.length; i++) expect(b.scores[i]).toBeCloseTo(a.scores[i] as number, 12);
    expect(new Set(Array.from(b.predicted)).size).toBe(2);
    expect(fromImages.prepared.backbone.kind).toBe('onnx');
  }, 120_000);

  it('saves a face-api model from face-api shards: predict on the images as the image run\'s model does', async () => {
    const out = join(dir, 'shards-face');
    await embedShard({ images, labels, backbone: 'face-api', out }, { onWarning: () => {} });
    await runPipeline({ images, labels, backbone: 'face-api', ...b1, cacheDir: false, out: join(dir, 'run-face-images') });
    await runPipeline({ embeddings: out, backbone: 'embeddings', ...b1, out: join(dir, 'run-face-shards') });
    const fromShards = loadModelBundle(join(dir, 'run-face-shards', 'model')).manifest;
    expect(fromShards.backbone).toMatchObject({ kind: 'face-api', spec: 'face-api' });
    expect(fromShards.input).toEqual(loadModelBundle(join(dir, 'run-face-images', 'model')).manifest.input);
    const a = await predictWithModel(join(dir, 'run-face-images', 'model'), { images, labels });
    const b = await predictWithModel(join(dir, 'run-face-shards', 'model'), { images, labels });
    expect(b.ids).toEqual(a.ids);
    for (let i = 0; i < a.scores.length; i++) expect(b.scores[i]).toBeCloseTo(a.scores[i] as number, 6);
  }, 120_000);

  it('saves a model that takes embeddings, and says so, when the shards\' ONNX model is gone or changed', async () => {
    const moved = join(dir, 'moved.onnx');
    writeFileSync(moved, pixelModel());
    const out = join(dir, 'shards-moved');
    await embedShard({ ...base, backbone: `onnx:${moved}`, out }, { onWarning: () => {} });
    rmSync(moved);
    const gone = await runPipeline({ embeddings: out, backbone: 'embeddings', ...b1, out: join(dir, 'run-gone') });
    expect(gone.prepared.warnings).toContain(`${out}: the model folder takes embeddings, not raw inputs: their backbone ${moved} is not here`);
    expect(loadModelBundle(join(dir, 'run-gone', 'model')).manifest.backbone.kind).toBe('embeddings');
    // another model at that path: not the one that embedded the shards
    writeFileSync(moved, pixelModel(0.5));
    const changed = await runPipeline({ embeddings: out, backbone: 'embeddings', ...b1, out: join(dir, 'run-changed') });
    expect(changed.prepared.warnings).toContain(`${out}: the model folder takes embeddings, not raw inputs: ${moved} is not the model that embedded them (its content differs)`);
    expect(loadModelBundle(join(dir, 'run-changed', 'model')).manifest.backbone.kind).toBe('embeddings');
  }, 120_000);
});

describe('fairhead embed on CSV rows', () => {
  it('embeds with a saved model folder\'s mlp and its encoding, keeping every column; with onnx:FILE the non-feature columns', async () => {
    const csv = join(dir, 'rows.csv');
    writeFileSync(csv, tinyCsv(40));
    await runPipeline({ data: csv, target: 'y', sensitive: ['sex'], epochs: 2, hidden: [6], method: 'b1', constraint: 'eo', alpha: 0, optimizer: 'lbfgs', seed: 0, out: join(dir, 'run'), quiet: true, bootstrap: 0 });
    const out = join(dir, 'rows-mlp');
    for (let k = 0; k < 3; k++) await embedShard({ data: csv, model: join(dir, 'run', 'model'), out, shard: shard(k, 3) });
    const read = readParquetEmbeddings(out, { text: ['row', 'age', 'color', 'sex', 'y'] });
    expect(read.x.cols).toBe(6);
    expect(read.text[0]).toEqual(Array.from({ length: 40 }, (_, i) => String(i + 1)));
    expect(read.text[2]?.slice(0, 3)).toEqual(['red', 'blue', 'blue']);
    const model = loadModelBundle(join(dir, 'run', 'model'));
    const input = model.manifest.input;
    if (input.kind !== 'tabular') throw new Error('expected a tabular model');
    const expected = await model.mlp!.embed(encodeFeatures(readCsvTable(csv), tabularEncodingFromJSON(input.encoding, 'test')));
    expect(Array.from(read.x.data)).toEqual(Array.from(expected.data));
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ShardsManifest;
    expect(manifest.backbone).toMatchObject({ kind: 'mlp', spec: `model:${join(dir, 'run', 'model')}` });
    expect(manifest.columns).toEqual(['row', 'age', 'hours', 'color', 'sex', 'y', 'embedding']);

    // an ONNX model on the numeric columns other than --target, --sensitive and --drop
    writeFileSync(join(dir, 'two.onnx'), makeMlpClassifier({ hidden: [{ weights: [[1, 0], [0, -1]], bias: [0, 100] }], head: { weights: [[1, -1], [-1, 1]], bias: [0, 0] }, activation: 'softmax' }));
    const onnxOut = join(dir, 'rows-onnx');
    await embedShard({ data: csv, backbone: `onnx:${join(dir, 'two.onnx')}`, target: 'y', sensitive: ['sex'], drop: ['color'], out: onnxOut });
    const o = readParquetEmbeddings(onnxOut, { text: ['row', 'color', 'sex', 'y'] });
    // embedding = relu([age, 100 - hours]) of each row
    expect(Array.from(o.x.data.subarray(0, 4))).toEqual([Number(tinyRow(0)[0]), 100 - Number(tinyRow(0)[1]), Number(tinyRow(1)[0]), 100 - Number(tinyRow(1)[1])]);
    expect(JSON.parse(readFileSync(join(onnxOut, 'manifest.json'), 'utf8')).columns).toEqual(['row', 'color', 'sex', 'y', 'embedding']);
    await expect(embedShard({ data: csv, backbone: `onnx:${join(dir, 'two.onnx')}`, out: join(dir, 'never') })).rejects.toThrow(/--data with --backbone onnx:FILE needs --target/);
    await expect(embedShard({ data: csv, backbone: 'mlp', out: join(dir, 'never') })).rejects.toThrow(/needs a fixed backbone: onnx:FILE, or --model DIR; received --backbone mlp \(pre-train it with fairhead run, then pass --model OUT\/model\)/);
  }, 120_000);

  it('a fit on shards of an ONNX model on CSV rows saves a model that predicts on CSV rows as the run on the CSV does', async () => {
    const csv = join(dir, 'rows.csv');
    const two = join(dir, 'two.onnx');
    const onnxOut = join(dir, 'rows-onnx');
    const fit = { target: 'y', sensitive: ['sex'], method: 'b1', constraint: 'eo', alpha: 0, optimizer: 'lbfgs', seed: 0, quiet: true, bootstrap: 0 } as const;
    await runPipeline({ data: csv, backbone: `onnx:${two}`, drop: ['color'], ...fit, cacheDir: false, out: join(dir, 'run-rows-csv') });
    await runPipeline({ embeddings: onnxOut, backbone: 'embeddings', ...fit, out: join(dir, 'run-rows-shards') });
    const fromShards = loadModelBundle(join(dir, 'run-rows-shards', 'model')).manifest;
    expect(fromShards.backbone).toMatchObject({ kind: 'onnx', spec: `onnx:${two}`, file: 'model.onnx' });
    expect(fromShards.input).toEqual(loadModelBundle(join(dir, 'run-rows-csv', 'model')).manifest.input);
    const a = await predictWithModel(join(dir, 'run-rows-csv', 'model'), { data: csv });
    const b = await predictWithModel(join(dir, 'run-rows-shards', 'model'), { data: csv });
    expect(b.scores).toHaveLength(40);
    for (let i = 0; i < a.scores.length; i++) expect(b.scores[i]).toBeCloseTo(a.scores[i] as number, 9);
  }, 120_000);
});

describe('fairhead embed on texts', () => {
  it('3 shards of a text model\'s embeddings give the embeddings and the fit of the same run on the CSV', async () => {
    const bert = join(dir, 'bert');
    mkdirSync(bert);
    const model = writeTinyBert(bert);
    const csv = join(dir, 'reviews.csv');
    writeFileSync(csv, textCsv(90));
    const out = join(dir, 'text-shards');
    for (let k = 0; k < 3; k++) await embedShard({ data: csv, textColumn: 'text', backbone: `onnx:${model}`, maxLength: 12, out, shard: shard(k, 3), blockRows: 7 });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as ShardsManifest;
    expect(manifest.input).toMatchObject({ kind: 'text', column: 'text', tokenizer: 'tokenizer.json', maxLength: 12 });
    expect(manifest.columns).toEqual(['row', 'label', 'group', 'embedding']); // the texts themselves are not copied
    const task = { target: 'label', positive: 'pos', sensitive: ['group'] } as const;
    const head = { method: 'm2', constraint: 'eo', alpha: 1, optimizer: 'lbfgs', seed: 0 } as const;
    const direct = await prepareData({ data: csv, textColumn: 'text', backbone: `onnx:${model}`, maxLength: 12, cacheDir: false, ...task });
    const sharded = await prepareData({ embeddings: out, backbone: 'embeddings', ...task });
    expect(Array.from(sharded.train.x.data)).toEqual(Array.from(direct.train.x.data));
    const [a, b] = [await finetuneAndEvaluate(direct, head), await finetuneAndEvaluate(sharded, head)];
    expect(Array.from(b.head.weights)).toEqual(Array.from(a.head.weights));
  }, 120_000);

  it('a fit on the text shards saves the text model with its tokenizer (found beside the model); without it, an embeddings model', async () => {
    const bert = join(dir, 'bert');
    const model = join(bert, 'model.onnx');
    const csv = join(dir, 'reviews.csv');
    const out = join(dir, 'text-shards');
    const fit = { target: 'label', positive: 'pos', sensitive: ['group'], method: 'b1', constraint: 'eo', alpha: 0, optimizer: 'lbfgs', seed: 0, quiet: true, bootstrap: 0 } as const;
    await runPipeline({ data: csv, textColumn: 'text', backbone: `onnx:${model}`, maxLength: 12, cacheDir: false, ...fit, out: join(dir, 'run-text-csv') });
    await runPipeline({ embeddings: out, backbone: 'embeddings', ...fit, out: join(dir, 'run-text-shards') });
    const fromShards = loadModelBundle(join(dir, 'run-text-shards', 'model')).manifest;
    expect(fromShards.backbone).toMatchObject({ kind: 'onnx', spec: `onnx:${model}`, file: 'model.onnx' });
    expect(fromShards.input).toEqual(loadModelBundle(join(dir, 'run-text-csv', 'model')).manifest.input);
    expect(readFileSync(join(dir, 'run-text-shards', 'model', 'tokenizer.json'))).toEqual(readFileSync(join(bert, 'tokenizer.json')));
    const a = await predictWithModel(join(dir, 'run-text-csv', 'model'), { data: csv });
    const b = await predictWithModel(join(dir, 'run-text-shards', 'model'), { data: csv });
    for (let i = 0; i < a.scores.length; i++) expect(b.scores[i]).toBeCloseTo(a.scores[i] as number, 9);
    // the tokenizer gone from beside the model: the fit still runs, on embeddings only, and says why
    const kept = readFileSync(join(bert, 'tokenizer.json'));
    rmSync(join(bert, 'tokenizer.json'));
    try {
      const run = await runPipeline({ embeddings: out, backbone: 'embeddings', ...fit, out: join(dir, 'run-text-gone') });
      expect(run.prepared.warnings.some((w) => w.startsWith(`${out}: the model folder takes embeddings, not raw inputs: the text model's tokenizer (tokenizer.json, SHA-256 `) && w.endsWith(`) is not beside ${model}`))).toBe(true);
      expect(loadModelBundle(join(dir, 'run-text-gone', 'model')).manifest.backbone.kind).toBe('embeddings');
    } finally {
      writeFileSync(join(bert, 'tokenizer.json'), kept);
    }
  }, 120_000);
});

describe('writeShardFile', () => {
  it('holds one row group and one batch in WebAssembly memory, not the shard (200 MB written, the memory stays under 160 MB)', async () => {
    const d = 512;
    const manifest: ShardsManifest = {
      format: 'fairhead.embeddings', version: 1, shards: 1, inputRows: 100_000, dim: d,
      backbone: { kind: 'test', spec: 'test', id: 'test' }, input: { kind: 'embeddings' },
      source: { kind: 'rows', file: 'none', sha256: 'none' }, idColumn: 'id', columns: ['id', 'embedding'],
    };
    async function* batches() {
      for (let start = 0; start < 100_000; start += 5000) {
        const x = new Float32Array(5000 * d).fill(start);
        yield { ids: Array.from({ length: 5000 }, (_, i) => String(start + i)), text: [], x: { data: x, rows: 5000, cols: d } };
      }
    }
    const written = await writeShardFile(join(dir, 'big'), 0, manifest, batches());
    expect(written.rows).toBe(100_000);
    expect(written.bytes).toBeGreaterThan(100_000 * d * 4);
    expect(wasmMemory().buffer.byteLength).toBeLessThan(160 * 2 ** 20);
    rmSync(join(dir, 'big'), { recursive: true });
  }, 60_000);
});

describe('describeManifestDifference', () => {
  it('names the backbone, preprocessing and columns that differ', () => {
    const m = (spec: string, size: number, columns: string[]): ShardsManifest => ({
      format: 'fairhead.embeddings', version: 1, shards: 4, inputRows: 40, dim: 48,
      backbone: { kind: 'onnx', spec, id: `sha256:${spec === 'onnx:a.onnx' ? 'aa' : 'bb'}`, embeddingNode: 'flat' },
      input: { kind: 'images', size, layout: 'preprocessed' },
      source: { kind: 'images', file: 'labels.csv', sha256: 'cc' },
      idColumn: 'file', columns,
    });
    expect(describeManifestDifference(m('onnx:a.onnx', 4, ['file', 'embedding']), m('onnx:b.onnx', 8, ['file', 'y', 'embedding']))).toBe(
      'backbone onnx:a.onnx (sha256:aa, node flat) vs onnx:b.onnx (sha256:bb, node flat); preprocessing (size 4 vs 8); columns file, embedding vs file, y, embedding',
    );
  });
});
