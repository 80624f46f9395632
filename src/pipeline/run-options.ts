import { InputError } from '../errors.ts';
import type { ImageInputOptions, PixelSize } from '../data/image-preprocessing.ts';

/**
 * The fine-tuning methods `--method` offers (see finetune-sets.ts): the paper's b1, b2, b3, m1, m2, and m2w (weighted
 * M2: M2's group balance without its prior shift).
 */
export const METHODS = ['b1', 'b2', 'b3', 'm1', 'm2', 'm2w'] as const;
/**
 * A method of {@link METHODS}, or `m2p` (prior-corrected M2), which `fairhead reproduce` measures beside m2w and
 * `--method` does not offer: moving M2's intercept gives part of its gap back (docs/reproduction.md).
 */
export type Method = (typeof METHODS)[number] | 'm2p';

/** Fairness constraints, by their registry names. */
export const CONSTRAINTS = ['eo', 'dp', 'eopp', 'di', 'ae', 'mmf'] as const;
export type Constraint = (typeof CONSTRAINTS)[number];

export const OPTIMIZERS = ['lbfgs', 'paper'] as const;
export type Optimizer = (typeof OPTIMIZERS)[number];

/** Where the rows come from. Exactly one of `data`, `images` or `embeddings` is set. */
export interface DataOptions {
  /** Tabular CSV (training file; validation/test are split out of it unless given). */
  readonly data?: string;
  /** Folder of images, with `labels` (a CSV, one row per image) and `imageColumn`. */
  readonly images?: string;
  readonly labels?: string;
  readonly imageColumn?: string;
  /**
   * Embeddings brought by the user: .npy (+ `labels` CSV), .csv, .parquet, or a folder of Parquet shards (a
   * `fairhead embed` folder is checked first: every shard there, alike and intact).
   */
  readonly embeddings?: string;
  /** Separate validation / test files of the same kind as the main input (else seeded stratified splits). */
  readonly validationData?: string;
  readonly testData?: string;
  readonly target: string;
  /** Value of the target that is the positive class (when the target is not 0/1). */
  readonly positive?: string;
  readonly sensitive: readonly string[];
  readonly drop?: readonly string[];
  readonly keepSensitive?: boolean;
  readonly validationFraction?: number;
  readonly testFraction?: number;
  /** Seed of the train/validation/test split (default 0), separate from the training seed. */
  readonly splitSeed?: number;
  /** Fail on an unreadable image instead of skipping it. */
  readonly strict?: boolean;
  /** With `data` and an `onnx:` text model: the column holding each row's text (tokenised with `tokenizer`). */
  readonly textColumn?: string;
  /**
   * The sensitive columns whose crossed values make the groups (`--group-by`, a subset of `sensitive`; default:
   * all). Every sensitive column still stays out of the features and stratifies the splits. See grouping.ts.
   */
  readonly groupBy?: readonly string[];
  /** Groups with fewer rows in train + validation are folded into one group, "(other)" (`--min-group-size`). */
  readonly minGroupSize?: number;
  /**
   * Memory budget in bytes (`--max-memory`): `.npy` or Parquet embeddings too large to load within it (over half the
   * budget: loading also copies the splits) stay on disk; training and evaluation then stream them (Parquet a row
   * group at a time).
   */
  readonly maxMemory?: number;
}

/**
 * The frozen representation: `mlp` or `cnn` (pre-trained here), `onnx:FILE`, `face-api`, or `embeddings`
 * (identity). An `onnx:` image model's preprocessing comes from {@link ImageInputOptions} (config file and flags);
 * a text model's tokenizer from `tokenizer` (default: tokenizer.json beside the model).
 */
export interface BackboneOptions extends Omit<ImageInputOptions, 'imageSize'> {
  readonly backbone?: string;
  readonly embeddingNode?: string;
  /** Hidden layer sizes of the `mlp` backbone. */
  readonly hidden?: readonly number[];
  /** Pre-training epochs of the `mlp` and `cnn` backbones. */
  readonly epochs?: number;
  /**
   * `cnn`: side of the square images it trains on (default 64). `onnx:` image models: the resize, N (a square, or
   * the shortest edge when there is a `crop`) or height x width.
   */
  readonly imageSize?: number | PixelSize;
  /** Text models: the tokenizer.json (default: beside the model file). */
  readonly tokenizer?: string;
  /** Text models: tokens per text at most, special tokens included (default: the model's, the tokenizer's, or 512). */
  readonly maxLength?: number;
  readonly cacheDir?: string | false;
  /** Threads the backbone runs on (onnxruntime's intra-op threads: onnx:, face-api, cnn); default: onnxruntime's choice (face-api: 2). */
  readonly threads?: number;
}

/** One fine-tuning run. */
export interface HeadOptions {
  readonly method: Method;
  readonly constraint: Constraint;
  readonly alpha: number;
  /** Target mode: the most accurate head whose gap on the fine-tuning set is at most this. */
  readonly maxGap?: number;
  readonly optimizer: Optimizer;
  readonly seed: number;
  /** lbfgs: the iteration cap (default 5,000, a guard: fits stop at their tolerance); paper: the epochs (default 1,000). */
  readonly maxIterations?: number;
}

export interface RunOptions extends DataOptions, BackboneOptions, HeadOptions {
  readonly out: string;
  readonly quiet?: boolean;
  /** Bootstrap resamples for 95% intervals on test metrics (0 = none). */
  readonly bootstrap?: number;
}

/** Check a name against a list of valid choices, with a message that lists them. */
export function choice<T extends string>(value: string, valid: readonly T[], option: string): T {
  if ((valid as readonly string[]).includes(value)) return value as T;
  throw new InputError(`Unknown ${option} "${value}". Valid: ${valid.join(', ')}`);
}

/** Parse a comma-separated list of choices (`eo,dp`). */
export function choices<T extends string>(value: string, valid: readonly T[], option: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new InputError(`${option}: expected a comma-separated list of ${valid.join(', ')}`);
  return items.map((s) => choice(s, valid, option));
}

/** Parse a finite number, naming the option when it is not one. */
export function numberOption(value: string, option: string, { min = -Infinity, integer = false } = {}): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new InputError(`${option}: expected ${kind}${min > -Infinity ? ` >= ${min}` : ''}, received "${value}"`);
  }
  return n;
}

/** Parse a comma-separated list of numbers (`0,0.5,1`). */
export function numberList(value: string, option: string, opts: { min?: number; integer?: boolean } = {}): number[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new InputError(`${option}: expected a comma-separated list of numbers, received "${value}"`);
  return items.map((s) => numberOption(s, option, opts));
}
