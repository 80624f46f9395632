/**
 * `fairhead reproduce`: the paper's protocol on real data, one experiment after another, each written to
 * `out/<experiment>/` (metrics.json in the schema of `fairhead run`, report.html, report.md, table.md, run.json),
 * then `out/README.md` rebuilt from every experiment found under `out`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { writeFileAtomic } from '../../atomic-write.ts';
import { InputError } from '../../errors.ts';
import { loadTabular } from '../../data/load-tabular.ts';
import type { LinearHead } from '../../head/linear-head.ts';
import { summarizeSplit } from '../../fairness/metrics/index.ts';
import type { EmbeddingSet } from '../../data/dataset.ts';
import { readCsvTable, columnIndex } from '../../data/csv-table.ts';
import type { MetricsFile, RunRecord } from '../../report/schema.ts';
import { writeReport } from '../../report/write-report.ts';
import { silentProgress, type Progress } from '../../progress.ts';
import { ADULT_TEST, ADULT_TRAIN } from '../demo.ts';
import { finetuneAndEvaluate, notConvergedWarning, shippedOutcome } from '../finetune.ts';
import { prepareData, type PrepareHooks, type PreparedData, type PretrainingEpoch } from '../prepare.ts';
import { runContext } from '../run.ts';
import type { BackboneOptions, DataOptions } from '../run-options.ts';
import { trainFullFair, trainFullFairCnn, type CnnSplits, type RawSplits } from './full-training.ts';
import { fitGroupThresholds, positiveProbability, predictGroupThresholds } from './group-thresholds.ts';
import { CNN_IMAGE_SIZE, EXPERIMENTS, OVERFIT_CNN, PAPER_BN, settingsGrid, type ExperimentName, type ReproduceGrid } from './protocol.ts';
import { experimentTable, GAP_FIGURE, gapTransferFigure, resultsReadme, type ReadmeEntry, type RunInfo } from './tables.ts';
import { UTKFACE_NAME, writeUtkfaceLabels, writeUtkfaceLabelsFromNames } from './utkface-labels.ts';

/** Options of {@link runReproduce}. */
export interface ReproduceOptions {
  readonly experiments: readonly ExperimentName[];
  /** Smoke test: 1 seed, a few settings (see settingsGrid). */
  readonly quick?: boolean;
  /** Seeds per setting (default 5; quick: 1). */
  readonly seeds?: number;
  /** Output folder (default `results`). */
  readonly out: string;
  /**
   * The UTKFace faces, needed by every experiment but `adult`: a folder with `images/` and `labels.csv`
   * (`file,age,gender,race[,in_balanced_2000]`), or a folder of UTKFace's own files
   * (`{age}_{gender}_{race}_{date}.jpg[.chip.jpg]`), whose labels are read from the names.
   */
  readonly utkface?: string;
  /** UTKFace: use only this many images of the balanced 2,000 (every k-th row; for smoke tests). */
  readonly subset?: number;
  /** Embedding cache and work folder (derived labels). Default `.fairhead-cache`. */
  readonly cacheDir?: string;
  /** The command line to record (default: rebuilt from the options). */
  readonly command?: string;
}

/** Hooks of {@link runReproduce}: progress bars, warnings and status lines. */
export interface ReproduceHooks extends PrepareHooks {
  readonly log?: (message: string) => void;
}

/** One experiment's outcome. */
export interface ExperimentOutput {
  readonly experiment: ExperimentName;
  readonly metrics: MetricsFile;
  readonly info: RunInfo;
  readonly files: readonly string[];
}

