import os from 'node:os';
import { join } from 'node:path';
import { saveModelBundle } from '../export/model-bundle.ts';
import type { MetricsFile, RunContext, RunRecord } from '../report/schema.ts';
import { writeReport } from '../report/write-report.ts';
import { finetuneAndEvaluate, notConvergedWarning, shippedMismatchWarning, shippedOutcome, type FinetuneHooks } from './finetune.ts';
import type { LinearHead } from '../head/linear-head.ts';
import { checkOutputFolder, removeStaleTempFiles, replaceFolder } from './output-folder.ts';
import { optionsRecord, type OptionsRecord } from './run-command.ts';
import { prepareData, type PrepareHooks, type PreparedData } from './prepare.ts';
import type { RunOptions } from './run-options.ts';
import { thinCellWarning } from './thin-cells.ts';

/** What {@link runPipeline} produced. */
export interface RunOutput {
  readonly metrics: MetricsFile;
  /** Files written under `options.out`. */
  readonly files: readonly string[];
  readonly prepared: PreparedData;
}

/**
 * `fairhead run`: data + backbone -> embeddings -> fine-tune -> evaluate on train, fine-tuning set and test ->
 * `out/metrics.json`, `out/report.html`, `out/report.md` and the model folder `out/model/`.
 * The backbone's own head, when it has one, is evaluated too (method `shipped`) as the baseline.
 */
export async function runPipeline(options: RunOptions, hooks: PrepareHooks & FinetuneHooks = {}): Promise<RunOutput> {
  checkOutputFolder(options.out);
  const prepared = await prepareData(options, hooks);
  for (const warning of [shippedMismatchWarning(prepared), thinCellWarning(prepared.train, prepared.validation, options.method, options.constraint, prepared.dataset)]) {
    if (warning) hooks.onWarning?.(warning);
  }
  const runs: RunRecord[] = [];
  const shipped = shippedOutcome(prepared, options.bootstrap ?? 0);
  if (shipped) runs.push(shipped.record);
  const outcome = await finetuneAndEvaluate(prepared, options, { bootstrap: options.bootstrap ?? 0, ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}) });
  runs.push(outcome.record);
  const warning = notConvergedWarning(outcome.record);
  if (warning) hooks.onWarning?.(warning);
  const metrics: MetricsFile = { format: 'fairhead.metrics', version: 1, context: runContext(options, prepared, optionsRecord(options)), runs };
  const files = await writeRunOutputs(options.out, prepared, options, metrics, outcome.head);
  return { metrics, files, prepared };
}

/**
 * Write what `fairhead run` leaves in `out`: the model folder of `head` (the last run of `metrics`, replaced as a
 * whole, see replaceFolder) and metrics.json, report.html, report.md (each atomically), after removing temporary
 * files a killed process left. `fairhead explore` saves a chosen head through it too.
 *
 * @returns the files written.
 */
export async function writeRunOutputs(
  out: string,
  prepared: PreparedData,
  task: { target: string; positive?: string; sensitive: readonly string[] },
  metrics: MetricsFile,
  head: LinearHead,
): Promise<string[]> {
  const last = metrics.runs[metrics.runs.length - 1] as RunRecord;
  removeStaleTempFiles(out);
  const modelFiles = await replaceFolder(join(out, 'model'), (dir) => saveModelBundle(dir, prepared, head, last, task));
  const { files } = await writeReport(out, metrics, { selected: metrics.runs.length - 1 });
  return [...files, ...modelFiles];
}

/** Titles for reports: dataset, backbone, task, when and where; with `options`, the command's options (see OptionsRecord). */
export function runContext(options: RunOptions | (Pick<RunOptions, 'target' | 'sensitive'> & { positive?: string }), prepared: PreparedData, record?: OptionsRecord): RunContext {
  const input = prepared.input;
  return {
    dataset: prepared.dataset,
    backbone: prepared.backbone.spec,
    ...(input.kind === 'images' && input.preprocessing ? { input: { kind: 'images' as const, preprocessing: input.preprocessing } } : {}),
    ...(input.kind === 'text' ? { input } : {}),
    target: options.target,
    sensitive: [...options.sensitive],
    ...(options.positive !== undefined ? { positive: options.positive } : {}),
    createdAt: new Date().toISOString(),
    machine: `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    ...(record !== undefined ? { options: record } : {}),
  };
}
