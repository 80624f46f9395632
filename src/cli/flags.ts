import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../errors.ts';
import { createProgress, type Progress } from '../progress.ts';
import { IMAGE_FITS, type ImageFit } from '../data/images.ts';
import { IMAGE_RESAMPLES, type ImageResample, type PixelSize } from '../data/image-preprocessing.ts';
import {
  CONSTRAINTS,
  METHODS,
  OPTIMIZERS,
  choice,
  numberList,
  numberOption,
  type BackboneOptions,
  type DataOptions,
  type HeadOptions,
} from '../pipeline/run-options.ts';

/** Raw values as commander gives them (flags in camelCase), merged with a `--config` file's keys. */
export type RawFlags = Record<string, unknown>;

/** The data and backbone flags shared by `run`, `sweep` and `reproduce`; each maps one-to-one to an option key. */
export function addDataFlags(cmd: Command): Command {
  cmd
    .option('--data <file>', 'tabular CSV (training file; validation and test are split out of it unless given)')
    .option('--images <dir>', 'folder of images (with --labels)')
    .option('--labels <file>', 'CSV with one row per image (or per .npy embedding row)')
    .option('--image-column <col>', 'column of --labels holding each image file name', 'file')
    .option('--embeddings <file>', 'embeddings: .npy (labels from --labels), .csv, .parquet, or a folder of Parquet shards (fairhead embed --out, Spark, Ray)')
    .option('--validation-data <file>', 'validation file (default: a seeded stratified share of the training file)')
    .option('--test-data <file>', 'test file (default: a seeded stratified share of the training file)')
    .option('--target <col>', 'label column')
    .option('--positive <value>', 'value of the target that is the positive class (needed unless the target is 0/1), or a threshold on a numeric target, e.g. ">=30"')
    .option('--sensitive <cols>', 'sensitive column(s), comma-separated; several are crossed into intersectional groups')
    .option('--group-by <cols>', 'the sensitive columns whose crossed values make the groups (default: all of --sensitive)')
    .option('--min-group-size <n>', 'fold groups with fewer rows in train + validation into one group, "(other)"')
    .option('--drop <cols>', 'columns that must not be features, comma-separated')
    .option('--keep-sensitive', 'keep the sensitive columns among the features (default: left out)')
    .option('--validation-fraction <f>', 'share held out for validation when no file is given', '0.2')
    .option('--test-fraction <f>', 'share held out for test when no file is given', '0.2')
    .option('--split-seed <n>', 'seed of the train/validation/test split', '0')
    .option('--strict', 'fail on an unreadable image instead of skipping it')
    .option('--backbone <name>', 'mlp (pre-trained here on CSV), cnn (a small ResNet pre-trained here on images), onnx:FILE, face-api (images) or embeddings')
    .option('--hidden <sizes>', 'mlp hidden layer sizes, comma-separated')
    .option('--epochs <n>', 'mlp / cnn pre-training epochs (mlp stops early on validation)');
  addModelInputFlags(cmd, 'cnn: side of the square images it trains on (default 64); onnx: resize to N (a square, or the shortest edge with --crop) or HxW');
  return cmd
    .option('--cache-dir <dir>', 'embedding cache folder', '.fairhead-cache')
    .option('--max-memory <size>', 'memory budget, e.g. 512MB or 2GB: larger .npy or Parquet embeddings are streamed from disk')
    .option('--config <file>', 'JSON file with the same keys as the flags (camelCase); flags given override it');
}

/**
 * How an ONNX model is fed (`run`, `sweep`, `reproduce` and `embed`): its embedding tensor, an image model's
 * preprocessing, a text model's column and tokenizer. `imageSize` is the help of `--image-size`.
 */
export function addModelInputFlags(cmd: Command, imageSize = 'onnx image model: resize to N (a square, or the shortest edge with --crop) or HxW'): Command {
  return cmd
    .option('--text-column <col>', 'with --data and an onnx: text model: the column holding each row\'s text')
    .option('--embedding-node <name>', 'ONNX tensor entering the last layer (default: found automatically)')
    .option('--image-size <px>', imageSize)
    .option('--preprocess <file>', 'onnx image model: preprocessor_config.json (Hugging Face) or timm config (default: preprocessor_config.json beside the model)')
    .option('--crop <px>', 'onnx image model: centre crop N or HxW after the resize')
    .option('--image-mean <r,g,b>', 'onnx image model: per-channel mean subtracted after rescaling to [0, 1], e.g. 0.485,0.456,0.406')
    .option('--image-std <r,g,b>', 'onnx image model: per-channel standard deviation divided by, e.g. 0.229,0.224,0.225')
    .option('--input-size <CxHxW>', 'onnx image model with a dynamic height and width: the size to feed, e.g. 3x224x224')
    .option('--image-fit <fit>', `onnx image model: how an exact resize keeps the aspect ratio: ${IMAGE_FITS.join(', ')}`)
    .option('--resample <filter>', `onnx image model: resize filter (Pillow's, byte-exact): ${IMAGE_RESAMPLES.join(', ')}`)
    .option('--channels <order>', 'onnx image model: channel order the model takes: rgb or bgr')
    .option('--layout <layout>', 'onnx image model: nchw (channels first) or nhwc (default: from the model\'s input shape)')
    .option('--tokenizer <file>', 'onnx text model: tokenizer.json (default: tokenizer.json beside the model)')
    .option('--max-length <n>', 'onnx text model: tokens per text at most, special tokens included (default: the model\'s or tokenizer\'s, else 512)')
    .option('--threads <n>', THREADS_HELP);
}

