import { performance } from 'node:perf_hooks';
import { basename, join } from 'node:path';
import { InputError } from '../errors.ts';
import { sha256OfFile } from '../hash.ts';
import { columnIndex, readCsvTable, type CsvTable } from '../data/csv-table.ts';
import {
  checkFolderManifest,
  EMBEDDING_COLUMN,
  shardChecksOut,
  shardFileName,
  shardRange,
  shardRecord,
  writeShardFile,
  writeShardRecord,
  writeShardsManifest,
  type ShardBatch,
  type ShardChoice,
  type ShardRecord,
  type ShardsManifest,
} from '../data/embedding-shards.ts';
import { defaultImagePreprocessing, resolveImagePreprocessing, type ImagePreprocessing } from '../data/image-preprocessing.ts';
import { readImageLabels, type SkippedImage } from '../data/images.ts';
import { matrix, type Matrix } from '../data/matrix.ts';
import { encodeFeatures, tabularEncodingFromJSON } from '../data/tabular.ts';
import type { Backbone } from '../backbone/backbone.ts';
import { loadFaceApiBackbone, type FaceApiBackbone } from '../backbone/face-api.ts';
import { loadOnnxBackbone, type OnnxBackbone } from '../backbone/onnx.ts';
import { featureInput } from '../backbone/_internal/onnx-graph.ts';
import { loadModelBundle, loadModelOnnx } from '../export/model-bundle.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { columnTexts, embedImageFiles, embedTexts, imageInput, openTextModel, type TextModel } from './model-inputs.ts';
import { embedImageFilesAsBytes, onnxOptions, preprocessedImages, tokenizerFileFor, type InputSpec } from './prepare.ts';
import type { BackboneOptions, DataOptions } from './run-options.ts';

/**
 * Options of {@link embedShard}: the input, a fixed backbone (with how an ONNX model is fed: an image model's
 * preprocessing flags, a text model's tokenizer, as for `run`), the output folder and the shard.
 */
export interface EmbedOptions extends Omit<BackboneOptions, 'backbone' | 'hidden' | 'epochs' | 'cacheDir'>, Pick<DataOptions, 'textColumn'> {
  /** Image folder, with `labels` (one row per image) and `imageColumn` (default `file`). */
  readonly images?: string;
  readonly labels?: string;
  readonly imageColumn?: string;
  /** CSV of rows: numbers for an ONNX model or a saved mlp, or texts (`textColumn`) for an ONNX text model. */
  readonly data?: string;
  /** With `data` and `onnx:FILE`: columns that are not the model's features (kept as columns of the shards). */
  readonly target?: string;
  readonly sensitive?: readonly string[];
  readonly drop?: readonly string[];
  /** `onnx:FILE` or `face-api` (images only; the default for images). */
  readonly backbone?: string;
  /** A model folder written by `fairhead run`: embed with its backbone and its preprocessing (instead of `backbone`). */
  readonly model?: string;
  /** Fail on an undecodable image instead of skipping it. */
  readonly strict?: boolean;
  /** The shard folder. */
  readonly out: string;
  /** Which shard to embed (default: all rows, shard 0 of 1). */
  readonly shard?: ShardChoice;
  /** Rows embedded per block, appended to the shard as they are done (default 4096). */
  readonly blockRows?: number;
}

/** Progress and warnings of {@link embedShard}. */
export interface EmbedHooks {
  readonly progress?: (label: string, total: number) => Progress;
  readonly onWarning?: (message: string) => void;
}

/** What {@link embedShard} did. */
export interface EmbedResult {
  readonly manifest: ShardsManifest;
  readonly shard: ShardChoice;
  /** The shard's Parquet file. */
  readonly file: string;
  /** `written`, or `skipped`: the shard was already there and checked out. */
  readonly status: 'written' | 'skipped';
  readonly record: ShardRecord;
}

/** A backbone ready to embed blocks of input rows. */
interface Embedder {
  readonly spec: string;
  readonly kind: string;
  readonly id: string;
  readonly embeddingNode?: string;
  readonly dim: number;
  readonly input: InputSpec;
  /** CSV columns the backbone reads (not copied into the shards); none for images. */
  readonly inputColumns: readonly string[];
  /** Embed files (images) or rows `start..end-1` of the table (CSV); `kept` are indices into the block. */
  embed(block: Block): Promise<{ x: Matrix; kept: readonly number[]; skipped: readonly { index: number; reason: string }[] }>;
  close(): Promise<void>;
}

