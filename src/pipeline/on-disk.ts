import { closeSync, createReadStream, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { parse } from 'csv-parse';
import { extname } from 'node:path';
import { fileReadError, InputError } from '../errors.ts';
import { columnIndex, fieldCountProblem } from '../data/csv-table.ts';
import type { EmbeddingSet } from '../data/dataset.ts';
import { diskRows, findNonFinite, openDiskMatrix, readDiskRows, type DiskEmbeddingSet } from '../data/disk-matrix.ts';
import { hasParquetExtension, parquetFiles } from '../data/parquet.ts';
import { locateParquetRows, openParquetRows, readParquetText } from '../data/parquet-rows.ts';
import type { RowSource } from '../data/row-source.ts';
import { labelGroupStrata, stratifiedSplit } from '../data/splits.ts';
import { parserMessage, RecordLines } from '../data/_internal/record-lines.ts';
import { SMALL_CELL_BOOTSTRAP } from '../fairness/metrics/index.ts';
import { checkSensitiveColumn, classLookup, crossGroups, fitLabelCoding, labelIndex, normaliseLabel } from '../data/_internal/labels.ts';
import type { SplitSummary } from '../report/schema.ts';
import { fitHead, fitHeadOnDisk, type FitResult } from '../train/fit.ts';
import { evaluateHead, evaluateHeadOnDisk } from './evaluate.ts';
import { headFitOptions, methodFitOptions, remedyHead, runRecord, type FinetuneHooks, type FinetuneOutcome } from './finetune.ts';
import { balancedOfUnion } from './finetune-sets.ts';
import type { PreparedData } from './prepare.ts';
import type { BackboneOptions, DataOptions, HeadOptions } from './run-options.ts';

/** Train, validation and test rows of an embeddings file that stays on disk (see {@link PreparedData.onDisk}). */
export interface OnDiskSplits {
  readonly train: DiskEmbeddingSet;
  readonly validation: DiskEmbeddingSet;
  readonly test: DiskEmbeddingSet;
  /** The memory budget (`--max-memory`, bytes). */
  readonly budgetBytes: number;
}

/**
 * True when the embeddings at `file`, loaded, would not fit `budgetBytes`: an `.npy`, or Parquet (one file or a
 * folder of shards, sized by its files: embeddings are stored uncompressed, as floats hardly compress). Loading
 * holds the values and their train/validation/test copies (about twice their size), so inputs above half the
 * budget are streamed.
 *
 * @example
 * streamsFromDisk('big.npy', 512 * 2 ** 20); // true for a 4 GB file
 * streamsFromDisk('emb/', 2 ** 30);          // true for 20 GB of shards
 */
export function streamsFromDisk(file: string, budgetBytes: number | undefined): boolean {
  if (budgetBytes === undefined) return false;
  try {
    const ext = extname(file).toLowerCase();
    if (ext === '.npy') return 2 * statSync(file).size > budgetBytes;
    if (!isParquetInput(file)) return false;
    return 2 * parquetFiles(file).reduce((sum, f) => sum + statSync(f).size, 0) > budgetBytes;
  } catch {
    return false; // the reader names the missing file
  }
}

/** A `.parquet` / `.parq` / `.pq` file or a folder (of Parquet files). */
function isParquetInput(file: string): boolean {
  return hasParquetExtension(file) || statSync(file).isDirectory();
}

/**
 * `--embeddings big.npy` or `--embeddings shards/` with `--max-memory SIZE`: labels and groups in memory (from the
 * .npy's labels CSV, or from the Parquet files' own columns, read a row group at a time), the embeddings left on
 * disk, split like the in-memory path (seeded, stratified by (label, group) cell; same rows for the same seed).
 * train / validation / test of the result are placeholders holding labels and shape (`x.data` is empty); the
 * rows are in `onDisk`. Every value is checked finite: an .npy in one streamed pass, Parquet as it is decoded.
 */
export async function prepareEmbeddingsOnDisk(options: DataOptions & BackboneOptions & { embeddings: string }, budgetBytes: number, warnings: string[]): Promise<PreparedData> {
  const file = options.embeddings;
  if (options.validationData !== undefined || options.testData !== undefined) {
    throw new InputError(`${file} is streamed from disk (larger than --max-memory): validation and test are seeded shares of it; --validation-data / --test-data are not supported with streaming, raise --max-memory or leave them out`);
  }
  let m: RowSource;
  let labels: Omit<EmbeddingSet, 'x'>;
  if (extname(file).toLowerCase() === '.npy') {
    const npy = openDiskMatrix(file);
    m = npy;
    const bad = await findNonFinite(diskRows(npy));
    if (bad) {
      npy.close();
      throw new InputError(`${file}: row ${bad.row + 1}, feature ${bad.col}: not a finite number (${bad.value}); embeddings must be finite`);
    }
    const labelsFile = options.labels ?? file.replace(/\.npy$/i, '.csv');
    const [target, ...sensitive] = await readCsvColumns(labelsFile, [options.target, ...options.sensitive]);
    if ((target as string[]).length !== npy.rows) {
      npy.close();
      throw new InputError(`${labelsFile}: ${(target as string[]).length} label rows, but ${file} holds ${npy.rows} embeddings; the labels CSV needs one row per embedding, in the same order`);
    }
    labels = codeLabels(target as string[], sensitive, labelsFile, options);
  } else {
    const where = await locateParquetRows(file, { text: [options.target, ...options.sensitive] });
    const [target, ...sensitive] = await readParquetText(where, [options.target, ...options.sensitive]);
    labels = codeLabels(target as string[], sensitive, file, options);
    m = await openParquetRows(where);
  }
  const fractions = { validation: options.validationFraction ?? 0.2, test: options.testFraction ?? 0.2 };
  const split = stratifiedSplit(labelGroupStrata(labels.y, labels.group, labels.groupNames.length), fractions, options.splitSeed ?? 0);
  const part = (index: Int32Array): DiskEmbeddingSet => ({
    x: diskRows(m, index),
    y: index.map((i) => labels.y[i] as number),
    group: index.map((i) => labels.group[i] as number),
    classes: labels.classes,
    groupNames: labels.groupNames,
  });
  const onDisk: OnDiskSplits = { train: part(split.train), validation: part(split.validation), test: part(split.test), budgetBytes };
  return {
    train: placeholder(onDisk.train),
    validation: placeholder(onDisk.validation),
    test: placeholder(onDisk.test),
    onDisk,
    dataset: file,
    input: { kind: 'embeddings' },
    warnings,
    backbone: { kind: 'embeddings', spec: 'embeddings', parameterCount: 0, seconds: 0 },
  };
}

/** An EmbeddingSet with the labels of `set` and the shape of its rows, but no values. */
function placeholder(set: DiskEmbeddingSet): EmbeddingSet {
  return { ...set, x: { data: new Float32Array(0), rows: set.x.rows, cols: set.x.cols } };
}

/**
 * Labels and groups from the raw label and sensitive columns (the rules of readEmbeddings); each distinct value is
 * normalised once (a 2M-row column of strings, handled one by one, would cost seconds). `source` names the file
 * in messages.
 */
function codeLabels(labels: string[], sensitive: readonly (readonly string[])[], source: string, options: DataOptions): Omit<EmbeddingSet, 'x'> {
  const normalised = new Map<string, string>();
  for (let r = 0; r < labels.length; r++) {
    const v = labels[r] as string;
    let s = normalised.get(v);
    if (s === undefined) normalised.set(v, (s = normaliseLabel(v)));
    if (s === '') throw new InputError(`${source}: row ${r + 1}: label column "${options.target}" is empty`);
    labels[r] = s;
  }
  const coding = fitLabelCoding(new Set(labels), options.positive, `${source} column "${options.target}"`, true);
  const lookup = classLookup(coding);
  const y = new Int32Array(labels.length);
  for (let r = 0; r < labels.length; r++) y[r] = labelIndex(coding, labels[r] as string, lookup);
  sensitive.forEach((values, k) => checkSensitiveColumn(values, options.sensitive[k] as string, source));
  const { group, groupNames } = crossGroups(sensitive, labels.length);
  return { y, classes: coding.classes, group, groupNames };
}

/**
 * The columns `names` of a CSV file (rules of readCsvTable: BOM, trimmed fields, delimiter , ; or tab guessed from
 * the header, quoted fields, every row as many fields as the header), streamed; equal values share one string.
 */
async function readCsvColumns(file: string, names: readonly string[]): Promise<string[][]> {
  let head: Buffer;
  try {
    const fd = openSync(file, 'r');
    head = Buffer.alloc(65536);
    head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    closeSync(fd);
  } catch (error) {
    throw fileReadError(file, error);
  }
  const firstLine = head.toString('utf8').replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? '';
  const delimiter = ([',', ';', '\t'] as const).map((d) => [d, firstLine.split(d).length - 1] as const).sort((a, b) => b[1] - a[1])[0];
  const parser = createReadStream(file).pipe(
    parse({ delimiter: delimiter && delimiter[1] > 0 ? delimiter[0] : ',', bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }),
  );
  let header: string[] | null = null;
  let picks: number[] = [];
  const columns: string[][] = names.map(() => []);
  const interned = names.map(() => new Map<string, string>());
  // byte offset (in the file) where the last good record ended: errors are rare, so their line is counted then
  let end = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { bytes: number } }>) {
      if (!header) {
        header = record;
        picks = names.map((name) => columnIndex({ source: file, header: record, rows: [], lines: [] }, name, 'column'));
        end = info.bytes;
        continue;
      }
      if (record.length === 1 && record[0] === '') continue;
      if (record.length !== header.length) throw new InputError(`${file}: ${fieldCountProblem(new RecordLines(readFileSync(file)).startAfter(end), record.length, header.length)}`);
      picks.forEach((j, c) => {
        const v = record[j] as string;
        const seen = (interned[c] as Map<string, string>).get(v);
        if (seen === undefined) (interned[c] as Map<string, string>).set(v, v);
        (columns[c] as string[]).push(seen ?? v);
      });
      end = info.bytes;
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${file}: line ${new RecordLines(readFileSync(file)).startAfter(end)}: ${parserMessage(error)}`);
  }
  if (!header) throw new InputError(`${file}: file is empty, expected a header line and rows`);
  return columns;
}

/**
 * {@link finetuneAndEvaluate} for data on disk: the fine-tuning set of `method` (B1 train, B2/M1 validation,
 * B3/M2 a group-balanced sample of train + validation) is read into memory when it takes at most a quarter of the
 * budget, else trained by streaming ({@link fitHeadOnDisk}, L-BFGS only); train, validation and test are evaluated
 * by streaming ({@link evaluateHeadOnDisk}).
 */
export async function finetuneAndEvaluateOnDisk(prepared: PreparedData, onDisk: OnDiskSplits, options: HeadOptions, hooks: FinetuneHooks = {}): Promise<FinetuneOutcome> {
  const { train, validation } = onDisk;
  let set: DiskEmbeddingSet;
  if (options.method === 'b1') set = train;
  else if (options.method === 'b2' || options.method === 'm1') set = validation;
  else set = balancedOnDisk(train, validation, options.seed, prepared.dataset, options.method === 'm2w');
  const fitOptions = { ...headFitOptions(options, hooks), ...methodFitOptions(options.method, set, prepared.dataset) };
  const inMemory = set.x.rows * set.x.cols * 4 <= onDisk.budgetBytes / 4 ? { ...set, x: await readDiskRows(set.x) } : null;
  const fitted: FitResult = inMemory ? await fitHead(inMemory, fitOptions) : await fitHeadOnDisk(set, fitOptions);
  const fit: FitResult = { ...fitted, head: remedyHead(options.method, fitted.head, train, validation, set) };
  // as evaluateSplits in memory: test intervals when asked, printed splits with a small cell always
  const printed = { smallCellBootstrap: SMALL_CELL_BOOTSTRAP, seed: options.seed };
  const splits: { train: SplitSummary; finetune: SplitSummary; validation: SplitSummary; test: SplitSummary } = {
    train: await evaluateHeadOnDisk(fit.head, train, printed),
    finetune: inMemory ? evaluateHead(fit.head, inMemory) : await evaluateHeadOnDisk(fit.head, set),
    validation: await evaluateHeadOnDisk(fit.head, validation, printed),
    test: await evaluateHeadOnDisk(fit.head, onDisk.test, { ...printed, bootstrap: hooks.bootstrap ?? 0 }),
  };
  const record = runRecord(prepared, options, fit, splits, set.x.rows);
  return { head: fit.head, record, fit };
}

/**
 * B3/M2/M2p on disk: the balanced sample of train + validation (as finetuneSet draws it), as file rows in file
 * order; M2w (`all`): every row of train + validation.
 */
function balancedOnDisk(train: DiskEmbeddingSet, validation: DiskEmbeddingSet, seed: number, source: string, all = false): DiskEmbeddingSet {
  const nTrain = train.y.length;
  const union = balancedOfUnion(train, validation, seed, `${source}: train + validation`, all);
  const { y, group, idx: picked } = union;
  const fileRow = (p: number): number => {
    const index = p < nTrain ? train.x.index : validation.x.index;
    const at = p < nTrain ? p : p - nTrain;
    return index ? (index[at] as number) : at;
  };
  const order = Array.from(picked).sort((a, b) => fileRow(a) - fileRow(b));
  return {
    x: diskRows(train.x.matrix, Int32Array.from(order, fileRow)),
    y: Int32Array.from(order, (p) => y[p] as number),
    group: Int32Array.from(order, (p) => group[p] as number),
    classes: train.classes,
    groupNames: train.groupNames,
  };
}