/** The help of `--threads` (every command that runs a backbone). */
export const THREADS_HELP = 'threads the backbone runs on (onnx:, face-api, cnn; onnxruntime\'s intra-op threads; cnn pre-training: up to one copy of the network per thread, each on a share of 32 or more images of every batch), e.g. the cores a cluster task was given (default: onnxruntime\'s choice, one per core; face-api: 2)';

/** `--threads`, checked: an integer >= 1, or undefined when not given. */
export function threadsFrom(flags: RawFlags): number | undefined {
  return num(flags, 'threads', '--threads', { min: 1, integer: true });
}

/** The options of {@link addModelInputFlags}, checked. */
export function modelInputOptionsFrom(flags: RawFlags): Pick<DataOptions, 'textColumn'> & Omit<BackboneOptions, 'backbone' | 'hidden' | 'epochs' | 'cacheDir'> {
  return {
    ...opt('textColumn', str(flags, 'textColumn')),
    ...opt('embeddingNode', str(flags, 'embeddingNode')),
    ...opt('imageSize', pixelSize(str(flags, 'imageSize'), '--image-size')),
    ...opt('preprocess', str(flags, 'preprocess')),
    ...opt('crop', pixelSize(str(flags, 'crop'), '--crop')),
    ...opt('imageMean', channelTriple(str(flags, 'imageMean'), '--image-mean', false)),
    ...opt('imageStd', channelTriple(str(flags, 'imageStd'), '--image-std', true)),
    ...opt('inputSize', inputSizeOf(str(flags, 'inputSize'))),
    ...opt('imageFit', maybeChoice(str(flags, 'imageFit'), IMAGE_FITS, 'image fit') as ImageFit | undefined),
    ...opt('resample', maybeChoice(str(flags, 'resample'), IMAGE_RESAMPLES, 'resample filter') as ImageResample | undefined),
    ...opt('channels', maybeChoice(str(flags, 'channels'), ['rgb', 'bgr'] as const, 'channel order')),
    ...opt('layout', maybeChoice(str(flags, 'layout'), ['nchw', 'nhwc'] as const, 'layout')),
    ...opt('tokenizer', str(flags, 'tokenizer')),
    ...opt('maxLength', num(flags, 'maxLength', '--max-length', { min: 2, integer: true })),
    ...opt('threads', threadsFrom(flags)),
  };
}

/**
 * What each `--method` fits, for the help of `run` and `sweep` (the formulas of src/pipeline/finetune-sets.ts).
 */
export const METHODS_HELP = `
Methods (--method): the rows the last layer is fitted on, and its loss
  b1   the training split; cross-entropy
  b2   the validation split; cross-entropy
  b3   a group-balanced sample of train + validation: every (label, group) cell as large as the smallest; cross-entropy
  m1   the validation split; cross-entropy + alpha x penalty
  m2   the group-balanced sample of b3; cross-entropy + alpha x penalty. Half its rows are positive whatever the
       data's share, so its head learns a shifted intercept (on Adult: 6 points of accuracy, balanced accuracy kept)
  m2w  weighted M2: every row of train + validation; row i of cell (y, g) weighted w = n_y / (G n_yg) in the
       cross-entropy and the penalty (n_y rows of label y, n_yg of them in group g, G groups): the groups weigh the
       same within each label and the labels keep the data's shares; deterministic (no sample). On Adult it keeps
       m2's gap at a fraction of m2's accuracy cost (fairhead reproduce; docs/reproduction.md)`;

