import { InputError } from '../errors.ts';
import { columnIndex, type CsvTable } from './csv-table.ts';
import type { EmbeddingSet } from './dataset.ts';
import { matrix, type Matrix } from './matrix.ts';
import {
  checkSensitiveColumn,
  classLookup,
  crossGroups,
  fitLabelCoding,
  labelIndex,
  normaliseLabel,
  sortValues,
} from './_internal/labels.ts';

/** Which columns of a CSV are the target, the sensitive attributes and the columns to leave out. */
export interface TabularOptions {
  /** Target column (`--target`). */
  readonly target: string;
  /** Target value that is class 1 (`--positive`); needed unless the target is 0/1 or false/true. */
  readonly positive?: string;
  /** Sensitive columns (`--sensitive a,b`), crossed into one group per row ("Female|Black"). */
  readonly sensitive: readonly string[];
  /** Columns that must not be features (`--drop`), e.g. ids. */
  readonly drop?: readonly string[];
  /** Also use the sensitive columns as features (`--keep-sensitive`); by default they are left out. */
  readonly keepSensitive?: boolean;
  /** Refuse a target with more than 2 values when `positive` is not given (default false: multi-class). */
  readonly requireBinary?: boolean;
}

/** A numeric feature column: standardised with training statistics; missing cells imputed. */
export interface NumericFeature {
  readonly kind: 'numeric';
  readonly column: string;
  /** Training mean of the non-missing values. */
  readonly mean: number;
  /** Training standard deviation (population, n in the denominator) of the non-missing values; 1 when 0. */
  readonly std: number;
  /** True when training had missing cells: an extra 0/1 feature `<column>=missing` follows the value. */
  readonly missingIndicator: boolean;
}

/** A categorical feature column: one 0/1 feature per training category (missing tokens such as `?` included). */
export interface CategoricalFeature {
  readonly kind: 'categorical';
  readonly column: string;
  /** Training categories, sorted; one feature `<column>=<category>` each. */
  readonly categories: readonly string[];
}

/** How one input column becomes features. */
export type FeatureEncoding = NumericFeature | CategoricalFeature;

/**
 * Everything needed to turn a CSV with the training columns into the same features, labels and groups:
 * saved beside the model (plain JSON) so that prediction applies the training transform.
 *
 * Transform (fitted on the training split only):
 * - numeric column (every cell a number or a missing token): x' = (x - mean) / std; a missing cell (empty, `?`,
 *   `NA`, `N/A`, `NaN`, `null`, `None`, `inf`, ...) is imputed with the mean (x' = 0) and, if the training column had
 *   missing cells, flagged in an extra `<column>=missing` 0/1 feature.
 * - categorical column (anything else): one-hot over the training categories, sorted; a missing token is a category
 *   of its own (`workclass=?`); a category not seen in training encodes as all zeros.
 * - target: values normalised (trim whitespace, drop one trailing '.'), then mapped to `classes`.
 * - groups: the sensitive columns crossed, names joined by '|'; `groupNames` are the training groups.
 *
 * @example
 * // adult.data with --target Y --positive '>50K' --sensitive sex:
 * // { format: 'fairhead.tabular-encoding', version: 1, target: 'Y', classes: ['<=50K', '>50K'], positive: '>50K',
 * //   sensitive: ['sex'], groupNames: ['Female', 'Male'], features: [{ kind: 'numeric', column: 'age', mean: 38.58, ... }, ...],
 * //   featureNames: ['age', 'workclass=?', 'workclass=Federal-gov', ...] }
 */
export interface TabularEncoding {
  readonly format: 'fairhead.tabular-encoding';
  readonly version: 1;
  readonly target: string;
  /** Always 'trim-and-one-trailing-period' (see {@link normaliseLabel}). */
  readonly labelNormalisation: 'trim-and-one-trailing-period';
  /** Class names by index: binary = [negative, positive]. */
  readonly classes: readonly string[];
  readonly positive: string | null;
  readonly oneVsRest: boolean;
  readonly sensitive: readonly string[];
  /** Training groups (crossed sensitive values). */
  readonly groupNames: readonly string[];
  readonly keepSensitive: boolean;
  /** Columns left out of the features on request (`--drop`). */
  readonly dropped: readonly string[];
  readonly features: readonly FeatureEncoding[];
  /** Name of each output feature, in matrix column order. */
  readonly featureNames: readonly string[];
}

