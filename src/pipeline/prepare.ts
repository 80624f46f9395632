import { performance } from 'node:perf_hooks';
import { InputError } from '../errors.ts';
import { createHash } from 'node:crypto';
import { columnIndex, readCsvTable, type CsvTable } from '../data/csv-table.ts';
import type { EmbeddingSet } from '../data/dataset.ts';
import { readEmbeddings } from '../data/embeddings.ts';
import { checkShardFolder, isShardFolder, readShardsManifest } from '../data/embedding-shards.ts';
import { imageBatches, readImageLabels, type SkippedImage } from '../data/images.ts';
import { loadTabular } from '../data/load-tabular.ts';
import { concatRows, matrix, type Matrix } from '../data/matrix.ts';
import { labelGroupStrata, stratifiedSplit, subsetEmbeddingSet } from '../data/splits.ts';
import type { TabularEncoding } from '../data/tabular.ts';
import { checkSensitiveColumn, classLookup, crossGroups, fitLabelCoding, labelIndex, normaliseLabel } from '../data/_internal/labels.ts';
import type { Backbone } from '../backbone/backbone.ts';
import { cachedEmbeddings, hashFiles, type JsonValue } from '../backbone/embedding-cache.ts';
import { loadFaceApiBackbone, type ImageEmbeddings } from '../backbone/face-api.ts';
import { trainMlp, type MlpBackbone, type MlpOptions } from '../backbone/mlp.ts';
import { trainCnn, type CnnBackbone, type CnnImageSet, type CnnOptions } from '../backbone/cnn.ts';
import { loadOnnxBackbone, type OnnxBackbone, type OnnxBackboneOptions } from '../backbone/onnx.ts';
import { featureInput } from '../backbone/_internal/onnx-graph.ts';
import { resolveImagePreprocessing, type ImagePreprocessing } from '../data/image-preprocessing.ts';
import { columnTexts, embedImageFiles, embedTexts, imageInput, openTextModel } from './model-inputs.ts';
import { existsSync } from 'node:fs';
import { sha256OfFile } from '../hash.ts';
import { dirname, join } from 'node:path';
import type { LinearHead } from '../head/linear-head.ts';
import { silentProgress, type Progress } from '../progress.ts';
import { regroup } from './grouping.ts';
import { numericGroupWarnings } from './numeric-groups.ts';
import { prepareEmbeddingsOnDisk, streamsFromDisk, type OnDiskSplits } from './on-disk.ts';
import type { BackboneOptions, DataOptions } from './run-options.ts';
import { startTrainerThreads } from '../train/threaded-ops.ts';

/** Train, validation and test embeddings, and what made them. */
export interface PreparedData {
  readonly train: EmbeddingSet;
  readonly validation: EmbeddingSet;
  readonly test: EmbeddingSet;
  readonly backbone: PreparedBackbone;
  /** Human-readable name of the input, for reports. */
  readonly dataset: string;
  /** How raw rows become backbone inputs, so `predict` can repeat it. */
  readonly input: InputSpec;
  /** Warnings met on the way (skipped images, ...). */
  readonly warnings: readonly string[];
  /**
   * Set when the embeddings exceed `maxMemory` and stay on disk: the rows of each split are here, and `train`,
   * `validation`, `test` hold only labels, groups and shape (their `x.data` is empty).
   */
  readonly onDisk?: OnDiskSplits;
  /**
   * Embeddings of a folder written by `fairhead embed` whose backbone is at hand (face-api, or the ONNX model file
   * the manifest names, with the same content): that backbone and how raw rows became its input, so that the model
   * folder takes raw inputs as a run on them would.
   */
  readonly embeddedBy?: { readonly backbone: PreparedBackbone; readonly input: InputSpec };
}

/** The frozen backbone, with what export and reports need. */
export interface PreparedBackbone {
  /** `mlp`, `onnx`, `face-api` or `embeddings`. */
  readonly kind: 'mlp' | 'cnn' | 'onnx' | 'face-api' | 'embeddings';
  /** As given on the command line (`onnx:model.onnx`). */
  readonly spec: string;
  readonly parameterCount: number;
  /** Seconds spent pre-training and embedding (0 when served from the cache). */
  readonly seconds: number;
  /** The network's own last layer, when it has one: the "shipped" baseline. */
  readonly shippedHead?: LinearHead;
  /** The pre-trained MLP or CNN, to save with the model. */
  readonly mlp?: MlpBackbone;
  readonly cnn?: CnnBackbone;
  /** The ONNX model file and the embedding tensor, for export. */
  readonly onnxFile?: string;
  readonly embeddingNode?: string;
  /** Text models: the tokenizer.json used (copied into the model folder). */
  readonly tokenizerFile?: string;
}