const TASKS: Readonly<Record<ExperimentName, string>> = {
  adult: 'UCI Adult, target income >50K, sensitive attribute sex, backbone: an MLP pre-trained here with ERM',
  'adult-overfit-mlp': 'UCI Adult, target income >50K, sensitive attribute sex, backbone: an over-parameterised MLP (hidden 512 x 512) trained here with ERM until it fits its training split',
  'utkface-overfit-cnn': `UTKFace, target gender (positive: female), sensitive attribute race grouped white / non-white, backbone: the small ResNet trained here with ERM without augmentation until it fits its training split (${OVERFIT_CNN.erm.imageSize ?? CNN_IMAGE_SIZE} x ${OVERFIT_CNN.erm.imageSize ?? CNN_IMAGE_SIZE} px)`,
  'utkface-gender-race': 'UTKFace, target gender (positive: female), sensitive attribute race grouped white / non-white, backbone: face-api (pre-trained elsewhere, frozen)',
  'utkface-age-gender': 'UTKFace, target age >= 30, sensitive attribute gender, backbone: face-api (pre-trained elsewhere, frozen)',
  'utkface-gender-race-cnn': `UTKFace, target gender (positive: female), sensitive attribute race grouped white / non-white, backbone: a small ResNet pre-trained here from scratch with ERM (${CNN_IMAGE_SIZE} x ${CNN_IMAGE_SIZE} px)`,
};

const SPLITS: Readonly<Record<'adult' | 'utkface', string>> = {
  adult: 'Splits: train / validation = stratified 80 / 20 of adult.data by (label, sex), split seed 0; test = adult.test (16,281 rows).',
  utkface: 'Splits: stratified 60 / 20 / 20 train / validation / test of the labelled images by (label, group), split seed 0; derived labels written to the cache folder (reproduce/utkface-labels.csv).',
};

/**
 * Run every experiment of `options.experiments` in turn (see the module comment). Returns their outputs.
 *
 * @example
 * await runReproduce({ experiments: ['adult'], quick: true, out: 'results' });
 * // writes results/adult/{metrics.json,report.html,report.md,table.md,run.json} and results/README.md
 */
export async function runReproduce(options: ReproduceOptions, hooks: ReproduceHooks = {}): Promise<ExperimentOutput[]> {
  if (options.experiments.length === 0) throw new InputError('--experiment: name at least one experiment');
  if (options.seeds !== undefined && !(Number.isInteger(options.seeds) && options.seeds >= 1)) {
    throw new InputError(`--seeds: expected an integer >= 1, received ${options.seeds}`);
  }
  const faces = options.experiments.find((e) => !e.startsWith('adult'));
  if (faces !== undefined) locateUtkface(options.utkface, faces, options.cacheDir ?? '.fairhead-cache', false);
  const outputs: ExperimentOutput[] = [];
  for (const experiment of options.experiments) outputs.push(await runExperiment(experiment, options, hooks));
  writeFileAtomic(join(options.out, 'README.md'), resultsReadme(readEntries(options.out)));
  return outputs;
}

