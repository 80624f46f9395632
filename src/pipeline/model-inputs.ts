/**
 * Feeding an ONNX model what it expects, the same way in `run`, `predict` and the model folder: images through an
 * {@link ImagePreprocessing}, texts through a tokenizer.json into the model's token inputs (fed by name). Both are
 * described by plain JSON recorded in the manifest and metrics.json (see InputSpec in prepare.ts).
 */
import { firstLine, InputError } from '../errors.ts';
import type { CsvTable } from '../data/csv-table.ts';
import { concatRows, matrix, type Matrix } from '../data/matrix.ts';
import type { SkippedImage } from '../data/images.ts';
import { preprocessImageFile, tensorDims, type ImagePreprocessing } from '../data/image-preprocessing.ts';
import { loadTokenizer, type TextTokenizer, type TokenBatch } from '../data/text-tokenizer.ts';
import { describeInputs, type ModelInput } from '../backbone/_internal/onnx-graph.ts';
import type { FeedTensor, OnnxBackbone } from '../backbone/onnx.ts';

/** What the image embedding of a folder skipped and kept. */
export interface EmbeddedImages {
  readonly x: Matrix;
  /** Index into `files` of each embedded row (undecodable images are left out). */
  readonly rows: Int32Array;
  /** The images that could not be decoded, in file order (without `strict`). */
  readonly skipped: readonly SkippedImage[];
}

/** Options of {@link embedImageFiles}. */
export interface EmbedImageOptions {
  /** Fail on an undecodable image instead of skipping it. */
  readonly strict?: boolean;
  readonly onWarning?: (message: string) => void;
  readonly onProgress?: (done: number) => void;
  /** Images per onnxruntime run (default 64). */
  readonly batchSize?: number;
}

/** The model's one float image input (rank 4); InputError listing the inputs when there is not exactly one input. */
export function imageInput(net: OnnxBackbone): ModelInput {
  const floats = net.inputs.filter((i) => i.type === 'float32');
  if (net.inputs.length !== 1 || floats.length !== 1) {
    throw new InputError(`${net.file}: cannot tell what to feed: an image model takes one float input, the model's inputs are ${describeInputs(net.inputs)}`);
  }
  return floats[0] as ModelInput;
}

/**
 * Decode, preprocess and embed image files with `net`, batch by batch, decoding the next batch (on libuv's thread
 * pool) while onnxruntime runs the current one.
 */
export async function embedImageFiles(net: OnnxBackbone, files: readonly string[], preprocessing: ImagePreprocessing, options: EmbedImageOptions = {}): Promise<EmbeddedImages> {
  const input = imageInput(net);
  const dims = tensorDims(preprocessing);
  const per = dims[0] * dims[1] * dims[2];
  const batchSize = options.batchSize ?? 64;
  const load = (start: number): Promise<Array<{ index: number; x?: Float32Array; error?: string }>> =>
    Promise.all(
      files.slice(start, start + batchSize).map((f, k) =>
        preprocessImageFile(f, preprocessing).then(
          (x) => ({ index: start + k, x }),
          (error: unknown) => ({ index: start + k, error: firstLine(error instanceof Error ? error.message : String(error)) }),
        ),
      ),
    );
  const parts: Matrix[] = [];
  const rows: number[] = [];
  const skipped: SkippedImage[] = [];
  let next = load(0);
  for (let start = 0; start < files.length; start += batchSize) {
    const decoded = await next;
    if (start + batchSize < files.length) next = load(start + batchSize);
    const kept = decoded.filter((d) => {
      if (d.x) return true;
      const file = files[d.index] as string;
      if (options.strict) throw new InputError(`${file}: cannot decode image (${d.error ?? ''}); fix or remove it, or run without --strict to skip unreadable images`);
      options.onWarning?.(`${file}: skipped, cannot decode image (${d.error ?? ''})`);
      skipped.push({ index: d.index, file, reason: d.error ?? '' });
      return false;
    });
    if (kept.length > 0) {
      const data = new Float32Array(kept.length * per);
      kept.forEach((d, k) => data.set(d.x as Float32Array, k * per));
      const z = await net.embedBatch({ [input.name]: { type: 'float32', data, dims: [kept.length, ...dims] } }, kept.length);
      parts.push(z);
      rows.push(...kept.map((d) => d.index));
    }
    options.onProgress?.(Math.min(files.length, start + batchSize));
  }
  return { x: concatRows(parts, net.embeddingDim), rows: Int32Array.from(rows), skipped };
}

/** The texts of column `j` (named `column`) of `table`, one per row; InputError naming the line of an empty one. */
export function columnTexts(table: CsvTable, j: number, column: string): string[] {
  return table.rows.map((row, r) => {
    const value = row[j] as string;
    if (value.trim() === '') throw new InputError(`${table.source}: line ${table.lines[r] as number}: column "${column}" is empty; expected a text in every row`);
    return value;
  });
}

/** Token inputs a text model may declare, by the names Hugging Face exports give them. */
export const TEXT_INPUT_NAMES = ['input_ids', 'attention_mask', 'token_type_ids', 'position_ids'] as const;

