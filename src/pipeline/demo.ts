import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { saveModelBundle } from '../export/model-bundle.ts';
import type { LinearHead } from '../head/linear-head.ts';
import type { MetricsFile, RunRecord } from '../report/schema.ts';
import { writeReport } from '../report/write-report.ts';
import { finetuneAndEvaluate, shippedOutcome } from './finetune.ts';
import { prepareData, type PrepareHooks } from './prepare.ts';
import { runContext } from './run.ts';
import { parseSelect, selectRun } from './select-run.ts';
import type { HeadOptions, RunOptions } from './run-options.ts';

/** The built-in UCI Adult files (copied into the package with their provenance: data/adult/PROVENANCE.md). */
export const ADULT_TRAIN = fileURLToPath(new URL('../../data/adult/adult.data', import.meta.url));
export const ADULT_TEST = fileURLToPath(new URL('../../data/adult/adult.test', import.meta.url));

/**
 * The settings the demo compares: a plain ERM head re-trained on the training set (B1) vs the paper's M2 (balanced
 * sample of train + validation) and M1 (validation set) with equalized odds and demographic parity penalties.
 */
export const DEMO_SETTINGS: readonly Omit<HeadOptions, 'seed' | 'optimizer'>[] = [
  { method: 'b1', constraint: 'eo', alpha: 0 },
  { method: 'm2', constraint: 'eo', alpha: 5 },
  { method: 'm2', constraint: 'dp', alpha: 5 },
  { method: 'm1', constraint: 'eo', alpha: 5 },
  { method: 'm1', constraint: 'dp', alpha: 5 },
];

/**
 * How the demo chooses the model it saves, as `sweep --select` does: the most accurate fine-tuned run on the
 * validation data whose equalized-odds difference there is at most 0.05 (see {@link selectRun}).
 */
export const DEMO_SELECT = 'equalizedOddsDifference<=0.05';

/**
 * `fairhead demo`: on the built-in UCI Adult data (target income >50K, sensitive attribute sex), pre-train the
 * MLP with ERM, freeze it, then compare the MLP's own head (shipped), a re-trained ERM head (B1) and fair heads
 * (M2 and M1, each with EO and DP); choose one by {@link DEMO_SELECT} on the validation data (metrics.json
 * `selection`) and write metrics.json, report.html, report.md and the chosen model to `out`.
 */
export async function runDemo(out: string, hooks: PrepareHooks & { seed?: number; epochs?: number } = {}): Promise<{ metrics: MetricsFile; files: string[] }> {
  const seed = hooks.seed ?? 0;
  const options: RunOptions = {
    data: ADULT_TRAIN,
    testData: ADULT_TEST,
    target: 'Y',
    positive: '>50K',
    sensitive: ['sex'],
    backbone: 'mlp',
    ...(hooks.epochs !== undefined ? { epochs: hooks.epochs } : {}),
    method: 'm2',
    constraint: 'eo',
    alpha: 5,
    optimizer: 'lbfgs',
    seed,
    out,
  };
  const prepared = await prepareData(options, hooks);
  const runs: RunRecord[] = [];
  const shipped = shippedOutcome(prepared, 200);
  if (shipped) runs.push(shipped.record);
  const heads: (LinearHead | undefined)[] = runs.map(() => undefined);
  for (const s of DEMO_SETTINGS) {
    const outcome = await finetuneAndEvaluate(prepared, { ...s, seed, optimizer: 'lbfgs' }, { bootstrap: 200 });
    runs.push(outcome.record);
    heads.push(outcome.head);
  }
  const candidates = runs.map((r, i) => i).filter((i) => heads[i] !== undefined);
  const { front: _front, ...selection } = selectRun(runs, candidates, parseSelect(DEMO_SELECT));
  const metrics: MetricsFile = {
    format: 'fairhead.metrics',
    version: 1,
    context: { ...runContext(options, prepared), dataset: 'UCI Adult (built-in: data/adult)' },
    runs,
    selection,
  };
  const chosen = runs[selection.run] as RunRecord;
  const modelFiles = await saveModelBundle(join(out, 'model'), prepared, heads[selection.run] as LinearHead, chosen, options);
  const { files } = await writeReport(out, metrics);
  return { metrics, files: [...files, ...modelFiles] };
}