async function runExperiment(experiment: ExperimentName, options: ReproduceOptions, hooks: ReproduceHooks): Promise<ExperimentOutput> {
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const loadAverage = os.loadavg()[0] ?? 0;
  const log = hooks.log ?? (() => {});
  const grid = settingsGrid(experiment, { ...(options.quick !== undefined ? { quick: options.quick } : {}), ...(options.seeds !== undefined ? { seeds: options.seeds } : {}) });
  const cacheDir = options.cacheDir ?? '.fairhead-cache';
  const data = experimentData(experiment, options, cacheDir, grid);
  const overfit = grid.overfit;
  log(`${experiment}: ${TASKS[experiment]}`);
  let images: Omit<CnnSplits, 'groupNames'> | undefined;
  const curve: PretrainingEpoch[] = [];
  const prepared = await prepareData(data, {
    ...hooks,
    onCnnImageSets: (sets) => {
      images = sets;
    },
    pretraining: { ...(overfit?.erm.mlp ? { mlp: overfit.erm.mlp } : {}), cnn: { ...PAPER_BN, ...overfit?.erm.cnn }, onEpoch: (e) => curve.push(e) },
  });
  const runs: RunRecord[] = [];
  const notes: string[] = [];
  if (experiment !== 'utkface-age-gender') {
    const shipped = shippedOutcome(prepared, 0);
    if (shipped) runs.push(shipped.record);
  } else {
    notes.push('shipped: not applicable (face-api ships a gender head and an age regression, no age >= 30 classifier); B1 is the plain ERM head.');
  }
  const tabular = experiment === 'adult' || experiment === 'adult-overfit-mlp';
  const raw = tabular && grid.full.length > 0 ? rawAdult(data) : undefined;
  const cnnSplits: CnnSplits | undefined = images && grid.full.length > 0 ? { ...images, groupNames: prepared.train.groupNames } : undefined;
  if (data.backbone === 'face-api') notes.push('full (whole network trained with the penalty): not run: fairhead cannot train the face-api CNN yet (the CNN issue); only its last layer is trained here.');
  notes.push('threshold: per-group randomised thresholds for equalized odds (as fairlearn ThresholdOptimizer) on the B1 head\'s scores, chosen on the validation split; it needs the sensitive attribute at prediction time.');
  notes.push('B1/B2/B3/M1/M2: L-BFGS on the frozen embeddings; B1, B2, M1 and M2w are deterministic (every seed gives the same head), B3/M2/M2p draw a seeded group-balanced sample; mmf replaces the loss and has no alpha (recorded 0).');
  notes.push(`M2w (weighted M2): every row of train + validation, row i of cell (y, g) weighted n_y / (G n_{y,g}) in the cross-entropy and the penalty (the groups weigh the same within each label, the labels keep their shares). M2p (prior-corrected M2): M2's head with its intercept moved by logit(data's positive share) - logit(the sample's) after fitting. Both remedy M2's prior shift (its sample is half positives).`);
  if (overfit) notes.push(...overfitNotes(experiment, grid));
  else if (data.backbone === 'cnn') {
    notes.push(`shipped: the CNN (channels 16, 32, 64, 128; ${CNN_IMAGE_SIZE} x ${CNN_IMAGE_SIZE} px) pre-trained here with ERM on the training split: SGD momentum 0.9, weight decay 5e-4, batches of 64, lr 0.05 divided by 10 every 4 epochs, random crop and flip, ${grid.epochs} epochs keeping the epoch of lowest validation loss, seed 0; B1..M2 re-train its last layer on its frozen 128-d embeddings.`);
    if (cnnSplits) notes.push(`full: the same CNN trained from scratch end to end, same recipe, with cross-entropy + alpha x penalty on every batch of 64 (early stopping on validation loss with the penalty), seed = run seed; evaluated with its own last layer on the same test split.`);
    notes.push(`Sizes chosen for time: ${CNN_IMAGE_SIZE} px, ${grid.epochs} epochs and ${grid.fullSeeds} seed${grid.fullSeeds === 1 ? '' : 's'} of whole-network runs, i.e. one ERM pre-training + ${grid.full.length} whole-network trainings per seed (the time of each training: the seconds column of table.md); the heads run ${grid.seeds} seed${grid.seeds === 1 ? '' : 's'}.`);
  }
  if (raw && !overfit) notes.push(`full: the MLP (hidden 64, 32) trained end to end, AdamW, batches of 128, cross-entropy + alpha x penalty per batch, early stopping on validation loss with the penalty, up to ${grid.epochs} epochs, seed = run seed.`);

  const fullRuns = raw || cnnSplits ? grid.full.length * grid.fullSeeds : 0;
  const total = grid.seeds * (grid.heads.length + (grid.threshold ? 1 : 0)) + fullRuns;
  const bar: Progress = hooks.progress ? hooks.progress(`${experiment}: fits`, total) : silentProgress;
  let done = 0;
  try {
    for (let seed = 0; seed < grid.seeds; seed++) {
      let b1: LinearHead | undefined;
      let b1Seconds = 0;
      for (const h of grid.heads) {
        const outcome = await finetuneAndEvaluate(prepared, { ...h, seed, optimizer: 'lbfgs' });
        runs.push(outcome.record);
        if (h.method === 'b1') {
          b1 = outcome.head;
          b1Seconds = outcome.record.cost.seconds;
        }
        bar.update(++done);
      }
      if (grid.threshold) {
        runs.push(thresholdRun(prepared, b1, b1Seconds, seed));
        bar.update(++done);
      }
      if (seed >= grid.fullSeeds) continue;
      if (raw) {
        for (const s of grid.full) {
          const fromErm = overfit ? { hidden: overfit.erm.hidden ?? [], ...(overfit.full.mlp ? { mlp: overfit.full.mlp } : {}), ...(prepared.backbone.mlp ? { init: prepared.backbone.mlp } : {}) } : {};
          runs.push(await trainFullFair(raw, { ...s, seed, epochs: overfit?.full.epochs ?? grid.epochs, ...fromErm }));
          bar.update(++done);
        }
      }
      if (cnnSplits) {
        for (const s of grid.full) {
          const fromErm = overfit ? { cnn: { ...PAPER_BN, ...overfit.full.cnn }, ...(prepared.backbone.cnn ? { init: prepared.backbone.cnn } : {}) } : { cnn: PAPER_BN };
          runs.push(await trainFullFairCnn(cnnSplits, { ...s, seed, epochs: overfit?.full.epochs ?? grid.epochs, ...fromErm }));
          bar.update(++done);
        }
      }
    }
  } finally {
    bar.stop();
  }

  const dir = join(options.out, experiment);
  const context = { ...runContext(data, prepared), dataset: tabular ? 'UCI Adult (built-in: data/adult)' : `UTKFace (${options.utkface})` };
  const metrics: MetricsFile = { format: 'fairhead.metrics', version: 1, context, runs };
  const selected = runs.findIndex((r) => r.method === 'm2' && r.constraint === 'eo' && r.alpha === 5);
  const { files } = await writeReport(dir, metrics, selected >= 0 ? { selected } : {});
  const info: RunInfo = {
    experiment,
    task: TASKS[experiment],
    command: options.command ?? commandLine(experiment, options),
    machine: context.machine ?? '',
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: cpuSecondsSince(cpuStart),
    loadAverage,
    seeds: grid.seeds,
    splits: tabular ? SPLITS.adult : SPLITS.utkface,
    notes: [...notes, ...fitNote(runs), ...convergenceNote(runs), ...prepared.warnings.slice(0, 3)],
    ...(curve.length > 0 ? { curve } : {}),
  };
  const written = writeExperimentFiles(options.out, metrics, info);
  const runJson = join(dir, 'run.json');
  writeFileAtomic(runJson, `${JSON.stringify(info, null, 2)}\n`);
  log(`${experiment}: ${runs.length} runs in ${info.seconds.toFixed(0)} s -> ${dir}/`);
  return { experiment, metrics, info, files: [...files, ...written, runJson] };
}

