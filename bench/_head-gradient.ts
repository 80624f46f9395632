/**
 * Part of bench/head.ts (the kernels' A/B), run as a child process so that each run loads its own kernels module:
 *
 *     node --import tsx bench/_head-gradient.ts DIR REPS
 *
 * loads DIR's train split into shared memory and prints one JSON line, { seconds }: the median over REPS of one
 * full-batch objective + gradient (HeadObjective, EO logsumexp, threaded ops, one pass over X), as part 1 of
 * bench/head.ts times it, after one warm-up evaluation.
 */
import { createPenalty } from '../src/fairness/penalties/registry.ts';
import { HeadObjective } from '../src/train/objective.ts';
import { createThreadedOps } from '../src/train/threaded-ops.ts';
import { readSplit } from './_head-full.ts';

const [dir, reps] = process.argv.slice(2);
if (!dir || !reps) throw new Error('usage: _head-gradient.ts DIR REPS');
const train = readSplit(dir, 'train');
const ops = await createThreadedOps(train.x, 1, { kernel: 'wasm' });
const f = new HeadObjective({
  ops, y: train.y, group: train.group, classCount: 2, groupCount: 2,
  penalty: createPenalty('eo', { smoothing: 'logsumexp' }), alpha: 1, l2: 1e-4, classWeights: null,
});
const theta = new Float64Array(f.size).map((_, i) => Math.sin(i) * 0.01);
const gradient = new Float64Array(f.size);
const times: number[] = [];
let objective = 0;
for (let r = 0; r < Number(reps) + 1; r++) {
  const t = performance.now();
  objective = (await f.evaluate(theta, gradient)).objective;
  times.push((performance.now() - t) / 1000);
}
await ops.close();
const sorted = times.slice(1).sort((a, b) => a - b);
const mid = sorted.length / 2;
const seconds = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
process.stdout.write(`${JSON.stringify({ seconds, objective, gradientSum: gradient.reduce((s, v) => s + v, 0) })}\n`);