/** The fine-tuning flags of `run`. */
export function addHeadFlags(cmd: Command): Command {
  return cmd
    .option('--method <name>', `fine-tuning set and loss: ${METHODS.join(', ')} (see Methods below)`, 'm2')
    .option('--constraint <name>', `fairness penalty: ${CONSTRAINTS.join(', ')}`, 'eo')
    .option('--alpha <n>', 'penalty weight', '1')
    .option('--max-gap <g>', 'target mode: the most accurate head whose gap on the fine-tuning set is at most G')
    .option('--optimizer <name>', `${OPTIMIZERS.join(', ')} (paper = the authors' SGD recipe)`, 'lbfgs')
    .option('--max-iterations <n>', 'lbfgs: iteration cap, a guard (default 5000; fits stop at their tolerance; an alpha above 1 is reached through 1, 10, 100, ..., and those steps count); paper: epochs (default 1000)')
    .option('--seed <n>', 'seed of sampling and training', '0');
}

/** Flags merged over the `--config` file's keys (a flag left at its default does not override the file). */
export function mergeConfig(cmd: Command, flags: RawFlags): RawFlags {
  const file = flags['config'];
  if (typeof file !== 'string') return flags;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`--config ${file}: ${code === 'ENOENT' ? 'file not found' : 'is not valid JSON'}`);
  }
  if (!config || typeof config !== 'object' || Array.isArray(config)) throw new InputError(`--config ${file}: expected a JSON object of flag values`);
  const known = new Set(cmd.options.map((o) => o.attributeName()));
  const merged: RawFlags = {};
  for (const [key, value] of Object.entries(config)) {
    if (!known.has(key)) throw new InputError(`--config ${file}: unknown key "${key}". Valid: ${[...known].sort().join(', ')}`);
    merged[key] = Array.isArray(value) ? value.join(',') : typeof value === 'boolean' ? value : String(value);
  }
  for (const [key, value] of Object.entries(flags)) {
    if (cmd.getOptionValueSource(key) === 'default' && key in merged) continue;
    merged[key] = value;
  }
  return merged;
}

function str(flags: RawFlags, key: string): string | undefined {
  const v = flags[key];
  return typeof v === 'string' ? v : undefined;
}

function list(flags: RawFlags, key: string): string[] | undefined {
  const v = str(flags, key);
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function num(flags: RawFlags, key: string, option: string, opts: { min?: number; integer?: boolean } = {}): number | undefined {
  const v = str(flags, key);
  return v === undefined ? undefined : numberOption(v, option, opts);
}

/** Data + backbone options from flags, checked. */
export function dataOptionsFrom(flags: RawFlags): DataOptions & BackboneOptions {
  const target = str(flags, 'target');
  if (target === undefined) throw new InputError('--target COL is required (the label column)');
  const sensitive = list(flags, 'sensitive');
  if (!sensitive || sensitive.length === 0) throw new InputError('--sensitive COL[,COL] is required (the sensitive attribute(s))');
  const hidden = str(flags, 'hidden');
  const out: DataOptions & BackboneOptions = {
    target,
    sensitive,
    ...opt('data', str(flags, 'data')),
    ...opt('images', str(flags, 'images')),
    ...opt('labels', str(flags, 'labels')),
    ...opt('imageColumn', str(flags, 'imageColumn')),
    ...opt('embeddings', str(flags, 'embeddings')),
    ...opt('validationData', str(flags, 'validationData')),
    ...opt('testData', str(flags, 'testData')),
    ...opt('positive', str(flags, 'positive')),
    ...opt('groupBy', list(flags, 'groupBy')),
    ...opt('minGroupSize', num(flags, 'minGroupSize', '--min-group-size', { min: 0, integer: true })),
    ...opt('drop', list(flags, 'drop')),
    ...opt('keepSensitive', flags['keepSensitive'] === true ? true : undefined),
    ...opt('validationFraction', num(flags, 'validationFraction', '--validation-fraction', { min: 0 })),
    ...opt('testFraction', num(flags, 'testFraction', '--test-fraction', { min: 0 })),
    ...opt('splitSeed', num(flags, 'splitSeed', '--split-seed', { integer: true })),
    ...opt('strict', flags['strict'] === true ? true : undefined),
    ...opt('backbone', str(flags, 'backbone')),
    ...opt('hidden', hidden === undefined ? undefined : numberList(hidden, '--hidden', { min: 1, integer: true })),
    ...opt('epochs', num(flags, 'epochs', '--epochs', { min: 1, integer: true })),
    ...modelInputOptionsFrom(flags),
    ...opt('cacheDir', str(flags, 'cacheDir')),
    ...opt('maxMemory', byteSizeOf(str(flags, 'maxMemory'))),
  };
  const backbone = out.backbone;
  if (backbone !== undefined && !['mlp', 'cnn', 'face-api', 'embeddings'].includes(backbone) && !backbone.startsWith('onnx:')) {
    throw new InputError(`Unknown backbone "${backbone}". Valid: mlp, cnn, onnx:FILE, face-api, embeddings`);
  }
  return out;
}

function maybeChoice<T extends string>(value: string | undefined, valid: readonly T[], what: string): T | undefined {
  return value === undefined ? undefined : choice(value, valid, what);
}

/**
 * Parse an image size: `N` (a number of pixels, returned as a number) or `HxW` (returned as height and width).
 * InputError naming `option` otherwise.
 *
 * @example
 * parsePixelSize('224', '--crop');    // 224
 * parsePixelSize('48x192', '--crop'); // { height: 48, width: 192 }
 */
export function parsePixelSize(text: string, option: string): number | PixelSize {
  const m = /^\s*(\d+)\s*(?:[xX×]\s*(\d+)\s*)?$/.exec(text);
  const [h, w] = [Number(m?.[1]), m?.[2] === undefined ? undefined : Number(m[2])];
  if (!m || !(h >= 1) || (w !== undefined && !(w >= 1))) throw new InputError(`${option}: expected a size in pixels, N or HxW (e.g. 224 or 48x192), received "${text}"`);
  return w === undefined ? h : { height: h, width: w };
}

function pixelSize(text: string | undefined, option: string): number | PixelSize | undefined {
  return text === undefined ? undefined : parsePixelSize(text, option);
}

function channelTriple(text: string | undefined, option: string, positive: boolean): number[] | undefined {
  if (text === undefined) return undefined;
  const values = numberList(text, option, positive ? { min: Number.MIN_VALUE } : {});
  if (values.length !== 3) throw new InputError(`${option}: expected 3 comma-separated numbers, one per channel (e.g. 0.5,0.5,0.5), received "${text}"`);
  return values;
}

function inputSizeOf(text: string | undefined): [number, number, number] | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*(\d+)\s*[xX×]\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(text);
  const dims = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (!m || dims.some((d) => !(d >= 1))) throw new InputError(`--input-size: expected channels x height x width, e.g. 3x224x224, received "${text}"`);
  return dims as [number, number, number];
}