type Block = { readonly kind: 'images'; readonly files: readonly string[] } | { readonly kind: 'rows'; readonly table: CsvTable };

/**
 * `fairhead embed`: embed one shard of the input with a fixed backbone and write it to `out` as Parquet (see
 * embedding-shards.ts for the folder's layout). Shard K of N takes the input rows floor(K n / N) ..
 * floor((K+1) n / N) - 1; a shard already written that checks out (its record, size and SHA-256) is skipped, so
 * a failed or pre-empted task is re-run alone. Every check (inputs, backbone, a folder holding other embeddings)
 * comes before anything is written; the shard is streamed to a temporary file and renamed, then its record and
 * the manifest are written.
 *
 * @example
 * await embedShard({ images: 'faces', labels: 'faces.csv', backbone: 'face-api', out: 'emb', shard: { index: 1, count: 4, from: 'flag' } });
 * // emb/shard-00001-of-00004.parquet: file, age, gender, race, embedding (512 float32)
 */
export async function embedShard(options: EmbedOptions, hooks: EmbedHooks = {}): Promise<EmbedResult> {
  const started = performance.now();
  const shard = options.shard ?? { index: 0, count: 1, from: 'default' };
  const inputs = [options.images, options.data].filter((v) => v !== undefined);
  if (inputs.length !== 1) throw new InputError('fairhead embed: give exactly one of --images DIR (with --labels) or --data FILE.csv');
  if (options.model !== undefined && options.backbone !== undefined) throw new InputError('give either --backbone or --model DIR (whose backbone embeds), not both');
  if (options.textColumn !== undefined && options.images !== undefined) throw new InputError('--text-column goes with --data FILE.csv (a column of texts), not with --images');
  const source = options.images !== undefined ? readImageSource(options, shard) : readRowSource(options);
  const range = shardRange(source.rows, shard.index, shard.count);
  const embedder = await openEmbedder(options, source);
  try {
    const textColumns = source.textColumns.filter((c) => !embedder.inputColumns.includes(c));
    for (const c of [source.idColumn, ...textColumns]) {
      if (c === EMBEDDING_COLUMN) throw new InputError(`${source.file}: column "${EMBEDDING_COLUMN}" is the name of the shards' embedding column; rename it`);
    }
    const manifest: ShardsManifest = {
      format: 'fairhead.embeddings',
      version: 1,
      shards: shard.count,
      inputRows: source.rows,
      dim: embedder.dim,
      backbone: { kind: embedder.kind, spec: embedder.spec, id: embedder.id, ...(embedder.embeddingNode !== undefined ? { embeddingNode: embedder.embeddingNode } : {}) },
      input: embedder.input as unknown as ShardsManifest['input'],
      source: { kind: source.kind, file: basename(source.file), sha256: sha256OfFile(source.file) },
      idColumn: source.idColumn,
      columns: [source.idColumn, ...textColumns, EMBEDDING_COLUMN],
    };
    checkFolderManifest(options.out, manifest);
    const file = `${options.out}/${shardFileName(shard.index, shard.count)}`;
    const existing = await shardChecksOut(options.out, shard.index, manifest);
    if (existing.ok) {
      writeShardsManifest(options.out, manifest);
      return { manifest, shard, file, status: 'skipped', record: existing.record };
    }
    if (existing.reason !== 'not written yet') hooks.onWarning?.(`${file}: ${existing.reason}; embedding it again`);
    const blockRows = options.blockRows ?? 4096;
    const bar = (hooks.progress ?? (() => silentProgress))(`embedding shard ${shard.index}/${shard.count} (${embedder.spec})`, range.end - range.start);
    const skipped: { row: number; reason: string }[] = [];
    async function* batches(): AsyncGenerator<ShardBatch> {
      for (let start = range.start; start < range.end; start += blockRows) {
        const end = Math.min(range.end, start + blockRows);
        const out = await embedder.embed(source.block(start, end));
        for (const s of out.skipped) {
          skipped.push({ row: start + s.index, reason: s.reason });
          hooks.onWarning?.(`${source.describe(start + s.index)}: skipped (${s.reason})`);
        }
        yield {
          ids: out.kept.map((i) => source.id(start + i)),
          text: textColumns.map((c) => out.kept.map((i) => source.text(start + i, c))),
          x: out.x,
        };
        bar.update(end - range.start);
      }
    }
    const written = await writeShardFile(options.out, shard.index, manifest, batches());
    bar.stop();
    const record = shardRecord(shard.index, manifest, {
      range: [range.start, range.end],
      rows: written.rows,
      skipped,
      bytes: written.bytes,
      sha256: written.sha256,
      seconds: (performance.now() - started) / 1000,
    });
    writeShardRecord(options.out, record);
    writeShardsManifest(options.out, manifest);
    return { manifest, shard, file, status: 'written', record };
  } finally {
    await embedder.close();
  }
}

