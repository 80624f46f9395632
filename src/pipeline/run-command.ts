import { resolve } from 'node:path';
import type { BackboneOptions, DataOptions, HeadOptions } from './run-options.ts';

/** A value of an {@link OptionsRecord}: what a `--config` file holds for one key. */
export type OptionValue = string | number | boolean | readonly string[] | readonly number[];

/**
 * The options of a command as metrics.json records them (`context.options`): the keys of the data, backbone and
 * head flags in camelCase (those of a `--config` file), every path made absolute, so that `fairhead explore --from
 * DIR` can read the same data again from any folder and {@link runCommand} can print the command that repeats it.
 */
export type OptionsRecord = Readonly<Record<string, OptionValue>>;

/** The options a record can hold: data, backbone, head (all optional but target and sensitive) and bootstrap. */
export type RecordableOptions = DataOptions & BackboneOptions & Partial<HeadOptions> & { readonly bootstrap?: number };

/** How a key is written: 'size' a side N or HxW (`--image-size`, `--crop`), 'dims' CxHxW (`--input-size`). */
type Kind = 'path' | 'text' | 'list' | 'flag' | 'number' | 'numbers' | 'backbone' | 'size' | 'dims';

/** Every recordable key, in the order a command prints them, with how it is written. */
const KEYS: readonly (readonly [keyof RecordableOptions & string, Kind])[] = [
  ['data', 'path'],
  ['images', 'path'],
  ['labels', 'path'],
  ['imageColumn', 'text'],
  ['embeddings', 'path'],
  ['validationData', 'path'],
  ['testData', 'path'],
  ['target', 'text'],
  ['positive', 'text'],
  ['sensitive', 'list'],
  ['groupBy', 'list'],
  ['minGroupSize', 'number'],
  ['drop', 'list'],
  ['keepSensitive', 'flag'],
  ['validationFraction', 'number'],
  ['testFraction', 'number'],
  ['splitSeed', 'number'],
  ['strict', 'flag'],
  ['backbone', 'backbone'],
  ['embeddingNode', 'text'],
  ['hidden', 'numbers'],
  ['epochs', 'number'],
  ['imageSize', 'size'],
  ['textColumn', 'text'],
  ['tokenizer', 'path'],
  ['maxLength', 'number'],
  ['preprocess', 'path'],
  ['crop', 'size'],
  ['imageMean', 'numbers'],
  ['imageStd', 'numbers'],
  ['inputSize', 'dims'],
  ['imageFit', 'text'],
  ['resample', 'text'],
  ['channels', 'text'],
  ['layout', 'text'],
  ['cacheDir', 'path'],
  ['maxMemory', 'number'],
  ['threads', 'number'],
  ['method', 'text'],
  ['constraint', 'text'],
  ['alpha', 'number'],
  ['maxGap', 'number'],
  ['optimizer', 'text'],
  ['maxIterations', 'number'],
  ['seed', 'number'],
  ['bootstrap', 'number'],
];

/**
 * The record of `options` (see {@link OptionsRecord}): only the keys of `run`'s flags (others, such as `out` or a
 * sweep's lists, are left out), absent keys stay absent, paths become absolute (resolved
 * against the current folder), `onnx:FILE` backbones too; `cacheDir: false` (no cache) is left out.
 *
 * @example
 * optionsRecord({ data: 'adult.csv', target: 'y', sensitive: ['sex'], method: 'm2', alpha: 1 });
 * // { data: '/home/me/adult.csv', target: 'y', sensitive: ['sex'], method: 'm2', alpha: 1 }
 */
export function optionsRecord(options: RecordableOptions): OptionsRecord {
  const out: Record<string, OptionValue> = {};
  const source = options as unknown as Readonly<Record<string, unknown>>;
  for (const [key, kind] of KEYS) {
    const value = source[key];
    if (value === undefined || value === false) continue;
    if (kind === 'path' && typeof value === 'string') out[key] = resolve(value);
    else if (kind === 'backbone' && typeof value === 'string') out[key] = value.startsWith('onnx:') ? `onnx:${resolve(value.slice('onnx:'.length))}` : value;
    else if (kind === 'size' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const size = value as { height: number; width: number };
      out[key] = `${size.height}x${size.width}`;
    } else if (kind === 'dims' && Array.isArray(value)) out[key] = (value as number[]).join('x');
    else out[key] = value as OptionValue;
  }
  return out;
}

/**
 * Quote a word for a POSIX shell: as it is when it holds only safe characters, else in single quotes (a quote
 * inside becomes '\'').
 *
 * @example
 * shellWord('>50K'); // "'>50K'"
 * shellWord('/data/adult.csv'); // '/data/adult.csv'
 */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `camelCase` -> `--kebab-case`. */
function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * The command-line words of a record, in a stable order (flags of `true` booleans alone, lists comma-joined).
 *
 * @example
 * recordArgs({ data: '/d/a.csv', target: 'y', sensitive: ['sex', 'race'], keepSensitive: true });
 * // ['--data', '/d/a.csv', '--target', 'y', '--sensitive', 'sex,race', '--keep-sensitive']
 */
export function recordArgs(record: OptionsRecord): string[] {
  const args: string[] = [];
  for (const [key, kind] of KEYS) {
    const value = record[key];
    if (value === undefined || value === false) continue;
    if (kind === 'flag' || value === true) args.push(flagName(key));
    else args.push(flagName(key), Array.isArray(value) ? value.join(',') : String(value));
  }
  return args;
}

/**
 * The `fairhead run` command, as one line for a POSIX shell, that repeats a run from its record, writing to `out`.
 *
 * @example
 * runCommand({ data: '/d/adult.csv', target: 'y', positive: '>50K', sensitive: ['sex'], method: 'm2', alpha: 2 }, '/d/out');
 * // "fairhead run --data /d/adult.csv --target y --positive '>50K' --sensitive sex --method m2 --alpha 2 --out /d/out"
 */
export function runCommand(record: OptionsRecord, out: string): string {
  return ['fairhead', 'run', ...recordArgs(record), '--out', resolve(out)].map(shellWord).join(' ');
}

/**
 * The record as raw flag values (strings, `true` for set booleans), the form `--config` files take, for the CLI's
 * checked parsers (dataOptionsFrom, headOptionsFrom).
 */
export function recordAsFlags(record: OptionsRecord): Record<string, string | true> {
  const flags: Record<string, string | true> = {};
  for (const [key, value] of Object.entries(record)) {
    if (value === false) continue;
    flags[key] = value === true ? true : Array.isArray(value) ? value.join(',') : String(value);
  }
  return flags;
}