/** How `predict` turns new raw rows into backbone inputs. */
export type InputSpec =
  | { readonly kind: 'tabular'; readonly encoding: TabularEncoding }
  | { readonly kind: 'raw-columns'; readonly columns: readonly string[] }
  /**
   * Images: `hwc-bytes` (cnn, face-api: size x size RGB bytes), `nchw-unit` (ONNX models of fairhead < 0.2: resized to
   * size x size, [0, 1], NCHW), `preprocessed` (ONNX models: `preprocessing` says everything; `size` is its height).
   */
  | { readonly kind: 'images'; readonly size: number; readonly layout: 'hwc-bytes' | 'nchw-unit' | 'preprocessed'; readonly preprocessing?: ImagePreprocessing }
  /**
   * Texts of CSV column `column` tokenised by `tokenizer` (a path during a run; the file name inside a model folder),
   * at most `maxLength` tokens each, fed to the model's token inputs by name.
   */
  | { readonly kind: 'text'; readonly column: string; readonly tokenizer: string; readonly tokenizerSha256: string; readonly maxLength: number }
  | { readonly kind: 'embeddings'; readonly features?: readonly string[] };

export interface PrepareHooks {
  readonly progress?: (label: string, total: number) => Progress;
  readonly onWarning?: (message: string) => void;
  /**
   * `--backbone cnn` only: called once with the decoded images of each split (the same rows, in the same order, as
   * the embedded train / validation / test sets), e.g. to train another network on exactly these splits.
   */
  readonly onCnnImageSets?: (sets: { readonly train: CnnImageSet; readonly validation: CnnImageSet; readonly test: CnnImageSet }) => void;
  /**
   * `mlp` and `cnn` backbones: options of their ERM pre-training beyond `hidden`, `epochs` and the seed (e.g. a
   * network trained until it fits its training data: `keepBest: false`, no augmentation), and a call after every
   * epoch with its training and validation numbers (the training curve).
   */
  readonly pretraining?: {
    readonly mlp?: Partial<Omit<MlpOptions, 'hidden' | 'epochs' | 'seed'>>;
    readonly cnn?: Partial<Omit<CnnOptions, 'epochs' | 'seed'>>;
    readonly onEpoch?: (epoch: PretrainingEpoch) => void;
  };
}

/** One epoch of a backbone's pre-training, as {@link PrepareHooks.pretraining}'s `onEpoch` receives it. */
export interface PretrainingEpoch {
  readonly epoch: number;
  /** Accuracy and mean loss over the epoch's training batches (each measured before its update step). */
  readonly trainAccuracy: number;
  readonly trainLoss: number;
  readonly validationAccuracy: number;
  readonly validationLoss: number;
  /** Seconds since the pre-training started. */
  readonly seconds: number;
}

/**
 * Step (1) and (2) of the method: read the data, pre-train (mlp) or load (onnx, face-api) the backbone, freeze it,
 * and embed train, validation and test. Splits missing as files are seeded and stratified by (label, group) cell.
 * Last, `groupBy` and `minGroupSize` regroup the rows (grouping.ts): the splits and features stay those of all
 * the sensitive columns.
 *
 * Valid pairs: CSV with `mlp` (default; features inferred, standardised, one-hot) or `onnx:FILE` (the numeric
 * feature columns in file order, as they are), CSV with `textColumn` and an `onnx:FILE` text model (tokenised with
 * its tokenizer.json, fed by input name), images with `face-api` (default), `cnn` or `onnx:FILE` (preprocessed as
 * its config and the flags say: src/data/image-preprocessing.ts), embeddings with `embeddings` (identity).
 */
export async function prepareData(options: DataOptions & BackboneOptions, hooks: PrepareHooks = {}): Promise<PreparedData> {
  const inputs = [options.data, options.images, options.embeddings].filter((v) => v !== undefined);
  if (inputs.length !== 1) throw new InputError('give exactly one of --data FILE.csv, --images DIR (with --labels), or --embeddings FILE');
  if (options.sensitive.length === 0) throw new InputError('--sensitive: name at least one sensitive column');
  // every caller fits heads on what this returns: the trainer's worker threads start while the data loads
  void startTrainerThreads();
  const backbone = options.backbone ?? (options.images !== undefined ? 'face-api' : options.embeddings !== undefined ? 'embeddings' : 'mlp');
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    hooks.onWarning?.(m);
  };
  const progress = hooks.progress ?? (() => silentProgress);
  const prepared = await prepareInput(options, backbone, progress, warn, warnings, hooks);
  for (const m of numericGroupWarnings(prepared.train.groupNames, options.sensitive, prepared.dataset)) warn(m);
  if (options.groupBy === undefined && options.minGroupSize === undefined) return prepared;
  const regrouped = regroup(prepared, options.sensitive, {
    ...(options.groupBy !== undefined ? { groupBy: options.groupBy } : {}),
    ...(options.minGroupSize !== undefined ? { minGroupSize: options.minGroupSize } : {}),
  });
  for (const m of regrouped.warnings) warn(m);
  return regrouped.prepared;
}