/** The input's rows as the embedder and the shard writer see them. */
interface InputRows {
  readonly kind: 'images' | 'rows';
  /** The labels CSV (images) or the data CSV. */
  readonly file: string;
  readonly rows: number;
  readonly idColumn: string;
  /** Columns that may be copied into the shards as strings (the backbone's input columns are left out). */
  readonly textColumns: readonly string[];
  /** Backbone input columns of a CSV (empty for images). */
  readonly table?: CsvTable;
  id(row: number): string;
  text(row: number, column: string): string;
  block(start: number, end: number): Block;
  /** The row in words, for warnings ("faces/x.jpg", "rows.csv line 12"). */
  describe(row: number): string;
}

function readImageSource(options: EmbedOptions, shard: ShardChoice): InputRows {
  if (options.labels === undefined) throw new InputError('--images needs --labels FILE.csv (one row per image; its other columns are kept in the shards)');
  const imageColumn = options.imageColumn ?? 'file';
  const table = readCsvTable(options.labels);
  const range = shardRange(table.rows.length, shard.index, shard.count);
  const { files } = readImageLabels({ images: options.images as string, labels: options.labels, imageColumn, only: range, table });
  const j = columnIndex(table, imageColumn, '--image-column');
  const at = new Map(table.header.map((h, k) => [h, k]));
  return {
    kind: 'images',
    file: options.labels,
    rows: table.rows.length,
    idColumn: imageColumn,
    textColumns: table.header.filter((_, k) => k !== j),
    id: (r) => (table.rows[r] as readonly string[])[j] as string,
    text: (r, c) => (table.rows[r] as readonly string[])[at.get(c) as number] as string,
    block: (start, end) => ({ kind: 'images', files: files.slice(start, end) }),
    describe: (r) => files[r] as string,
  };
}

function readRowSource(options: EmbedOptions): InputRows {
  const file = options.data as string;
  const table = readCsvTable(file);
  if (table.rows.length === 0) throw new InputError(`${file}: no rows`);
  const idColumn = 'row';
  if (table.header.includes(idColumn)) throw new InputError(`${file}: has a column named "${idColumn}", the name of the shards' row-number column; rename it`);
  const at = new Map(table.header.map((h, k) => [h, k]));
  return {
    kind: 'rows',
    file,
    rows: table.rows.length,
    idColumn,
    textColumns: table.header,
    table,
    id: (r) => String(r + 1),
    text: (r, c) => (table.rows[r] as readonly string[])[at.get(c) as number] as string,
    block: (start, end) => ({ kind: 'rows', table: { ...table, rows: table.rows.slice(start, end), lines: table.lines.slice(start, end) } }),
    describe: (r) => `${file} line ${table.lines[r]}`,
  };
}

/** The backbone of `options` (onnx:FILE, face-api, or a model folder's), checked against the input. */
async function openEmbedder(options: EmbedOptions, source: InputRows): Promise<Embedder> {
  const strict = options.strict ?? false;
  if (options.model !== undefined) return modelEmbedder(options.model, source, strict, options.textColumn, options.threads);
  const spec = options.backbone ?? (source.kind === 'images' ? 'face-api' : undefined);
  if (spec === undefined) throw new InputError('fairhead embed --data needs --backbone onnx:FILE or --model DIR (a backbone pre-trained here is saved in a model folder by fairhead run)');
  if (spec === 'face-api') {
    if (source.kind !== 'images') throw new InputError('--backbone face-api takes images: give --images DIR and --labels FILE.csv');
    return faceApiEmbedder(await loadFaceApiBackbone(), spec, strict, options.threads);
  }
  if (!spec.startsWith('onnx:')) {
    throw new InputError(`fairhead embed needs a fixed backbone: onnx:FILE${source.kind === 'images' ? ' or face-api' : ''}, or --model DIR; received --backbone ${spec}${spec === 'mlp' || spec === 'cnn' ? ' (pre-train it with fairhead run, then pass --model OUT/model)' : ''}`);
  }
  const modelFile = spec.slice('onnx:'.length);
  const net = await loadOnnxBackbone(modelFile, onnxOptions(options));
  try {
    const id = net.contentId();
    if (source.kind === 'images') {
      const { preprocessing } = resolveImagePreprocessing({ file: net.file, name: imageInput(net).name, shape: net.inputShape }, options);
      return onnxImageEmbedder(net, spec, id, preprocessing, strict);
    }
    if (options.textColumn !== undefined) return onnxTextEmbedder(net, spec, id, source, options.textColumn, openTextModel(net, tokenizerFileFor(options, modelFile), options.maxLength));
    return onnxRowEmbedder(net, spec, id, source, options);
  } catch (error) {
    await net.close();
    throw error;
  }
}