/** A text model with its tokenizer, ready to embed texts. */
export interface TextModel {
  readonly tokenizer: TextTokenizer;
  /** Tokens per text at most, special tokens included. */
  readonly maxLength: number;
  /** The model's fixed sequence length, when it has one (rows are then padded to it). */
  readonly fixedLength?: number;
}

/**
 * Check that `net` is a text model fairhead can feed (inputs among {@link TEXT_INPUT_NAMES}, `input_ids`
 * required, int64 or int32, shape [batch, sequence]) and load its tokenizer. `maxLength` defaults to the model's
 * fixed sequence length, else the tokenizer's hint, else 512, and is capped at the model's fixed length.
 *
 * Errors (one line): a model input fairhead cannot feed (listing the inputs), a tokenizer that does not parse, a
 * tokenizer vocabulary larger than the model's embedding table.
 */
export function openTextModel(net: OnnxBackbone, tokenizerFile: string, maxLength?: number): TextModel {
  const known = new Set<string>(TEXT_INPUT_NAMES);
  const bad = net.inputs.filter((i) => !known.has(i.name) || !(i.type === 'int64' || i.type === 'int32') || i.shape.length !== 2);
  if (bad.length > 0 || !net.inputs.some((i) => i.name === 'input_ids')) {
    throw new InputError(
      `${net.file}: cannot tell what to feed ${bad.length > 0 ? bad.map((i) => `"${i.name}"`).join(', ') : '"input_ids"'} from text: the model's inputs are ${describeInputs(net.inputs)}; expected int64 [batch, sequence] inputs named ${TEXT_INPUT_NAMES.join(', ')} (input_ids required)`,
    );
  }
  const tokenizer = loadTokenizer(tokenizerFile);
  const table = net.vocabularyRows('input_ids');
  if (table !== undefined && tokenizer.vocabSize > table) {
    throw new InputError(`${tokenizerFile}: the tokenizer has ${tokenizer.vocabSize} token ids, the model's embedding table (fed by "input_ids") has ${table} rows; expected the tokenizer.json saved with this model`);
  }
  const fixed = net.inputs.map((i) => i.shape[1]).find((d): d is number => typeof d === 'number');
  const chosen = Math.min(maxLength ?? fixed ?? tokenizer.maxLengthHint ?? 512, fixed ?? Infinity);
  return { tokenizer, maxLength: chosen, ...(fixed !== undefined ? { fixedLength: fixed } : {}) };
}

/** The feeds of a token batch for `net`'s inputs (int64 or int32 each, as declared; position ids 0..L-1). */
export function tokenFeeds(net: OnnxBackbone, batch: TokenBatch): Record<string, FeedTensor> {
  const feeds: Record<string, FeedTensor> = {};
  const dims = [batch.rows, batch.length];
  for (const input of net.inputs) {
    let values: Int32Array;
    if (input.name === 'input_ids') values = batch.inputIds;
    else if (input.name === 'attention_mask') values = batch.attentionMask;
    else if (input.name === 'token_type_ids') values = batch.tokenTypeIds;
    else values = Int32Array.from({ length: batch.rows * batch.length }, (_, i) => i % batch.length);
    feeds[input.name] = input.type === 'int32' ? { type: 'int32', data: values, dims } : { type: 'int64', data: BigInt64Array.from(values, (v) => BigInt(v)), dims };
  }
  return feeds;
}

/** Options of {@link embedTexts}. */
export interface EmbedTextOptions {
  readonly onProgress?: (done: number) => void;
  /** Texts per onnxruntime run (default 64). */
  readonly batchSize?: number;
}

/**
 * Tokenise and embed `texts` with a text model, batch by batch (each batch padded to its longest text, or to the
 * model's fixed length). A token id at or beyond the model's embedding table is an InputError naming the row.
 */
export async function embedTexts(net: OnnxBackbone, model: TextModel, texts: readonly string[], options: EmbedTextOptions = {}): Promise<Matrix> {
  const batchSize = options.batchSize ?? 64;
  const out = new Float32Array(texts.length * net.embeddingDim);
  const table = net.vocabularyRows('input_ids');
  for (let start = 0; start < texts.length; start += batchSize) {
    const chunk = texts.slice(start, start + batchSize);
    const batch = model.tokenizer.encode(chunk, model.maxLength, model.fixedLength);
    if (table !== undefined) {
      const i = batch.inputIds.findIndex((id) => id >= table || id < 0);
      if (i >= 0) {
        throw new InputError(`${model.tokenizer.file}: text ${start + Math.floor(i / batch.length) + 1} has token id ${batch.inputIds[i]}, beyond the model's embedding table of ${table} rows; expected the tokenizer saved with this model`);
      }
    }
    const z = await net.embedBatch(tokenFeeds(net, batch), chunk.length);
    out.set(z.data, start * net.embeddingDim);
    options.onProgress?.(Math.min(texts.length, start + batchSize));
  }
  return matrix(out, texts.length, net.embeddingDim);
}

