import { readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { InputError } from '../errors.ts';
import { columnIndex, columnValues, readCsvTable } from '../data/csv-table.ts';
import { readImageLabels } from '../data/images.ts';
import { matrix, type Matrix } from '../data/matrix.ts';
import { readNpy } from '../data/npy.ts';
import { readNumericCsv } from '../data/numeric-csv.ts';
import { parquetFiles, readParquetEmbeddings } from '../data/parquet.ts';
import { encodeFeatures, tabularEncodingFromJSON } from '../data/tabular.ts';
import { loadFaceApiBackbone } from '../backbone/face-api.ts';
import { loadModelBundle, loadModelOnnx, type LoadedModel } from '../export/model-bundle.ts';
import { embedImageFilesAsBytes } from './prepare.ts';
import { defaultImagePreprocessing } from '../data/image-preprocessing.ts';
import { columnTexts, embedImageFiles, embedTexts, openTextModel } from './model-inputs.ts';

/** What to predict on: a CSV / embeddings file, or an image folder (optionally listed by a CSV). */
export interface PredictInput {
  readonly data?: string;
  readonly images?: string;
  readonly labels?: string;
  readonly imageColumn?: string;
  /** Column copied to the output to identify rows: of `data`, or for images of `labels` (needed then). */
  readonly id?: string;
  /** Threads the backbone runs on (onnxruntime's intra-op threads); default: onnxruntime's choice (face-api: 2). */
  readonly threads?: number;
}

/** Predictions: one row per input row (images that could not be decoded are left out and listed in `skipped`). */
export interface Predictions {
  /** Identifier per row: the `id` column (of `labels` for images), else the image file name or the 1-based row number. */
  readonly ids: readonly string[];
  readonly classes: readonly string[];
  readonly predicted: Int32Array;
  /** P(positive class) per row. */
  readonly scores: Float64Array;
  readonly skipped: readonly string[];
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/**
 * Apply a model folder written by `fairhead run` to new data. No sensitive attribute and no label is needed: the
 * saved input encoding, backbone and fair head turn each row into P(positive) and a class.
 *
 * @example
 * const p = await predictWithModel('out/model', { data: 'new-applicants.csv' });
 * p.scores[0]; // 0.73
 */
export async function predictWithModel(modelPath: string, input: PredictInput): Promise<Predictions> {
  const model = loadModelBundle(modelPath);
  const kind = model.manifest.input.kind;
  const { z, ids, skipped } = kind === 'images' ? await embedImages(model, input) : kind === 'text' ? await embedTextRows(model, input) : await embedRows(model, input);
  const scores = model.head.positiveScore(z);
  const predicted = new Int32Array(scores.length);
  for (let i = 0; i < scores.length; i++) predicted[i] = (scores[i] as number) >= model.manifest.threshold ? 1 : 0;
  return { ids, classes: model.head.classes, predicted, scores, skipped };
}

/** The model folder's ONNX model, cut at the recorded embedding tensor. */
/** The texts of column `spec.column` of `input.data`, embedded with the model folder's tokenizer and ONNX model. */
async function embedTextRows(model: LoadedModel, input: PredictInput): Promise<Embedded> {
  const threads = input.threads;
  const spec = model.manifest.input;
  if (spec.kind !== 'text') throw new Error('unreachable');
  if (input.data === undefined) throw new InputError(`this model takes texts: give --data FILE.csv with a column "${spec.column}"`);
  const table = readCsvTable(input.data);
  const j = columnIndex(table, spec.column, 'the model\'s text column');
  const texts = columnTexts(table, j, spec.column);
  const ids = idsOf(texts.length, input.id === undefined ? undefined : table.rows.map((r) => r[columnIndex(table, input.id as string, '--id')] as string));
  const net = await loadModelOnnx(model, threads);
  try {
    const text = openTextModel(net, join(model.dir, spec.tokenizer), spec.maxLength);
    return { z: await embedTexts(net, text, texts), ids, skipped: [] };
  } finally {
    await net.close();
  }
}

async function embedWith(model: LoadedModel, x: Matrix, threads: number | undefined): Promise<Matrix> {
  switch (model.manifest.backbone.kind) {
    case 'mlp':
      return (model.mlp as NonNullable<LoadedModel['mlp']>).embed(x);
    case 'onnx': {
      const net = await loadModelOnnx(model, threads);
      try {
        return await net.embed(x);
      } finally {
        await net.close();
      }
    }
    case 'face-api':
    case 'cnn':
      throw new InputError(`a ${model.manifest.backbone.kind} model takes images: give --images DIR`);
    case 'embeddings':
      return x;
  }
}

interface Embedded {
  readonly z: Matrix;
  readonly ids: string[];
  readonly skipped: string[];
}

/** Images are decoded and embedded batch by batch (never all decoded in memory at once). */
async function embedImages(model: LoadedModel, input: PredictInput): Promise<Embedded> {
  const threads = input.threads;
  const spec = model.manifest.input;
  if (spec.kind !== 'images') throw new Error('unreachable');
  if (input.images === undefined) throw new InputError('this model takes images: give --images DIR (and optionally --labels FILE.csv to list them)');
  const dir = input.images;
  const { files, ids: named } = imageFiles(input);
  const skipped: string[] = [];
  const warn = (m: string): void => {
    skipped.push(m);
  };
  let out: { x: Matrix; rows: Int32Array };
  if (model.manifest.backbone.kind === 'face-api') {
    const net = await loadFaceApiBackbone();
    try {
      out = await net.embedImages(files, { onWarning: warn, cacheDir: false, ...(threads !== undefined ? { threads } : {}) });
    } finally {
      await net.close();
    }
  } else if (model.cnn) {
    model.cnn.threads = threads;
    out = await embedImageFilesAsBytes(model.cnn, files, spec.size, { onWarning: warn });
  } else {
    const net = await loadModelOnnx(model, threads);
    try {
      out = await embedImageFiles(net, files, spec.preprocessing ?? defaultImagePreprocessing(spec.size, spec.size), { onWarning: warn });
    } finally {
      await net.close();
    }
  }
  const ids = Array.from(out.rows, (r) => (named ? (named[r] as string) : relative(dir, files[r] as string)));
  return { z: out.x, ids, skipped };
}

async function embedRows(model: LoadedModel, input: PredictInput): Promise<Embedded> {
  const { x, ids, skipped } = backboneInputs(model, input);
  return { z: await embedWith(model, x, input.threads), ids, skipped };
}

function backboneInputs(model: LoadedModel, input: PredictInput): { x: Matrix; ids: string[]; skipped: string[] } {
  const spec = model.manifest.input;
  if (input.data === undefined) throw new InputError(`this model takes ${spec.kind === 'embeddings' ? 'embeddings' : 'CSV rows'}: give --data FILE`);
  const file = input.data;
  if (spec.kind === 'tabular') {
    const table = readCsvTable(file);
    const encoding = tabularEncodingFromJSON(spec.encoding, 'model manifest');
    const x = encodeFeatures(table, encoding);
    return { x, ids: idsOf(table.rows.length, input.id === undefined ? undefined : table.rows.map((r) => r[columnIndex(table, input.id as string, '--id')] as string)), skipped: [] };
  }
  if (spec.kind === 'raw-columns') {
    const csv = readNumericCsv(file, { features: spec.columns, text: input.id !== undefined ? [input.id] : [] });
    return { x: csv.x, ids: idsOf(csv.x.rows, csv.text[0]), skipped: [] };
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') {
    const { data, shape } = readNpy(file);
    if (shape.length !== 2) throw new InputError(`${file}: expected a 2-D array (rows x dim), received shape [${shape.join(', ')}]`);
    return { x: matrix(data, shape[0] as number, shape[1] as number), ids: idsOf(shape[0] as number), skipped: [] };
  }
  const isParquet = ext !== '.csv' && ext !== '.tsv' && parquetFiles(file).length > 0;
  const text = input.id !== undefined ? [input.id] : [];
  const read = isParquet ? readParquetEmbeddings(file, { text }) : readNumericCsv(file, { text });
  return { x: read.x, ids: idsOf(read.x.rows, read.text[0]), skipped: [] };
}

function idsOf(rows: number, column?: readonly string[]): string[] {
  return column ? [...column] : Array.from({ length: rows }, (_, i) => String(i + 1));
}

/** The images to predict, and with `id` the ids of the `labels` rows naming them. */
function imageFiles(input: PredictInput): { files: string[]; ids?: string[] } {
  const dir = input.images as string;
  if (input.labels !== undefined) {
    const { files, table } = readImageLabels({ images: dir, labels: input.labels, imageColumn: input.imageColumn ?? 'file' });
    return { files: [...files], ...(input.id !== undefined ? { ids: columnValues(table, input.id, '--id') } : {}) };
  }
  if (input.id !== undefined) {
    throw new InputError(`--id ${input.id}: with --images, ids come from a column of --labels FILE.csv; give --labels (without --id, rows are named by their image file)`);
  }
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a folder');
    names = readdirSync(dir);
  } catch {
    throw new InputError(`${dir}: image folder not found (--images)`);
  }
  const files = names.filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort().map((n) => join(dir, n));
  if (files.length === 0) throw new InputError(`${dir}: no images (.jpg, .png, .webp, ...) in this folder`);
  return { files };
}