/** The loader and backbone of prepareData's input ({@link PreparedData.warnings} is `warnings`). */
function prepareInput(
  options: DataOptions & BackboneOptions,
  backbone: string,
  progress: (label: string, total: number) => Progress,
  warn: (m: string) => void,
  warnings: string[],
  hooks: PrepareHooks,
): Promise<PreparedData> {
  if (options.data !== undefined && options.textColumn !== undefined) {
    if (!backbone.startsWith('onnx:')) throw new InputError(`--text-column needs a text model: --backbone onnx:FILE (received "${backbone}")`);
    return prepareText(options, options.data, options.textColumn, backbone, progress, warn, warnings);
  }
  if (options.data !== undefined) {
    if (backbone === 'mlp') return prepareTabularMlp(options, options.data, progress, warn, warnings, hooks);
    if (backbone.startsWith('onnx:')) return prepareTabularOnnx(options, options.data, backbone, warnings);
    if (backbone === 'embeddings') return prepareEmbeddings({ ...options, embeddings: options.data }, warnings);
    throw new InputError(`--backbone ${backbone} does not take a CSV of rows; valid with --data: mlp, onnx:FILE, embeddings`);
  }
  if (options.images !== undefined) {
    if (backbone === 'face-api' || backbone === 'cnn' || backbone.startsWith('onnx:')) return prepareImages(options, options.images, backbone, progress, warn, warnings, hooks);
    throw new InputError(`--backbone ${backbone} does not take images; valid with --images: face-api, cnn, onnx:FILE`);
  }
  if (backbone !== 'embeddings') throw new InputError(`--embeddings needs --backbone embeddings (the embeddings are already the frozen representation), received "${backbone}"`);
  return prepareEmbeddings(options, warnings);
}

async function prepareTabularMlp(
  options: DataOptions & BackboneOptions,
  file: string,
  progress: NonNullable<PrepareHooks['progress']>,
  warn: (message: string) => void,
  warnings: string[],
  hooks: PrepareHooks = {},
): Promise<PreparedData> {
  const loaded = loadTabular({ ...tabularOptions(options), train: file });
  for (const message of identifierWarnings(loaded.encoding, loaded.train.y.length, file)) warn(message);
  const started = performance.now();
  const epochs = options.epochs ?? 50;
  const bar = progress('pre-training mlp (epochs)', epochs);
  const fit = await trainMlp(
    loaded.train,
    loaded.validation,
    { ...hooks.pretraining?.mlp, ...(options.hidden ? { hidden: [...options.hidden] } : {}), epochs, seed: options.splitSeed ?? 0 },
    (p) => {
      bar.update(p.epoch);
      hooks.pretraining?.onEpoch?.({ epoch: p.epoch, trainAccuracy: p.trainAccuracy, trainLoss: p.trainLoss, validationAccuracy: p.validationAccuracy, validationLoss: p.validationLoss, seconds: p.seconds });
    },
  );
  bar.stop();
  const net = fit.backbone;
  const embed = async (set: EmbeddingSet): Promise<EmbeddingSet> => ({ ...set, x: await net.embed(set.x) });
  const [train, validation, test] = [await embed(loaded.train), await embed(loaded.validation), await embed(loaded.test)];
  return {
    train,
    validation,
    test,
    dataset: file,
    input: { kind: 'tabular', encoding: loaded.encoding },
    warnings,
    backbone: {
      kind: 'mlp',
      spec: 'mlp',
      parameterCount: net.parameterCount,
      seconds: (performance.now() - started) / 1000,
      shippedHead: fit.head,
      mlp: net,
    },
  };
}

/**
 * Columns that look like row identifiers (a text column with a distinct value in most training rows): one-hot
 * encoding them adds a feature per row and teaches the network nothing that carries over to new rows.
 */