/** table.md and gap-transfer.svg of one experiment, from its metrics and run info (also what --tables-only rewrites). */
function writeExperimentFiles(out: string, metrics: MetricsFile, info: RunInfo): string[] {
  const table = join(out, info.experiment, 'table.md');
  writeFileAtomic(table, experimentTable(metrics, info));
  const figure = join(out, info.experiment, GAP_FIGURE);
  writeFileAtomic(figure, gapTransferFigure(metrics, info));
  return [table, figure];
}

/** The notes of an over-fitting experiment: how its ERM network and its whole-network runs were trained. */
function overfitNotes(experiment: ExperimentName, grid: ReproduceGrid): string[] {
  const o = grid.overfit as NonNullable<ReproduceGrid['overfit']>;
  const alphas = grid.full.map((s) => s.alpha).join(', ');
  if (experiment === 'adult-overfit-mlp') {
    const m = o.erm.mlp ?? {};
    const step = m.lrStepEpochs ? `, divided by 10 after epoch ${m.lrStepEpochs}` : '';
    return [
      `shipped: the MLP (hidden ${(o.erm.hidden ?? []).join(' x ')}) trained here with ERM on the training split: AdamW, weight decay ${m.weightDecay ?? 0}, batches of ${m.batchSize ?? 128}, lr ${m.learningRate}${step}, ${o.erm.epochs} epochs, the last one kept (no early stopping), seed 0, on onnxruntime (float32); its training curve is below. B1..M2p re-train its last layer on its frozen ${(o.erm.hidden ?? []).at(-1)}-d embeddings.`,
      `full: the ERM network above trained further, every layer, from its weights, with cross-entropy + alpha x EO on every batch of the training split (alpha ${alphas}): AdamW lr ${o.full.mlp?.learningRate}, ${o.full.epochs} epochs, the last one kept, shuffling seed = run seed (${grid.fullSeeds} seeds); evaluated with its own last layer.`,
    ];
  }
  const c = o.erm.cnn ?? {};
  return [
    `shipped: the CNN (channels ${(c.channels ?? []).join(', ')}; ${o.erm.imageSize} x ${o.erm.imageSize} px) trained here with ERM on the training split without augmentation: SGD momentum 0.9, weight decay 5e-4, batches of 64, lr ${c.learningRate} divided by 10 every ${c.lrStepEpochs} epochs, ${o.erm.epochs} epochs, the last one kept (no early stopping), seed 0; its training curve is below. B1..M2p re-train its last layer on its frozen ${(c.channels ?? []).at(-1)}-d embeddings.`,
    `full: the ERM network above trained further, every layer, from its weights, with cross-entropy + alpha x EO on every batch of 64 of the training split (alpha ${alphas}): SGD lr ${o.full.cnn?.learningRate}, no augmentation, ${o.full.epochs} epochs, the last one kept, shuffling seed = run seed (${grid.fullSeeds} seeds); evaluated with its own last layer.`,
  ];
}