/** Cells treated as missing in a numeric column (compared after trimming). */
export const MISSING_TOKENS: readonly string[] = ['', '?', 'NA', 'N/A', 'na', 'n/a', 'NaN', 'nan', 'NAN', 'null', 'NULL', 'None', 'none'];
const MISSING = new Set(MISSING_TOKENS);
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITE = /^[+-]?(?:inf|infinity)$/i;

/** A numeric cell's value: a finite number, NaN for missing (incl. non-finite), undefined for not a number. */
function numericCell(cell: string): number | undefined {
  if (MISSING.has(cell) || INFINITE.test(cell)) return Number.NaN;
  if (!NUMBER.test(cell)) return undefined;
  const v = Number(cell);
  return Number.isFinite(v) ? v : Number.NaN;
}

/**
 * Fit the encoding on a training table: choose the feature columns, their type and statistics, the classes and
 * the groups. Errors (InputError, naming the file and column): a missing target/sensitive/drop column, an empty
 * target cell, a target with one value or two unnamed values (asks for --positive), a sensitive column with one
 * value, no feature columns left.
 *
 * @example
 * const enc = fitTabularEncoding(readCsvTable('adult.data'), { target: 'Y', positive: '>50K', sensitive: ['sex'] });
 * enc.classes; // ['<=50K', '>50K']
 */
export function fitTabularEncoding(table: CsvTable, options: TabularOptions): TabularEncoding {
  const source = table.source;
  const targetJ = columnIndex(table, options.target, '--target');
  if (options.sensitive.length === 0) throw new InputError(`${source}: --sensitive needs at least one column`);
  const sensitiveJ = options.sensitive.map((s) => columnIndex(table, s, '--sensitive'));
  if (options.sensitive.includes(options.target)) {
    throw new InputError(`${source}: column "${options.target}" is both --target and --sensitive`);
  }
  const dropJ = new Set((options.drop ?? []).map((d) => columnIndex(table, d, '--drop')));
  if (table.rows.length === 0) throw new InputError(`${source}: no data rows`);

  const targets = targetValues(table, targetJ);
  const coding = fitLabelCoding(targets, options.positive, `${source} column "${options.target}"`, options.requireBinary ?? false);

  const sensitiveValues = sensitiveJ.map((j) => table.rows.map((row) => row[j] as string));
  sensitiveValues.forEach((values, k) => checkSensitiveColumn(values, options.sensitive[k] as string, source));
  const { groupNames } = crossGroups(sensitiveValues, table.rows.length);

  const keepSensitive = options.keepSensitive ?? false;
  const features: FeatureEncoding[] = [];
  table.header.forEach((column, j) => {
    if (j === targetJ || dropJ.has(j) || (!keepSensitive && sensitiveJ.includes(j))) return;
    features.push(fitColumn(table, column, j));
  });
  if (features.length === 0) {
    throw new InputError(`${source}: no feature columns left after the target, the sensitive columns and --drop; columns are: ${table.header.join(', ')}`);
  }
  return {
    format: 'fairhead.tabular-encoding',
    version: 1,
    target: options.target,
    labelNormalisation: 'trim-and-one-trailing-period',
    classes: coding.classes,
    positive: coding.positive,
    oneVsRest: coding.oneVsRest,
    sensitive: [...options.sensitive],
    groupNames,
    keepSensitive,
    dropped: [...(options.drop ?? [])],
    features,
    featureNames: features.flatMap(featureNamesOf),
  };
}

function targetValues(table: CsvTable, j: number): string[] {
  return table.rows.map((row, r) => {
    const v = normaliseLabel(row[j] as string);
    if (v === '') throw new InputError(`${table.source}: line ${table.lines[r]}: target column "${table.header[j]}" is empty`);
    return v;
  });
}