export function identifierWarnings(encoding: TabularEncoding, trainRows: number, file: string): string[] {
  return encoding.features
    .filter((f) => f.kind === 'categorical' && f.categories.length >= 50 && f.categories.length > 0.5 * trainRows)
    .map((f) => `${file}: column "${f.column}" has ${f.kind === 'categorical' ? f.categories.length : 0} distinct values in ${trainRows} training rows and looks like an identifier; it became one feature per value (leave it out with --drop ${/^[\w.,:/=+-]+$/.test(f.column) ? f.column : JSON.stringify(f.column)})`);
}

function tabularOptions(options: DataOptions) {
  return {
    target: options.target,
    sensitive: options.sensitive,
    ...(options.positive !== undefined ? { positive: options.positive } : {}),
    ...(options.drop !== undefined ? { drop: options.drop } : {}),
    ...(options.keepSensitive !== undefined ? { keepSensitive: options.keepSensitive } : {}),
    ...(options.validationData !== undefined ? { validation: options.validationData } : {}),
    ...(options.testData !== undefined ? { test: options.testData } : {}),
    ...(options.validationFraction !== undefined ? { validationFraction: options.validationFraction } : {}),
    ...(options.testFraction !== undefined ? { testFraction: options.testFraction } : {}),
    seed: options.splitSeed ?? 0,
    requireBinary: true,
  };
}

/** CSV + ONNX model: the model's own features are the numeric columns other than target, sensitive and dropped. */
async function prepareTabularOnnx(options: DataOptions & BackboneOptions, file: string, spec: string, warnings: string[]): Promise<PreparedData> {
  const modelFile = spec.slice('onnx:'.length);
  const net = await loadOnnxBackbone(modelFile, onnxOptions(options));
  try {
    featureInput(net.inputs, modelFile);
    const excluded = new Set([options.target, ...options.sensitive, ...(options.drop ?? [])]);
    const table = readCsvTable(file);
    const columns = table.header.filter((h) => !excluded.has(h));
    if (columns.length !== net.inputFeatures) {
      throw new InputError(`${modelFile}: the model takes ${net.inputFeatures} input features, but ${file} has ${columns.length} feature columns (${columns.slice(0, 8).join(', ')}${columns.length > 8 ? ', ...' : ''}); use --drop to leave columns out`);
    }
    // Re-read each split's raw columns in the order the encoding saw its rows.
    const sets = await rawSplits(options, file, columns);
    const started = performance.now();
    const embed = async (set: EmbeddingSet): Promise<EmbeddingSet> => ({ ...set, x: await net.embed(set.x) });
    const [train, validation, test] = [await embed(sets.train), await embed(sets.validation), await embed(sets.test)];
    return {
      train,
      validation,
      test,
      dataset: file,
      input: { kind: 'raw-columns', columns },
      warnings,
      backbone: onnxInfo(net, spec, (performance.now() - started) / 1000),
    };
  } finally {
    await net.close();
  }
}

function onnxInfo(net: OnnxBackbone, spec: string, seconds: number): PreparedBackbone {
  return {
    kind: 'onnx',
    spec,
    parameterCount: net.parameterCount,
    seconds,
    shippedHead: net.shippedHead,
    onnxFile: net.file,
    embeddingNode: net.embeddingNode,
  };
}

/** Raw numeric columns of a CSV, with labels and groups, split like every other input. */
async function rawSplits(options: DataOptions, file: string, columns: readonly string[]): Promise<{ train: EmbeddingSet; validation: EmbeddingSet; test: EmbeddingSet }> {
  const read = (f: string, classes?: readonly string[], groupNames?: readonly string[]): Promise<EmbeddingSet> =>
    readEmbeddings(f, {
      label: options.target,
      group: options.sensitive,
      features: columns,
      requireBinary: true,
      ...(options.positive !== undefined ? { positive: options.positive } : {}),
      ...(classes ? { classes } : {}),
      ...(groupNames ? { groupNames } : {}),
    });
  return splitSets(options, await read(file), (f, like) => read(f, like.classes, like.groupNames));
}