/** The data and backbone options of an experiment (UTKFace: writes the derived labels CSV first). */
function experimentData(experiment: ExperimentName, options: ReproduceOptions, cacheDir: string, grid: ReproduceGrid): DataOptions & BackboneOptions {
  if (experiment === 'adult' || experiment === 'adult-overfit-mlp') {
    const hidden = grid.overfit?.erm.hidden;
    return { data: ADULT_TRAIN, testData: ADULT_TEST, target: 'Y', positive: '>50K', sensitive: ['sex'], backbone: 'mlp', epochs: grid.epochs, ...(hidden ? { hidden } : {}), splitSeed: 0, cacheDir };
  }
  const { images, labels } = locateUtkface(options.utkface, experiment, cacheDir, true);
  const derived = join(cacheDir, 'reproduce', options.subset !== undefined ? `utkface-labels-subset-${options.subset}.csv` : 'utkface-labels.csv');
  writeUtkfaceLabels(options.subset !== undefined ? subsetLabels(labels, options.subset, cacheDir) : labels, derived);
  const task = experiment === 'utkface-age-gender' ? { target: 'age_at_least_30', positive: '1', sensitive: ['gender_name'] } : { target: 'gender', positive: '1', sensitive: ['race_group'] };
  if (experiment === 'utkface-gender-race-cnn' || experiment === 'utkface-overfit-cnn') {
    return { images, labels: derived, imageColumn: 'file', ...task, backbone: 'cnn', imageSize: grid.overfit?.erm.imageSize ?? CNN_IMAGE_SIZE, epochs: grid.epochs, splitSeed: 0, cacheDir };
  }
  return { images, labels: derived, imageColumn: 'file', ...task, backbone: 'face-api', splitSeed: 0, cacheDir };
}

/** Where UTKFace's data sets come from, for the messages of {@link locateUtkface}. */
const UTKFACE_SOURCE = 'UTKFace (https://susanqq.github.io/UTKFace/, non-commercial research use; fairhead does not ship it)';