function faceApiEmbedder(net: FaceApiBackbone, spec: string, strict: boolean, threads: number | undefined): Embedder {
  return {
    spec,
    kind: 'face-api',
    id: net.id,
    dim: net.embeddingDim,
    input: { kind: 'images', size: net.inputSize, layout: 'hwc-bytes' },
    inputColumns: [],
    async embed(block) {
      if (block.kind !== 'images') throw new Error('unreachable');
      const out = await net.embedImages(block.files, { strict, cacheDir: false, ...(threads !== undefined ? { threads } : {}) });
      return { x: out.x, kept: Array.from(out.rows), skipped: out.skipped.map(reasonOf) };
    },
    async close() {},
  };
}

function onnxCommon(net: OnnxBackbone, spec: string, id: string): Pick<Embedder, 'spec' | 'kind' | 'id' | 'embeddingNode' | 'dim' | 'close'> {
  return { spec, kind: 'onnx', id, embeddingNode: net.embeddingNode, dim: net.embeddingDim, close: () => net.close() };
}

/** An ONNX image model fed through `preprocessing` (as `run` feeds it). */
function onnxImageEmbedder(net: OnnxBackbone, spec: string, id: string, preprocessing: ImagePreprocessing, strict: boolean): Embedder {
  return {
    ...onnxCommon(net, spec, id),
    input: preprocessedImages(preprocessing),
    inputColumns: [],
    async embed(block) {
      if (block.kind !== 'images') throw new Error('unreachable');
      const out = await embedImageFiles(net, block.files, preprocessing, { strict });
      return { x: out.x, kept: Array.from(out.rows), skipped: out.skipped.map(reasonOf) };
    },
  };
}

/** An ONNX text model on CSV column `column` (tokenised as `run` does; the column itself is not copied). */
function onnxTextEmbedder(net: OnnxBackbone, spec: string, id: string, source: InputRows, column: string, text: TextModel): Embedder {
  const table = source.table as CsvTable;
  const j = columnIndex(table, column, '--text-column');
  return {
    ...onnxCommon(net, spec, id),
    // the tokenizer by name and content: tasks may read it from different paths
    input: { kind: 'text', column, tokenizer: basename(text.tokenizer.file), tokenizerSha256: text.tokenizer.sha256, maxLength: text.maxLength },
    inputColumns: [column],
    async embed(block) {
      if (block.kind !== 'rows') throw new Error('unreachable');
      const texts = columnTexts(block.table, j, column);
      return { x: await embedTexts(net, text, texts), kept: texts.map((_, i) => i), skipped: [] };
    },
  };
}

/** An ONNX model on numeric CSV columns: `columns`, else those other than --target, --sensitive and --drop. */
function onnxRowEmbedder(net: OnnxBackbone, spec: string, id: string, source: InputRows, options: { target?: string; sensitive?: readonly string[]; drop?: readonly string[] }, columns?: readonly string[]): Embedder {
  featureInput(net.inputs, net.file);
  const table = source.table as CsvTable;
  let features = columns;
  if (!features) {
    if (options.target === undefined) throw new InputError('fairhead embed --data with --backbone onnx:FILE needs --target (and --sensitive, --drop): the other columns are the model\'s input features');
    const excluded = new Set([options.target, ...(options.sensitive ?? []), ...(options.drop ?? [])]);
    for (const c of excluded) columnIndex(table, c, c === options.target ? '--target' : '--sensitive/--drop');
    features = table.header.filter((h) => !excluded.has(h));
  }
  if (features.length !== net.inputFeatures) {
    throw new InputError(`${net.file}: the model takes ${net.inputFeatures} input features, but ${source.file} has ${features.length} feature columns (${features.slice(0, 8).join(', ')}${features.length > 8 ? ', ...' : ''}); use --drop to leave columns out`);
  }
  const picks = features.map((c) => columnIndex(table, c, 'feature'));
  return {
    ...onnxCommon(net, spec, id),
    input: { kind: 'raw-columns', columns: features },
    inputColumns: features,
    async embed(block) {
      if (block.kind !== 'rows') throw new Error('unreachable');
      const x = numericColumns(block.table, picks);
      return { x: await net.embed(x), kept: block.table.rows.map((_, i) => i), skipped: [] };
    },
  };
}

