import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { InputError, ShapeError } from '../errors.ts';
import { columnIndex, readCsvTable } from './csv-table.ts';
import type { EmbeddingSet } from './dataset.ts';
import { matrix, type Matrix } from './matrix.ts';
import { readNpy } from './npy.ts';
import { readNumericCsv } from './numeric-csv.ts';
import { hasParquetExtension, readParquetEmbeddings } from './parquet.ts';
import {
  checkSensitiveColumn,
  classLookup,
  crossGroups,
  fitLabelCoding,
  labelIndex,
  normaliseLabel,
  type LabelCoding,
} from './_internal/labels.ts';

export { readNpy, writeNpy } from './npy.ts';

/** Options of {@link readEmbeddings}. */
export interface ReadEmbeddingsOptions {
  /** Label column (`--target`); values are normalised (trimmed, one trailing '.' dropped). */
  readonly label: string;
  /** Sensitive columns, crossed into one group per row ("Female|Black"); empty -> one group "all". */
  readonly group: readonly string[];
  /** Label value that is class 1 (see {@link fitTabularEncoding}'s rules: 0/1 and false/true need none). */
  readonly positive?: string;
  /** Feature columns (CSV / Parquet); default f0, f1, ..., else a list column (Parquet), else every numeric column. */
  readonly features?: readonly string[];
  /** Labels CSV for a .npy file (one row per embedding row, same order); default `<name>.csv` beside it. */
  readonly labelsFile?: string;
  /** Classes of the training set, so that another set's labels get the same indices (unknown labels: error). */
  readonly classes?: readonly string[];
  /** Groups of the training set: they keep their indices; groups not among them are appended. */
  readonly groupNames?: readonly string[];
  /** Refuse more than 2 label values without `positive`. */
  readonly requireBinary?: boolean;
}

/**
 * Read embeddings brought by the user, with their labels and sensitive groups.
 *
 * - `.npy` (float32/float64, C order, 2-D `rows x dim`): labels and groups come from a sidecar CSV with one row per
 *   embedding row in the same order (`labelsFile`, default: the same name with `.csv`).
 * - `.csv` / `.tsv`: read in one streaming pass (see {@link readNumericCsv}); features are `f0, f1, ...` or every
 *   numeric column except the label and group columns.
 * - `.parquet` file or a folder of shards (Spark, Ray, pandas): see {@link readParquetEmbeddings}.
 *
 * Labels follow the tabular rules (two values need `positive` unless 0/1 or false/true; more are multi-class,
 * or one-vs-rest with `positive`); a sensitive column with one value is refused unless `groupNames` is given.
 * Errors name the file, row or column, and list what there is.
 *
 * @example
 * const train = await readEmbeddings('emb/train.parquet', { label: 'gender', group: ['race'], positive: '1' });
 * const test = await readEmbeddings('emb/test.npy', { label: 'gender', group: ['race'], positive: '1',
 *   classes: train.classes, groupNames: train.groupNames }); // labels from emb/test.csv
 */
export async function readEmbeddings(file: string, options: ReadEmbeddingsOptions): Promise<EmbeddingSet> {
  const text = [options.label, ...options.group];
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    throw new InputError(`${file}: file or folder not found`);
  }
  const ext = extname(file).toLowerCase();
  if (isDir || hasParquetExtension(file)) {
    const p = readParquetEmbeddings(file, { text, ...(options.features ? { features: options.features } : {}) });
    return assemble(p.x, p.text, options, file, (r) => `row ${r + 1}`);
  }
  if (ext === '.npy') return readNpyWithLabels(file, options);
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') {
    const t = readNumericCsv(file, { text, ...(options.features ? { features: options.features } : {}) });
    return assemble(t.x, t.text, options, file, (r) => `line ${t.lines[r]}`);
  }
  throw new InputError(`${file}: unknown embedding format "${ext || '(no extension)'}"; expected .npy, .csv, .tsv, .parquet or a folder of Parquet files`);
}

function readNpyWithLabels(file: string, options: ReadEmbeddingsOptions): EmbeddingSet {
  const { data, shape } = readNpy(file);
  if (shape.length !== 2) {
    throw new ShapeError(`${file}: .npy shape is (${shape.join(', ')}), expected 2-D (rows, dim); reshape with arr.reshape(len(arr), -1)`);
  }
  const [rows, dim] = shape as [number, number];
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      throw new InputError(`${file}: row ${Math.floor(i / dim) + 1}, feature ${i % dim}: not a finite number (${data[i]}); embeddings must be finite`);
    }
  }
  const labelsFile = options.labelsFile ?? file.replace(/\.npy$/i, '.csv');
  if (options.labelsFile === undefined && !existsSync(labelsFile)) {
    throw new InputError(`${file}: labels for a .npy file come from a CSV with one row per embedding; ${labelsFile} not found, pass --labels FILE`);
  }
  const table = readCsvTable(labelsFile);
  if (table.rows.length !== rows) {
    throw new ShapeError(`${labelsFile}: ${table.rows.length} label rows, but ${file} holds ${rows} embeddings; the labels CSV needs one row per embedding, in the same order`);
  }
  const columns = [options.label, ...options.group].map((name) => {
    const j = columnIndex(table, name, 'column');
    return table.rows.map((row) => row[j] as string);
  });
  return assemble(matrix(data, rows, dim), columns, options, labelsFile, (r) => `line ${table.lines[r]}`);
}

/** Turn the raw label and group strings into an EmbeddingSet (shared by every format). */
function assemble(
  x: Matrix,
  text: readonly (readonly string[])[],
  options: ReadEmbeddingsOptions,
  source: string,
  where: (row: number) => string,
): EmbeddingSet {
  const labels = (text[0] as readonly string[]).map((v, r) => {
    const s = normaliseLabel(v);
    if (s === '') throw new InputError(`${source}: ${where(r)}: label column "${options.label}" is empty`);
    return s;
  });
  let coding: LabelCoding;
  if (options.classes) {
    const pos = options.positive === undefined ? null : normaliseLabel(options.positive);
    coding = { classes: options.classes, positive: pos, oneVsRest: pos !== null && options.classes[0] === `not ${pos}` };
  } else {
    coding = fitLabelCoding(labels, options.positive, `${source} column "${options.label}"`, options.requireBinary ?? false);
  }
  const lookup = classLookup(coding);
  const y = new Int32Array(labels.length);
  labels.forEach((v, r) => {
    const k = labelIndex(coding, v, lookup);
    if (k < 0) {
      throw new InputError(`${source}: ${where(r)}: label ${JSON.stringify(v)} is not one of the classes ${coding.classes.map((c) => JSON.stringify(c)).join(', ')}`);
    }
    y[r] = k;
  });
  const groupColumns = text.slice(1);
  if (!options.groupNames) groupColumns.forEach((values, k) => checkSensitiveColumn(values, options.group[k] as string, source));
  const { group, groupNames } = crossGroups(groupColumns, labels.length, options.groupNames);
  return { x, y, classes: coding.classes, group, groupNames };
}
