import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { saveModelBundle } from '../export/model-bundle.ts';
import type { LinearHead } from '../head/linear-head.ts';
import type { MetricsFile, RunRecord } from '../report/schema.ts';
import { writeReport } from '../report/write-report.ts';
import { finetuneAndEvaluate, shippedOutcome } from './finetune.ts';
import { prepareData, type PrepareHooks } from './prepare.ts';
import { runContext } from './run.ts';
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
 * `fairhead demo`: on the built-in UCI Adult data (target income >50K, sensitive attribute sex), pre-train the
 * MLP with ERM, freeze it, then compare the MLP's own head (shipped), a re-trained ERM head (B1) and fair heads
 * (M2 with EO, M2 with DP); writes metrics.json, report.html, report.md and the M2+EO model to `out`.
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
  let chosen: { head: LinearHead; record: RunRecord } | undefined;
  for (const s of DEMO_SETTINGS) {
    const outcome = await finetuneAndEvaluate(prepared, { ...s, seed, optimizer: 'lbfgs' }, { bootstrap: 200 });
    runs.push(outcome.record);
    if (s.method === 'm2' && s.constraint === 'eo') chosen = outcome;
  }
  const metrics: MetricsFile = {
    format: 'fairhead.metrics',
    version: 1,
    context: { ...runContext(options, prepared), dataset: 'UCI Adult (built-in: data/adult)' },
    runs,
  };
  const selected = chosen ? runs.indexOf(chosen.record) : runs.length - 1;
  const modelFiles = chosen ? await saveModelBundle(join(out, 'model'), prepared, chosen.head, chosen.record, options) : [];
  const { files } = await writeReport(out, metrics, { selected });
  return { metrics, files: [...files, ...modelFiles] };
}
