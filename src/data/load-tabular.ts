import { InputError } from '../errors.ts';
import { columnIndex, readCsvTable, type CsvTable } from './csv-table.ts';
import type { EmbeddingSet } from './dataset.ts';
import { stratifiedSplit } from './splits.ts';
import { encodeTabular, fitTabularEncoding, type TabularEncoding, type TabularOptions } from './tabular.ts';
import { normaliseLabel } from './_internal/labels.ts';

/** Where one split came from: a whole file, or a seeded stratified share of the training file. */
export interface TabularSource {
  readonly file: string;
  readonly rows: number;
  /** Share of `file` taken by the seeded split, or null when the whole file is this split. */
  readonly fraction: number | null;
  readonly seed: number | null;
}

/** Options of {@link loadTabular}: the columns plus the files or split fractions. */
export interface LoadTabularOptions extends TabularOptions {
  readonly train: string;
  readonly validation?: string;
  readonly test?: string;
  /** Share of the training file held out for validation when no validation file is given (default 0.2). */
  readonly validationFraction?: number;
  /** Share of the training file held out for test when no test file is given (default 0.2). */
  readonly testFraction?: number;
  /** Seed of the split (default 0). */
  readonly seed?: number;
}

/** Train / validation / test sets encoded with one encoding fitted on the training split. */
export interface LoadedTabular {
  readonly train: EmbeddingSet;
  readonly validation: EmbeddingSet;
  readonly test: EmbeddingSet;
  readonly encoding: TabularEncoding;
  readonly sources: { readonly train: TabularSource; readonly validation: TabularSource; readonly test: TabularSource };
}

/** Default share of the training file held out for validation / test when no file is given. */
export const DEFAULT_SPLIT_FRACTION = 0.2;

/**
 * Load a tabular task: read the CSV files, split what is missing out of the training file (stratified by the
 * (normalised target, crossed sensitive value) cell, seeded), fit the encoding on the training split only, then
 * encode all three. A validation or test file given explicitly is used whole.
 *
 * @example
 * const { train, test, encoding } = loadTabular({ train: 'adult.data', test: 'adult.test', target: 'Y',
 *   positive: '>50K', sensitive: ['sex'] });
 * // train: 80% of adult.data, validation: the other 20%, test: all 16,281 rows of adult.test
 */
export function loadTabular(options: LoadTabularOptions): LoadedTabular {
  const seed = options.seed ?? 0;
  const full = readCsvTable(options.train);
  const validationFraction = options.validation === undefined ? (options.validationFraction ?? DEFAULT_SPLIT_FRACTION) : 0;
  const testFraction = options.test === undefined ? (options.testFraction ?? DEFAULT_SPLIT_FRACTION) : 0;
  let trainTable = full;
  let validationTable: CsvTable | undefined;
  let testTable: CsvTable | undefined;
  if (options.validation === undefined || options.test === undefined) {
    const split = stratifiedSplit(rawStrata(full, options), { validation: validationFraction, test: testFraction }, seed);
    trainTable = subsetTable(full, split.train);
    if (options.validation === undefined) validationTable = subsetTable(full, split.validation);
    if (options.test === undefined) testTable = subsetTable(full, split.test);
  }
  validationTable ??= readCsvTable(options.validation as string);
  testTable ??= readCsvTable(options.test as string);
  if (trainTable.rows.length === 0) throw new InputError(`${options.train}: no rows left for training`);

  const encoding = fitTabularEncoding(trainTable, options);
  const source = (table: CsvTable, file: string | undefined, fraction: number): TabularSource =>
    file === undefined
      ? { file: options.train, rows: table.rows.length, fraction, seed }
      : { file, rows: table.rows.length, fraction: null, seed: null };
  const splitTrain = options.validation === undefined || options.test === undefined;
  return {
    train: encodeTabular(trainTable, encoding),
    validation: encodeTabular(validationTable, encoding),
    test: encodeTabular(testTable, encoding),
    encoding,
    sources: {
      train: splitTrain
        ? { file: options.train, rows: trainTable.rows.length, fraction: 1 - validationFraction - testFraction, seed }
        : { file: options.train, rows: trainTable.rows.length, fraction: null, seed: null },
      validation: source(validationTable, options.validation, validationFraction),
      test: source(testTable, options.test, testFraction),
    },
  };
}

/** Stratum per row: the (normalised target, crossed sensitive values) pair, numbered in first-seen order. */
function rawStrata(table: CsvTable, options: TabularOptions): Int32Array {
  const targetJ = columnIndex(table, options.target, '--target');
  const sensitiveJ = options.sensitive.map((s) => columnIndex(table, s, '--sensitive'));
  const ids = new Map<string, number>();
  const strata = new Int32Array(table.rows.length);
  table.rows.forEach((row, r) => {
    const key = [normaliseLabel(row[targetJ] as string), ...sensitiveJ.map((j) => (row[j] as string).trim())].join('\u0000');
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    strata[r] = id;
  });
  return strata;
}

function subsetTable(table: CsvTable, indices: Int32Array): CsvTable {
  const rows = Array.from(indices, (i) => table.rows[i] as readonly string[]);
  const lines = Array.from(indices, (i) => table.lines[i] as number);
  return { source: table.source, header: table.header, rows, lines };
}