function fitColumn(table: CsvTable, column: string, j: number): FeatureEncoding {
  let numeric = true;
  let sum = 0;
  let count = 0;
  let missing = 0;
  for (const row of table.rows) {
    const v = numericCell(row[j] as string);
    if (v === undefined) {
      numeric = false;
      break;
    }
    if (Number.isNaN(v)) missing++;
    else {
      sum += v;
      count++;
    }
  }
  if (numeric && count > 0) {
    const mean = sum / count;
    let ss = 0;
    for (const row of table.rows) {
      const v = numericCell(row[j] as string) as number;
      if (!Number.isNaN(v)) ss += (v - mean) * (v - mean);
    }
    const std = Math.sqrt(ss / count);
    return { kind: 'numeric', column, mean, std: std > 0 ? std : 1, missingIndicator: missing > 0 };
  }
  const categories = sortValues([...new Set(table.rows.map((row) => row[j] as string))]);
  return { kind: 'categorical', column, categories };
}

function featureNamesOf(f: FeatureEncoding): string[] {
  if (f.kind === 'numeric') return f.missingIndicator ? [f.column, `${f.column}=missing`] : [f.column];
  return f.categories.map((c) => `${f.column}=${c}`);
}

/**
 * The feature matrix of `table` under `enc` (rows x enc.featureNames.length); needs only the feature columns, in
 * any order (prediction files need no target or sensitive column). Errors name the file, line and column: a
 * feature column missing, a non-numeric cell in a numeric column. Unknown categories encode as all zeros.
 *
 * @example
 * // enc: age numeric (mean 40, std 10), color categorical ['blue', 'red']; table: "age,color" / "50,red"
 * encodeFeatures(table, enc).data; // Float32Array [1, 0, 1]
 */
export function encodeFeatures(table: CsvTable, enc: TabularEncoding): Matrix {
  const cols = enc.featureNames.length;
  const rows = table.rows.length;
  const out = new Float32Array(rows * cols);
  let offset = 0;
  for (const f of enc.features) {
    const j = columnIndex(table, f.column, 'feature column');
    if (f.kind === 'numeric') {
      for (let r = 0; r < rows; r++) {
        const cell = (table.rows[r] as readonly string[])[j] as string;
        const v = numericCell(cell);
        if (v === undefined) {
          throw new InputError(`${table.source}: line ${table.lines[r]}: column "${f.column}" should be a number (it was numeric in training), received ${JSON.stringify(cell)}`);
        }
        const base = r * cols + offset;
        if (Number.isNaN(v)) {
          out[base] = 0;
          if (f.missingIndicator) out[base + 1] = 1;
        } else {
          out[base] = (v - f.mean) / f.std;
        }
      }
      offset += f.missingIndicator ? 2 : 1;
    } else {
      const index = new Map(f.categories.map((c, k) => [c, k]));
      for (let r = 0; r < rows; r++) {
        const k = index.get((table.rows[r] as readonly string[])[j] as string);
        if (k !== undefined) out[r * cols + offset + k] = 1;
      }
      offset += f.categories.length;
    }
  }
  return matrix(out, rows, cols);
}

/**
 * Features, labels and groups of `table` under `enc`. The target and sensitive columns must be present. A target
 * value outside `enc.classes` is an error naming the line (one-vs-rest encodings map it to class 0); a group not
 * seen in training is appended to `groupNames` (training groups keep their indices).
 *
 * @example
 * const test = encodeTabular(readCsvTable('adult.test'), enc); // '>50K.' -> class 1, as '>50K' in training
 */