async function prepareEmbeddings(options: DataOptions & BackboneOptions & { embeddings?: string }, warnings: string[]): Promise<PreparedData> {
  const file = options.embeddings as string;
  // a folder written by `fairhead embed`: every shard there, complete and alike, before any is read
  let embeddedBy: PreparedData['embeddedBy'];
  if (isShardFolder(file)) {
    await checkShardFolder(file);
    embeddedBy = await shardsBackbone(file, warnings);
  }
  const by = embeddedBy ? { embeddedBy } : {};
  if (options.maxMemory !== undefined && streamsFromDisk(file, options.maxMemory)) {
    return { ...(await prepareEmbeddingsOnDisk({ ...options, embeddings: file }, options.maxMemory, warnings)), ...by };
  }
  const read = (f: string, classes?: readonly string[], groupNames?: readonly string[]): Promise<EmbeddingSet> =>
    readEmbeddings(f, {
      label: options.target,
      group: options.sensitive,
      requireBinary: true,
      // --labels names the labels CSV of the main .npy file; validation/test .npy files use their own sidecar
      ...(options.labels !== undefined && f === file ? { labelsFile: options.labels } : {}),
      ...(options.positive !== undefined ? { positive: options.positive } : {}),
      ...(classes ? { classes } : {}),
      ...(groupNames ? { groupNames } : {}),
    });
  const sets = await splitSets(options, await read(file), (f, like) => read(f, like.classes, like.groupNames));
  return {
    ...sets,
    dataset: file,
    input: { kind: 'embeddings' },
    warnings,
    backbone: { kind: 'embeddings', spec: 'embeddings', parameterCount: 0, seconds: 0 },
    ...by,
  };
}

/**
 * The backbone that embedded the shards of folder `dir`, when it is at hand here: face-api with the same weights,
 * or the ONNX model file of `--backbone onnx:FILE` (the path as the embedding tasks were given it) with the same
 * content, for images, CSV rows or texts (the tokenizer beside the model, with the manifest's content). Otherwise (a
 * model or tokenizer moved or changed, a backbone from a model folder) a warning that the model folder takes
 * embeddings.
 */
async function shardsBackbone(dir: string, warnings: string[]): Promise<PreparedData['embeddedBy']> {
  const manifest = readShardsManifest(dir);
  if (!manifest) return undefined;
  const { backbone } = manifest;
  const input = manifest.input as unknown as InputSpec;
  const without = (why: string): undefined => {
    warnings.push(`${dir}: the model folder takes embeddings, not raw inputs: ${why}`);
    return undefined;
  };
  if (backbone.kind === 'face-api') {
    const net = await loadFaceApiBackbone();
    try {
      if (net.id !== backbone.id) return without(`the shards were embedded by other face-api weights (${backbone.id}, here ${net.id})`);
      return { backbone: { kind: 'face-api', spec: 'face-api', parameterCount: net.parameterCount, seconds: 0 }, input };
    } finally {
      await net.close();
    }
  }
  if (backbone.kind !== 'onnx' || !backbone.spec.startsWith('onnx:')) return without(`their backbone (${backbone.spec}) is not saved with them`);
  const modelFile = backbone.spec.slice('onnx:'.length);
  if (!existsSync(modelFile)) return without(`their backbone ${modelFile} is not here`);
  let taken = input;
  if (input.kind === 'text') {
    // the manifest names the tokenizer by file name and content: looked for beside the model, as embed's default
    const tokenizer = join(dirname(modelFile), input.tokenizer);
    if (!existsSync(tokenizer) || sha256OfFile(tokenizer) !== input.tokenizerSha256) {
      return without(`the text model's tokenizer (${input.tokenizer}, SHA-256 ${input.tokenizerSha256.slice(0, 12)}...) is not beside ${modelFile}`);
    }
    taken = { ...input, tokenizer };
  }
  const net = await loadOnnxBackbone(modelFile, backbone.embeddingNode !== undefined ? { embeddingNode: backbone.embeddingNode } : {});
  try {
    if (net.contentId() !== backbone.id) return without(`${modelFile} is not the model that embedded them (its content differs)`);
    return {
      backbone: { kind: 'onnx', spec: backbone.spec, parameterCount: net.parameterCount, seconds: 0, onnxFile: modelFile, embeddingNode: net.embeddingNode },
      input: taken,
    };
  } finally {
    await net.close();
  }
}

function splitFractions(options: DataOptions): { validation: number; test: number } {
  return {
    validation: options.validationData !== undefined ? 0 : (options.validationFraction ?? 0.2),
    test: options.testData !== undefined ? 0 : (options.testFraction ?? 0.2),
  };
}

/** Use the validation/test files when given, else seeded stratified shares of `all`. */
async function splitSets(
  options: DataOptions,
  all: EmbeddingSet,
  readLike: (file: string, like: EmbeddingSet) => Promise<EmbeddingSet>,
): Promise<{ train: EmbeddingSet; validation: EmbeddingSet; test: EmbeddingSet }> {
  const fractions = splitFractions(options);
  const strata = labelGroupStrata(all.y, all.group, all.groupNames.length);
  const split = stratifiedSplit(strata, fractions, options.splitSeed ?? 0);
  const train = subsetEmbeddingSet(all, split.train);
  const validation = options.validationData !== undefined ? await readLike(options.validationData, all) : subsetEmbeddingSet(all, split.validation);
  const test = options.testData !== undefined ? await readLike(options.testData, all) : subsetEmbeddingSet(all, split.test);
  return { train, validation, test };
}