/**
 * The images folder and labels CSV of `--utkface DIR`: `DIR/images` + `DIR/labels.csv` when both exist, else the
 * UTKFace files in `DIR` (or `DIR/images`), whose labels are read from their names into a CSV under the cache
 * folder (when `write`). A missing flag or a folder with neither -> InputError naming what to pass.
 */
function locateUtkface(dir: string | undefined, experiment: ExperimentName, cacheDir: string, write: boolean): { images: string; labels: string } {
  if (dir === undefined) {
    throw new InputError(`--utkface: experiment ${experiment} needs the UTKFace faces; pass --utkface DIR, a folder of ${UTKFACE_SOURCE}`);
  }
  const images = join(dir, 'images');
  const labels = join(dir, 'labels.csv');
  if (existsSync(images) && existsSync(labels)) return { images, labels };
  const folder = existsSync(images) ? images : dir;
  const named = existsSync(folder) && statSync(folder).isDirectory() ? readdirSync(folder).filter((f) => UTKFACE_NAME.test(f)) : [];
  if (named.length === 0) {
    throw new InputError(`--utkface ${dir}: expected images/ and labels.csv, or UTKFace's own files named {age}_{gender}_{race}_{date}.jpg, from ${UTKFACE_SOURCE}`);
  }
  const fromNames = join(cacheDir, 'reproduce', 'utkface-labels-from-names.csv');
  if (write) writeUtkfaceLabelsFromNames(named, fromNames);
  return { images: folder, labels: fromNames };
}

/** A labels CSV with `n` rows of the balanced 2,000 (every k-th), for smoke tests. */
function subsetLabels(labels: string, n: number, cacheDir: string): string {
  if (!(Number.isInteger(n) && n >= 40)) throw new InputError(`--subset: expected an integer >= 40 (images of the balanced 2,000), received ${n}`);
  const table = readCsvTable(labels);
  const j = columnIndex(table, 'in_balanced_2000', `${labels} column`);
  const rows = table.rows.filter((r) => r[j] === '1');
  const step = Math.max(1, Math.floor(rows.length / n));
  const picked = rows.filter((_, i) => i % step === 0).slice(0, n);
  const file = join(cacheDir, 'reproduce', `utkface-source-subset-${n}.csv`);
  writeFileAtomic(file, `${[table.header.join(','), ...picked.map((r) => r.join(','))].join('\n')}\n`);
  return file;
}

/** Adult's encoded (not embedded) splits, the same as prepareData's (same files, columns and split seed). */
function rawAdult(data: DataOptions): RawSplits {
  const loaded = loadTabular({
    train: data.data as string,
    test: data.testData as string,
    target: data.target,
    sensitive: data.sensitive,
    positive: data.positive as string,
    seed: data.splitSeed ?? 0,
  });
  return { train: loaded.train, validation: loaded.validation, test: loaded.test };
}

/** Group thresholds fitted on validation over the B1 head's scores, evaluated on every split. */
function thresholdRun(prepared: PreparedData, b1: LinearHead | undefined, b1Seconds: number, seed: number): RunRecord {
  if (!b1) throw new InputError('the threshold baseline needs the b1 head in the grid');
  const started = performance.now();
  const v = prepared.validation;
  const thresholds = fitGroupThresholds(b1.positiveScore(v.x), v.y, v.group, v.groupNames);
  const seconds = (performance.now() - started) / 1000;
  const evaluate = (set: EmbeddingSet, salt: number) => {
    const scores = b1.positiveScore(set.x);
    const yPred = predictGroupThresholds(thresholds, scores, set.group, seed * 4 + salt);
    const p = positiveProbability(thresholds, scores, set.group);
    return summarizeSplit(set.y, yPred, p, Array.from(set.group, (g) => set.groupNames[g] as string));
  };
  const validation = evaluate(v, 1);
  return {
    method: 'threshold',
    constraint: 'eo',
    alpha: 0,
    seed,
    splits: { train: evaluate(prepared.train, 0), finetune: validation, validation, test: evaluate(prepared.test, 2) },
    cost: {
      seconds: seconds + b1Seconds,
      parametersTrained: b1.parameterCount + 5 * v.groupNames.length,
      parametersTotal: prepared.backbone.parameterCount + b1.parameterCount + 5 * v.groupNames.length,
      finetuneRows: v.x.rows,
      backboneSeconds: prepared.backbone.seconds,
    },
  };
}