/** Rows of a model folder's backbone, with the preprocessing it was trained with. */
async function modelEmbedder(dir: string, source: InputRows, strict: boolean, textColumn: string | undefined, threads: number | undefined): Promise<Embedder> {
  const model = loadModelBundle(dir);
  const spec = `model:${dir}`;
  const kind = model.manifest.backbone.kind;
  const input = model.manifest.input;
  if (kind === 'embeddings') throw new InputError(`${dir}: this model was fitted on embeddings and has no backbone to embed with`);
  if ((input.kind === 'images') !== (source.kind === 'images')) {
    throw new InputError(`${dir}: this model takes ${input.kind === 'images' ? 'images: give --images DIR and --labels FILE.csv' : 'CSV rows: give --data FILE.csv'}`);
  }
  if (textColumn !== undefined && input.kind !== 'text') throw new InputError(`${dir}: --text-column is for a text model; this model takes ${input.kind}`);
  if (kind === 'face-api') return { ...faceApiEmbedder(await loadFaceApiBackbone(), spec, strict, threads), kind };
  if (kind === 'onnx') {
    const net = await loadModelOnnx(model, threads);
    try {
      // model.onnx with its external data (model.onnx_data), by content
      const id = net.contentId();
      if (input.kind === 'images') return onnxImageEmbedder(net, spec, id, input.preprocessing ?? defaultImagePreprocessing(input.size, input.size), strict);
      if (input.kind === 'text') return onnxTextEmbedder(net, spec, id, source, input.column, openTextModel(net, join(model.dir, input.tokenizer), input.maxLength));
      return onnxRowEmbedder(net, spec, id, source, {}, input.kind === 'raw-columns' ? input.columns : undefined);
    } catch (error) {
      await net.close();
      throw error;
    }
  }
  const net: Backbone | undefined = model.mlp ?? model.cnn;
  if (!net) throw new InputError(`${dir}: the model folder lacks its ${kind} backbone`);
  if (model.cnn) model.cnn.threads = threads;
  const id = model.backboneFile !== undefined ? `sha256:${sha256OfFile(model.backboneFile)}` : '';
  const common = { spec, kind, id, dim: net.embeddingDim, input, inputColumns: [] as string[], close: async () => {} };
  if (input.kind === 'images') {
    const size = input.size;
    return {
      ...common,
      async embed(block) {
        if (block.kind !== 'images') throw new Error('unreachable');
        const out = await embedImageFilesAsBytes(net, block.files, size, { strict });
        return { x: out.x, kept: Array.from(out.rows), skipped: out.skipped.map(reasonOf) };
      },
    };
  }
  if (input.kind !== 'tabular') throw new InputError(`${dir}: a ${kind} backbone with ${input.kind} input is not one fairhead embed knows`);
  const encoding = tabularEncodingFromJSON(input.encoding, `${dir} (input.encoding)`);
  return {
    ...common,
    async embed(block) {
      if (block.kind !== 'rows') throw new Error('unreachable');
      return { x: await net.embed(encodeFeatures(block.table, encoding)), kept: block.table.rows.map((_, i) => i), skipped: [] };
    },
  };
}

function reasonOf(s: SkippedImage): { index: number; reason: string } {
  return { index: s.index, reason: `cannot decode image (${s.reason})` };
}

/** The columns `picks` of a CSV block as float32 (InputError naming the line and column for a non-number). */
function numericColumns(table: CsvTable, picks: readonly number[]): Matrix {
  const d = picks.length;
  const out = new Float32Array(table.rows.length * d);
  table.rows.forEach((row, r) => {
    picks.forEach((j, c) => {
      const cell = (row[j] as string).trim();
      const v = Number(cell);
      if (cell === '' || !Number.isFinite(v)) {
        throw new InputError(`${table.source}: line ${table.lines[r]}, column "${table.header[j]}": ${JSON.stringify(row[j])} is not a finite number (an ONNX model's input)`);
      }
      out[r * d + c] = v;
    });
  });
  return matrix(out, table.rows.length, d);
}