/** The tokenizer of a text model: `--tokenizer`, else tokenizer.json beside the model file (InputError when there is none). */
export function tokenizerFileFor(options: Pick<BackboneOptions, 'tokenizer'>, modelFile: string): string {
  if (options.tokenizer !== undefined) return options.tokenizer;
  const beside = join(dirname(modelFile), 'tokenizer.json');
  if (!existsSync(beside)) throw new InputError(`${modelFile}: a text model needs its tokenizer: no tokenizer.json beside the model; give --tokenizer FILE`);
  return beside;
}

/** CSV of texts + ONNX text model: each row's `column` tokenised and fed to the model's token inputs. */
async function prepareText(
  options: DataOptions & BackboneOptions,
  file: string,
  column: string,
  spec: string,
  progress: NonNullable<PrepareHooks['progress']>,
  warn: (m: string) => void,
  warnings: string[],
): Promise<PreparedData> {
  if (options.validationData !== undefined || options.testData !== undefined) {
    throw new InputError('--validation-data / --test-data are for CSV rows of numbers and embeddings; with --text-column the splits are seeded shares (--validation-fraction, --test-fraction)');
  }
  const modelFile = spec.slice('onnx:'.length);
  const net = await loadOnnxBackbone(modelFile, onnxOptions(options));
  try {
    const text = openTextModel(net, tokenizerFileFor(options, modelFile), options.maxLength);
    const table = readCsvTable(file);
    const labelled = labelledRows(table, file, options);
    const j = columnIndex(table, column, '--text-column');
    const texts = columnTexts(table, j, column);
    const started = performance.now();
    const bar = progress('embedding texts (onnx)', texts.length);
    const cached = await cachedEmbeddings(
      {
        backbone: `onnx:${hashBackbone(net)}`,
        contentHash: hashTexts(texts),
        options: { tokenizer: text.tokenizer.sha256, maxLength: text.maxLength, node: net.embeddingNode },
      },
      async () => embedTexts(net, text, texts, { onProgress: (d) => bar.update(d) }),
      { dir: options.cacheDir || '.fairhead-cache', onWarning: warn },
    );
    bar.stop();
    const all = labelled.set(cached.matrix, Int32Array.from(texts, (_, i) => i));
    const sets = await splitSets(options, all, () => Promise.reject(new Error('unreachable')));
    return {
      ...sets,
      dataset: file,
      input: { kind: 'text', column, tokenizer: text.tokenizer.file, tokenizerSha256: text.tokenizer.sha256, maxLength: text.maxLength },
      warnings,
      backbone: { ...onnxInfo(net, spec, (performance.now() - started) / 1000), tokenizerFile: text.tokenizer.file },
    };
  } finally {
    await net.close();
  }
}

/** Hex SHA-256 over texts (each preceded by its length). */
function hashTexts(texts: readonly string[]): string {
  const h = createHash('sha256');
  for (const t of texts) h.update(`${Buffer.byteLength(t)}:`).update(t);
  return h.digest('hex');
}

/** The labels and groups of a CSV's rows, checked; `set` builds the embedding set of the rows kept, in order. */
function labelledRows(table: CsvTable, file: string, options: DataOptions): { set: (x: Matrix, kept: Int32Array) => EmbeddingSet } {
  const targetJ = columnIndex(table, options.target, '--target');
  const targets = table.rows.map((row) => normaliseLabel(row[targetJ] as string));
  const coding = fitLabelCoding(targets, options.positive, `${file} column "${options.target}"`, true);
  const lookup = classLookup(coding);
  const sensitiveColumns = options.sensitive.map((s) => {
    const j = columnIndex(table, s, '--sensitive');
    const values = table.rows.map((row) => row[j] as string);
    checkSensitiveColumn(values, s, file);
    return values;
  });
  return {
    set: (x, kept) => {
      const rows = Array.from(kept);
      const y = Int32Array.from(rows, (r) => labelIndex(coding, targets[r] as string, lookup));
      const { group, groupNames } = crossGroups(sensitiveColumns.map((col) => rows.map((r) => col[r] as string)), rows.length);
      return { x, y, classes: coding.classes, group, groupNames };
    },
  };
}

