/**
 * `npm run bench -- convergence`: how the head's L-BFGS reaches its optimum, on the fine-tuning set `fairhead
 * explore` drags over (UTKFace face-api embeddings; M2 of target gender, sensitive race white / non-white, seed 0;
 * 6,148 x 512), with the equalized-odds penalty at alpha 0.1 to 1,000. For each alpha, three ways to the same
 * objective's optimum, each a fresh fitHead (from zeros, default tolerance: the objective changes by less than
 * 1e-7 of itself in an iteration):
 *
 * - plain: L-BFGS in the head's own parameters (precondition: false, continuation: false), fairhead before this change
 * - preconditioned: in the preconditioned variables (continuation: false)
 * - default: preconditioned, and at alpha > 1 through 1, 10, 100, ... (iterations counted over every step)
 *
 * against the optimum: the lowest objective of the three run to tolerance 1e-13 (at most 20,000 iterations). Writes
 * bench/results/convergence.json: per alpha, each way's iterations, milliseconds, relative excess objective
 * (f - f*) / f*, and hard EO gap and accuracy on the fine-tuning set. Iterations and objectives do not depend on
 * the machine's load; milliseconds do (the load average is recorded).
 *
 * The faces come from FAIRHEAD_UTKFACE (images/ and labels.csv), the embeddings from fairhead's cache in
 * bench/work/explore-cache (shared with `npm run bench -- explore`; the first run embeds every face).
 */
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareData } from '../src/pipeline/prepare.ts';
import { finetuneSet } from '../src/pipeline/finetune-sets.ts';
import { writeUtkfaceLabels } from '../src/pipeline/reproduce/utkface-labels.ts';
import { fitHead, type FitOptions } from '../src/train/fit.ts';
import { writeResult } from './machine.ts';
import { requireFolder } from './paths.ts';

const utkface = requireFolder('FAIRHEAD_UTKFACE', 'convergence');
const work = fileURLToPath(new URL('work/', import.meta.url));
const labels = join(work, 'utkface-labels.csv');
writeUtkfaceLabels(join(utkface, 'labels.csv'), labels);
const prepared = await prepareData({
  images: join(utkface, 'images'), labels, target: 'gender', positive: '1', sensitive: ['race_group'], cacheDir: join(work, 'explore-cache'),
});
const set = finetuneSet('m2', prepared.train, prepared.validation, 0, prepared.dataset);
const log = (msg: string): void => void process.stdout.write(`${msg}\n`);
log(`M2 set ${set.x.rows} x ${set.x.cols}, load ${os.loadavg()[0]!.toFixed(2)}`);

const WAYS: Record<string, FitOptions> = {
  plain: { precondition: false, continuation: false },
  preconditioned: { continuation: false },
  default: {},
};
const ALPHAS = [0.1, 0.32, 1, 3.2, 10, 32, 100, 316, 1000];
const rows: Record<string, unknown>[] = [];
// warm the kernels, the worker threads and the preconditioner's cache: the first fit of a process pays them
await fitHead(set, { constraint: 'eo', alpha: 1 });
for (const alpha of ALPHAS) {
  let optimum = Infinity;
  for (const way of Object.values(WAYS)) {
    const tight = await fitHead(set, { constraint: 'eo', alpha, ...way, tolerance: 1e-13, maxIterations: 20_000 });
    optimum = Math.min(optimum, tight.objective);
  }
  const row: Record<string, unknown> = { alpha, optimum };
  const parts: string[] = [];
  for (const [name, way] of Object.entries(WAYS)) {
    const t = performance.now();
    const r = await fitHead(set, { constraint: 'eo', alpha, ...way });
    const ms = performance.now() - t;
    const excess = (r.objective - optimum) / optimum;
    row[name] = { iterations: r.iterations, ms: Math.round(ms), excess: Number(excess.toExponential(2)), gap: Number(r.gap!.toFixed(4)), accuracy: Number(r.accuracy.toFixed(4)), converged: r.converged };
    parts.push(`${name} ${r.iterations} it ${ms.toFixed(0)} ms excess ${excess.toExponential(1)}`);
  }
  rows.push(row);
  log(`alpha ${alpha}: ${parts.join(' | ')}`);
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const summary = Object.fromEntries(Object.keys(WAYS).map((name) => {
  const of = (key: 'iterations' | 'excess'): number[] => rows.map((r) => (r[name] as Record<string, number>)[key]!);
  return [name, { medianIterations: median(of('iterations')), maxIterations: Math.max(...of('iterations')), medianExcess: median(of('excess')), maxExcess: Math.max(...of('excess')) }];
}));
log(JSON.stringify(summary));
writeResult('convergence', {
  data: `UTKFace face-api embeddings, M2 (seed 0) of target gender, sensitive race white / non-white: ${set.x.rows} x ${set.x.cols}; equalized-odds penalty`,
  command: 'FAIRHEAD_UTKFACE=DIR npm run bench -- convergence',
  summary,
  alphas: rows,
  load: Math.round(os.loadavg()[0]! * 100) / 100,
});
process.exit(0);