const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 2 ** 10, kb: 2 ** 10, kib: 2 ** 10, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30, t: 2 ** 40, tb: 2 ** 40, tib: 2 ** 40 };

/**
 * Parse a size in bytes: a number with an optional unit K/KB/KiB, M/MB/MiB, G/GB/GiB, T/TB/TiB (powers of 1024,
 * case-insensitive), e.g. for `--max-memory`. InputError naming `option` otherwise.
 *
 * @example
 * parseByteSize('512MB'); // 536870912
 * parseByteSize('1.5g');  // 1610612736
 */
export function parseByteSize(text: string, option = '--max-memory'): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase()];
  const bytes = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : NaN;
  if (!(bytes >= 1)) throw new InputError(`${option}: expected a size such as 512MB, 2GB or 1048576 (bytes), received "${text}"`);
  return bytes;
}

function byteSizeOf(text: string | undefined): number | undefined {
  return text === undefined ? undefined : parseByteSize(text);
}

/** Fine-tuning options from flags, checked. */
export function headOptionsFrom(flags: RawFlags): HeadOptions {
  const maxGap = num(flags, 'maxGap', '--max-gap', { min: 0 });
  const maxIterations = num(flags, 'maxIterations', '--max-iterations', { integer: true, min: 1 });
  return {
    method: choice(str(flags, 'method') ?? 'm2', METHODS, 'method'),
    constraint: choice(str(flags, 'constraint') ?? 'eo', CONSTRAINTS, 'constraint'),
    alpha: num(flags, 'alpha', '--alpha', { min: 0 }) ?? 1,
    ...(maxGap !== undefined ? { maxGap } : {}),
    optimizer: choice(str(flags, 'optimizer') ?? 'lbfgs', OPTIMIZERS, 'optimizer'),
    seed: num(flags, 'seed', '--seed', { integer: true, min: 0 }) ?? 0,
    ...(maxIterations !== undefined ? { maxIterations } : {}),
  };
}

/** `{ [key]: value }` when value is defined, else `{}` (for exactOptionalPropertyTypes). */
export function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** Progress bars on stderr unless quiet. */
export function progressFactory(quiet: boolean): (label: string, total: number) => Progress {
  return (label, total) => createProgress({ label, total, quiet });
}

/** Print a status line to stderr unless quiet (stdout is kept for results). */
export function logger(quiet: boolean): (message: string) => void {
  return (message) => {
    if (!quiet) process.stderr.write(`${message}\n`);
  };
}

/**
 * Print a warning to stderr, whatever --quiet or --json say: a run that did not converge, or a group too small to
 * measure, must reach the user who scripts the command too (stdout, which carries --json's output, stays clean).
 */
export function warn(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}
