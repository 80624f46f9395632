import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { saveModelBundle } from '../export/model-bundle.ts';
import type { LinearHead } from '../head/linear-head.ts';
import type { MetricsFile, RunRecord } from '../report/schema.ts';
import { writeReport } from '../report/write-report.ts';
import { finetuneAndEvaluate, notConvergedWarning, shippedMismatchWarning, shippedOutcome } from './finetune.ts';
import { checkOutputFolder, removeStaleTempFiles, replaceFolder } from './output-folder.ts';
import { prepareData, type PrepareHooks } from './prepare.ts';
import { optionsRecord } from './run-command.ts';
import { runContext } from './run.ts';
import type { BackboneOptions, Constraint, DataOptions, Method, Optimizer } from './run-options.ts';
import { GAP_METRICS, parseSelect, selectRun } from './select-run.ts';
import { thinCellWarning } from './thin-cells.ts';

/** Options of {@link runSweep}. */
export interface SweepOptions extends DataOptions, BackboneOptions {
  readonly methods: readonly Method[];
  readonly constraints: readonly Constraint[];
  readonly alphas: readonly number[];
  /** Seeds 0 .. seeds-1. */
  readonly seeds: number;
  readonly optimizer: Optimizer;
  /** Operating point, e.g. `equalizedOddsDifference<=0.05` (see {@link parseSelect} and {@link selectRun}). */
  readonly select?: string;
  readonly out: string;
  readonly bootstrap?: number;
}

/** What {@link runSweep} produced. */
export interface SweepOutput {
  readonly metrics: MetricsFile;
  /** Index into `metrics.runs` of the chosen operating point. */
  readonly selected: number;
  /** Indices of the runs on the validation Pareto front (accuracy up, gap down). */
  readonly front: readonly number[];
  /** True when some run met the `select` bound (else the fairest run is chosen). */
  readonly boundMet: boolean;
  readonly files: readonly string[];
}

/**
 * `fairhead sweep`: embed once, then fine-tune every (method, constraint, alpha, seed) of the grid (B* methods
 * once per seed: they have no penalty), evaluate each, compute the accuracy/fairness Pareto front on the
 * validation split, and choose the operating point: the most accurate run on validation whose gap meets the
 * `select` bound (default `equalizedOddsDifference<=0.05`; if none does, the run with the smallest gap).
 * Note: for M1 the validation split is also its fine-tuning set, so its validation numbers are optimistic.
 */
export async function runSweep(options: SweepOptions, hooks: PrepareHooks & { onRun?: (done: number, total: number) => void } = {}): Promise<SweepOutput> {
  const rule = parseSelect(options.select ?? 'equalizedOddsDifference<=0.05');
  if (options.seeds < 1) throw new InputError(`--seeds: expected at least 1, received ${options.seeds}`);
  checkOutputFolder(options.out);
  const prepared = await prepareData(options, hooks);
  const grid: { method: Method; constraint: Constraint; alpha: number; seed: number }[] = [];
  for (let seed = 0; seed < options.seeds; seed++) {
    for (const method of options.methods) {
      if (method.startsWith('b')) grid.push({ method, constraint: options.constraints[0] ?? 'eo', alpha: 0, seed });
      else for (const constraint of options.constraints) for (const alpha of options.alphas) grid.push({ method, constraint, alpha, seed });
    }
  }
  const mismatch = shippedMismatchWarning(prepared);
  if (mismatch) hooks.onWarning?.(mismatch);
  // once per (method, constraint) of the grid, before its fits
  const settings = new Map(grid.map((g) => [`${g.method} ${g.constraint}`, g]));
  for (const g of settings.values()) {
    const warning = thinCellWarning(prepared.train, prepared.validation, g.method, g.constraint, prepared.dataset);
    if (warning) hooks.onWarning?.(warning);
  }
  const runs: RunRecord[] = [];
  const heads: (LinearHead | undefined)[] = [];
  const shipped = shippedOutcome(prepared, 0);
  if (shipped) {
    runs.push(shipped.record);
    heads.push(undefined);
  }
  for (const [i, g] of grid.entries()) {
    const outcome = await finetuneAndEvaluate(prepared, { ...g, optimizer: options.optimizer }, { bootstrap: options.bootstrap ?? 0 });
    runs.push(outcome.record);
    heads.push(outcome.head);
    const warning = notConvergedWarning(outcome.record);
    if (warning) hooks.onWarning?.(warning);
    hooks.onRun?.(i + 1, grid.length);
  }
  const candidates = runs.map((r, i) => i).filter((i) => heads[i] !== undefined);
  const { front, ...selection } = selectRun(runs, candidates, rule);
  const selected = selection.run;
  // the record keeps the data, backbone and optimizer options (the grid's lists are no flags of `run`)
  const metrics: MetricsFile = { format: 'fairhead.metrics', version: 1, context: runContext(options, prepared, optionsRecord(options)), runs, selection };
  const chosen = runs[selected] as RunRecord;
  removeStaleTempFiles(options.out);
  const modelFiles = await replaceFolder(join(options.out, 'model'), (dir) => saveModelBundle(dir, prepared, heads[selected] as LinearHead, chosen, options));
  const { files } = await writeReport(options.out, metrics, { fairnessMetric: rule.metric as (typeof GAP_METRICS)[number] });
  return { metrics, selected, front, boundMet: selection.boundMet, files: [...files, ...modelFiles] };
}