async function prepareImages(
  options: DataOptions & BackboneOptions,
  images: string,
  spec: string,
  progress: NonNullable<PrepareHooks['progress']>,
  warn: (m: string) => void,
  warnings: string[],
  hooks: PrepareHooks = {},
): Promise<PreparedData> {
  const onCnnImageSets = hooks.onCnnImageSets;
  if (options.labels === undefined) throw new InputError('--images needs --labels FILE.csv (one row per image, with --image-column, --target and --sensitive columns)');
  const imageColumn = options.imageColumn ?? 'file';
  const { table, files } = readImageLabels({ images, labels: options.labels, imageColumn });
  const labelled = labelledRows(table, options.labels, options);
  const started = performance.now();
  let embedded: { x: Matrix; rows: Int32Array };
  let info: PreparedBackbone;
  let input: InputSpec;
  if (options.validationData !== undefined || options.testData !== undefined) {
    throw new InputError('--validation-data / --test-data are for CSV and embedding inputs; with --images the splits are seeded shares (--validation-fraction, --test-fraction)');
  }
  if (spec === 'cnn') {
    if (typeof options.imageSize === 'object') throw new InputError(`--image-size ${options.imageSize.height}x${options.imageSize.width}: the cnn backbone trains on squares; expected one number`);
    const size = options.imageSize ?? 64;
    if (size < 8) throw new InputError(`--image-size: expected an integer >= 8, received "${size}"`);
    const decoded = await decodeAll(files, size, options.strict ?? false, warn, progress('decoding images', files.length));
    const { y, group, groupNames, classes } = labelled.set(matrix(new Float32Array(0), decoded.rows.length, 0), decoded.rows);
    const split = stratifiedSplit(labelGroupStrata(y, group, groupNames.length), splitFractions(options), options.splitSeed ?? 0);
    const pick = (idx: Int32Array): CnnImageSet => {
      const plane = size * size * 3;
      const pixels = new Uint8Array(idx.length * plane);
      idx.forEach((r, i) => pixels.set(decoded.pixels.subarray(r * plane, (r + 1) * plane), i * plane));
      return { images: { pixels, n: idx.length, size }, y: Int32Array.from(idx, (r) => y[r] as number), group: Int32Array.from(idx, (r) => group[r] as number), classes };
    };
    const epochs = options.epochs ?? 10;
    const [trainSet, validationSet] = [pick(split.train), pick(split.validation)];
    onCnnImageSets?.({ train: trainSet, validation: validationSet, test: pick(split.test) });
    const bar = progress('pre-training cnn (epochs)', epochs);
    const fit = await trainCnn(trainSet, validationSet, { ...hooks.pretraining?.cnn, epochs, seed: options.splitSeed ?? 0, ...threadsOf(options) }, (p) => {
      bar.update(p.epoch);
      hooks.pretraining?.onEpoch?.({ epoch: p.epoch, trainAccuracy: p.trainAccuracy, trainLoss: p.trainLoss, validationAccuracy: p.validationAccuracy, validationLoss: p.validationLoss, seconds: p.seconds });
    });
    bar.stop();
    fit.backbone.threads = options.threads;
    const x = await embedPixels(fit.backbone, decoded.pixels, decoded.rows.length, size);
    embedded = { x, rows: decoded.rows };
    info = { kind: 'cnn', spec, parameterCount: fit.backbone.parameterCount, seconds: (performance.now() - started) / 1000, shippedHead: fit.head, cnn: fit.backbone };
    input = { kind: 'images', size, layout: 'hwc-bytes' };
  } else if (spec === 'face-api') {
    const cacheDir = options.cacheDir ?? '.fairhead-cache';
    const net = await loadFaceApiBackbone({ cacheDir, onWarning: warn });
    const bar = progress('embedding images (face-api)', files.length);
    let out: ImageEmbeddings;
    try {
      out = await net.embedImages(files, {
        ...(options.strict !== undefined ? { strict: options.strict } : {}),
        ...threadsOf(options),
        cacheDir,
        onWarning: warn,
        onProgress: (done) => bar.update(done),
      });
    } finally {
      bar.stop();
      await net.close();
    }
    if (out.skipped.length > 0) warn(`${out.skipped.length} of ${files.length} images could not be decoded and were skipped`);
    embedded = out;
    info = { kind: 'face-api', spec, parameterCount: net.parameterCount, seconds: (performance.now() - started) / 1000, shippedHead: net.shippedHead };
    input = { kind: 'images', size: net.inputSize, layout: 'hwc-bytes' };
  } else {
    const net = await loadOnnxBackbone(spec.slice('onnx:'.length), onnxOptions(options));
    try {
      const { preprocessing } = resolveImagePreprocessing({ file: net.file, name: imageInput(net).name, shape: net.inputShape }, options);
      const bar = progress('embedding images (onnx)', files.length);
      const cached = await cachedEmbeddings(
        { backbone: `onnx:${hashBackbone(net)}`, contentHash: await hashFiles(files), options: { preprocessing: preprocessing as unknown as JsonValue, node: net.embeddingNode } },
        async () => {
          const { x, rows } = await embedImageFiles(net, files, preprocessing, { strict: options.strict ?? false, onWarning: warn, onProgress: (d) => bar.update(d) });
          return { matrix: x, extra: Array.from(rows) };
        },
        { dir: options.cacheDir || '.fairhead-cache', onWarning: warn },
      );
      bar.stop();
      embedded = { x: cached.matrix, rows: Int32Array.from(cached.extra as number[]) };
      info = onnxInfo(net, spec, (performance.now() - started) / 1000);
      input = preprocessedImages(preprocessing);
    } finally {
      await net.close();
    }
  }
  const all = labelled.set(embedded.x, embedded.rows);
  const sets = await splitSets(options, all, () => Promise.reject(new Error('unreachable')));
  return { ...sets, dataset: images, input, warnings, backbone: info };
}