/**
 * For a network pre-trained here and also trained whole with the penalty: how well the ERM network fits its own
 * training split, beside test. The over-fitting the paper describes (fair on train, unfair on test) needs a network
 * that fits its training data.
 */
function fitNote(runs: readonly RunRecord[]): string[] {
  const shipped = runs.find((r) => r.method === 'shipped');
  if (!shipped || !runs.some((r) => r.method === 'full') || shipped.cost.parametersTrained === 0) return [];
  const train = shipped.splits.train.accuracy;
  const test = shipped.splits.test.accuracy;
  return [
    `The ERM network's accuracy is ${train.toFixed(3)} on its training split and ${test.toFixed(3)} on test: ` +
      (train - test > 0.05 ? 'it fits its training data better than it generalises.' : "it does not fit its training data better than test data (no memorisation at this size and budget), unlike the paper's over-parameterised networks."),
  ];
}

/** A note naming the L-BFGS fits that stopped before their tolerance (RunCost.converged false), if any. */
function convergenceNote(runs: readonly RunRecord[]): string[] {
  const stopped = runs.map(notConvergedWarning).filter((w): w is string => w !== undefined);
  if (stopped.length === 0) return [];
  return [`${stopped.length} L-BFGS fit(s) stopped before their tolerance, e.g. ${stopped[0]}.`];
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function commandLine(experiment: ExperimentName, options: ReproduceOptions): string {
  const parts = ['fairhead reproduce', `--experiment ${experiment}`];
  if (options.quick) parts.push('--quick');
  if (options.seeds !== undefined) parts.push(`--seeds ${options.seeds}`);
  parts.push(`--out ${options.out}`);
  const faces = !experiment.startsWith('adult');
  if (faces) parts.push(`--utkface ${options.utkface ?? 'DIR'}`);
  if (options.subset !== undefined && faces) parts.push(`--subset ${options.subset}`);
  if (options.cacheDir !== undefined && options.cacheDir !== '.fairhead-cache') parts.push(`--cache-dir ${options.cacheDir}`);
  return parts.join(' ');
}

/**
 * Re-render `out/<experiment>/table.md` and `out/README.md` from the metrics.json and run.json already under `out`
 * (no training): for a change of the tables' layout. Returns the experiments found.
 *
 * @example
 * rewriteTables('results'); // ['adult', 'utkface-gender-race', 'utkface-age-gender']
 */
export function rewriteTables(out: string): string[] {
  const entries = readEntries(out);
  if (entries.length === 0) throw new InputError(`${out}: no experiment folder with metrics.json and run.json; run fairhead reproduce first`);
  for (const { info, metrics } of entries) writeExperimentFiles(out, metrics, info);
  writeFileAtomic(join(out, 'README.md'), resultsReadme(entries));
  return entries.map((e) => e.info.experiment);
}

/** Every experiment folder under `out` holding metrics.json and run.json, in protocol order. */
function readEntries(out: string): ReadmeEntry[] {
  const entries: ReadmeEntry[] = [];
  for (const experiment of EXPERIMENTS) {
    const metricsFile = join(out, experiment, 'metrics.json');
    const runFile = join(out, experiment, 'run.json');
    if (!existsSync(metricsFile) || !existsSync(runFile)) continue;
    entries.push({ metrics: JSON.parse(readFileSync(metricsFile, 'utf8')) as MetricsFile, info: JSON.parse(readFileSync(runFile, 'utf8')) as RunInfo });
  }
  return entries;
}