export function encodeTabular(table: CsvTable, enc: TabularEncoding): EmbeddingSet {
  const x = encodeFeatures(table, enc);
  const targetJ = columnIndex(table, enc.target, '--target');
  const lookup = classLookup(enc);
  const targets = targetValues(table, targetJ);
  const y = new Int32Array(targets.length);
  targets.forEach((v, r) => {
    const k = labelIndex(enc, v, lookup);
    if (k < 0) {
      throw new InputError(`${table.source}: line ${table.lines[r]}: target ${JSON.stringify(v)} is not a training class; classes are: ${enc.classes.map((c) => JSON.stringify(c)).join(', ')}`);
    }
    y[r] = k;
  });
  const sensitiveValues = enc.sensitive.map((s) => {
    const j = columnIndex(table, s, '--sensitive');
    return table.rows.map((row) => row[j] as string);
  });
  const { group, groupNames } = crossGroups(sensitiveValues, table.rows.length, enc.groupNames);
  return { x, y, classes: enc.classes, group, groupNames };
}

/**
 * Read back a saved {@link TabularEncoding}, checking every field; `source` names the file in errors.
 *
 * @example
 * tabularEncodingFromJSON(JSON.parse(readFileSync('model/encoding.json', 'utf8')), 'model/encoding.json');
 */
export function tabularEncodingFromJSON(json: unknown, source: string): TabularEncoding {
  const bad = (what: string): never => {
    throw new InputError(`${source}: not a fairhead tabular encoding: ${what}`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('expected a JSON object');
  const o = json as Record<string, unknown>;
  if (o.format !== 'fairhead.tabular-encoding') return bad(`format should be "fairhead.tabular-encoding", received ${JSON.stringify(o.format)}`);
  if (o.version !== 1) return bad(`version ${JSON.stringify(o.version)} is not supported (this fairhead reads version 1)`);
  const str = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : bad(`"${k}" should be a string`));
  const strs = (k: string, v: unknown = o[k]): string[] =>
    Array.isArray(v) && v.every((s) => typeof s === 'string') ? [...(v as string[])] : bad(`"${k}" should be a list of strings`);
  const bool = (k: string): boolean => (typeof o[k] === 'boolean' ? (o[k] as boolean) : bad(`"${k}" should be true or false`));
  if (o.labelNormalisation !== 'trim-and-one-trailing-period') return bad('"labelNormalisation" should be "trim-and-one-trailing-period"');
  const positive = o.positive === null ? null : str('positive');
  if (!Array.isArray(o.features)) return bad('"features" should be a list');
  const features: FeatureEncoding[] = o.features.map((f: unknown, i: number) => {
    if (typeof f !== 'object' || f === null) return bad(`features[${i}] should be an object`);
    const g = f as Record<string, unknown>;
    if (typeof g.column !== 'string') return bad(`features[${i}].column should be a string`);
    if (g.kind === 'numeric') {
      if (typeof g.mean !== 'number' || !Number.isFinite(g.mean)) return bad(`features[${i}].mean should be a finite number`);
      if (typeof g.std !== 'number' || !(g.std > 0) || !Number.isFinite(g.std)) return bad(`features[${i}].std should be a positive number`);
      if (typeof g.missingIndicator !== 'boolean') return bad(`features[${i}].missingIndicator should be true or false`);
      return { kind: 'numeric', column: g.column, mean: g.mean, std: g.std, missingIndicator: g.missingIndicator };
    }
    if (g.kind === 'categorical') return { kind: 'categorical', column: g.column, categories: strs(`features[${i}].categories`, g.categories) };
    return bad(`features[${i}].kind should be "numeric" or "categorical", received ${JSON.stringify(g.kind)}`);
  });
  const classes = strs('classes');
  if (classes.length < 2) bad('"classes" needs at least 2 names');
  const featureNames = features.flatMap(featureNamesOf);
  const saved = strs('featureNames');
  if (saved.length !== featureNames.length || saved.some((n, i) => n !== featureNames[i])) {
    bad(`"featureNames" (${saved.length}) do not match the features (${featureNames.length})`);
  }
  return {
    format: 'fairhead.tabular-encoding',
    version: 1,
    target: str('target'),
    labelNormalisation: 'trim-and-one-trailing-period',
    classes,
    positive,
    oneVsRest: bool('oneVsRest'),
    sensitive: strs('sensitive'),
    groupNames: strs('groupNames'),
    keepSensitive: bool('keepSensitive'),
    dropped: strs('dropped'),
    features,
    featureNames,
  };
}