/** Decode every image to `size x size x 3` RGB bytes in one buffer (skipped images are left out of `rows`). */
async function decodeAll(files: readonly string[], size: number, strict: boolean, warn: (m: string) => void, bar: Progress): Promise<{ pixels: Uint8Array; rows: Int32Array }> {
  const plane = size * size * 3;
  let pixels = new Uint8Array(files.length * plane);
  const rows: number[] = [];
  for await (const batch of imageBatches(files, { size, strict, onWarning: warn, batchSize: 64 })) {
    pixels.set(batch.pixels, rows.length * plane);
    rows.push(...batch.rows);
    bar.update(batch.done);
  }
  bar.stop();
  pixels = pixels.subarray(0, rows.length * plane);
  return { pixels, rows: Int32Array.from(rows) };
}

/** Embed HWC byte images with a backbone that takes bytes as floats, 512 rows at a time. */
export async function embedPixels(net: Backbone, pixels: Uint8Array, n: number, size: number): Promise<Matrix> {
  const plane = size * size * 3;
  const out = new Float32Array(n * net.embeddingDim);
  const chunk = 512;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    const z = await net.embed(matrix(Float32Array.from(pixels.subarray(start * plane, (start + rows) * plane)), rows, plane));
    out.set(z.data, start * net.embeddingDim);
  }
  return matrix(out, n, net.embeddingDim);
}

/**
 * Decode image files at `size` x `size` and embed them with a backbone that takes bytes as floats (a cnn), 256 files
 * at a time: `rows` are the indices into `files` of the images embedded, `skipped` those that could not be decoded
 * (see {@link imageBatches} for `strict` and `onWarning`).
 */
export async function embedImageFilesAsBytes(
  net: Backbone,
  files: readonly string[],
  size: number,
  options: { readonly strict?: boolean; readonly onWarning?: (message: string) => void } = {},
): Promise<{ x: Matrix; rows: Int32Array; skipped: readonly SkippedImage[] }> {
  const parts: Matrix[] = [];
  const rows: number[] = [];
  let skipped: readonly SkippedImage[] = [];
  for await (const batch of imageBatches(files, { ...options, size, batchSize: 256 })) {
    parts.push(await embedPixels(net, batch.pixels, batch.rows.length, size));
    rows.push(...batch.rows);
    skipped = batch.skipped;
  }
  return { x: concatRows(parts, net.embeddingDim), rows: Int32Array.from(rows), skipped };
}

/** The InputSpec of images fed to an ONNX model through `preprocessing` (`size` is the tensor's height). */
export function preprocessedImages(preprocessing: ImagePreprocessing): InputSpec {
  return { kind: 'images', size: preprocessing.crop?.height ?? ('height' in preprocessing.resize ? preprocessing.resize.height : 0), layout: 'preprocessed', preprocessing };
}

/** `threads` of `options` when given (the backbone's onnxruntime intra-op threads). */
function threadsOf(options: BackboneOptions): { threads?: number } {
  return options.threads !== undefined ? { threads: options.threads } : {};
}

/** How `loadOnnxBackbone` is to load the model of `options`: its embedding node and threads, when given. */
export function onnxOptions(options: BackboneOptions): OnnxBackboneOptions {
  return { ...(options.embeddingNode !== undefined ? { embeddingNode: options.embeddingNode } : {}), ...threadsOf(options) };
}

/** An ONNX backbone in an embedding cache's key: the model by content (not its path) and the embedding's node. */
function hashBackbone(net: OnnxBackbone): string {
  return `${net.contentId()}#${net.embeddingNode}`;
}
