/**
 * Part of bench/head.ts, run as a child process so that the M2 fits start in a fresh process, as the peer's do
 * (peer.py runs in its own) and as a user's command does, without the garbage and threads of the benchmark's
 * other parts (the 160k-row timings, a 328 MB copy of X for ONNX Runtime):
 *
 *     node --import tsx bench/_head-m2.ts DIR SEEDS
 *
 * starts the trainer's worker thread and loads DIR's train, validation and test splits (as `fairhead run` does),
 * then for each seed (comma-separated) draws the M2 set and fits an EO head (alpha 1, L-BFGS), timing
 * finetuneSet + fitHead; then the same seeds again in the same process. Prints one JSON line:
 * { runs: [{ seed, seconds, setSeconds, testAcc, testEo, iterations, rows }], againRuns: [...] }.
 */
import type { EmbeddingSet } from '../src/data/dataset.ts';
import { finetuneSet, releaseFinetuneSet } from '../src/pipeline/finetune-sets.ts';
import { fitHead } from '../src/train/fit.ts';
import { startTrainerThreads } from '../src/train/threaded-ops.ts';
import { readSplit } from './_head-full.ts';

/** Accuracy and equalized-odds difference (max of the TPR and FPR gaps between the two groups), as peer.py computes them. */
export function scores(yPred: Int32Array, set: EmbeddingSet): { acc: number; eo: number } {
  const hit = [0, 0, 0, 0];
  const count = [0, 0, 0, 0];
  let correct = 0;
  for (let i = 0; i < set.y.length; i++) {
    const cell = set.y[i]! * 2 + set.group[i]!;
    count[cell]! += 1;
    hit[cell]! += yPred[i]!;
    if (yPred[i] === set.y[i]) correct++;
  }
  const rate = (c: number): number => hit[c]! / count[c]!;
  return { acc: correct / set.y.length, eo: Math.max(Math.abs(rate(0) - rate(1)), Math.abs(rate(2) - rate(3))) };
}

const round = (v: number, digits = 4): number => Number(v.toPrecision(digits));

async function main(): Promise<void> {
  const [dir, seedList] = process.argv.slice(2);
  if (!dir || !seedList) throw new Error('usage: _head-m2.ts DIR SEEDS');
  const seeds = seedList.split(',').map(Number);
  // as the pipelines do (prepareData): the worker thread starts while the data loads, not in the first fit
  void startTrainerThreads();
  const train = readSplit(dir, 'train');
  const val = readSplit(dir, 'val');
  const test = readSplit(dir, 'test');
  /** finetuneSet + fitHead for one seed, timed; the set is then released (the next draw reuses its memory, as a sweep does). */
  const fitSeed = async (seed: number) => {
    const t = performance.now();
    const set = finetuneSet('m2', train, val, seed);
    const setSeconds = (performance.now() - t) / 1000;
    const fit = await fitHead(set, { constraint: 'eo', alpha: 1, optimizer: 'lbfgs', seed });
    const seconds = (performance.now() - t) / 1000;
    releaseFinetuneSet(set);
    return { timed: { seed, seconds: round(seconds), setSeconds: round(setSeconds) }, fit, rows: set.y.length };
  };
  const runs: { seed: number; seconds: number; setSeconds: number; testAcc: number; testEo: number; iterations: number; rows: number }[] = [];
  for (const seed of seeds) {
    const { timed, fit, rows } = await fitSeed(seed);
    const s = scores(fit.head.predict(test.x), test);
    runs.push({ ...timed, testAcc: round(s.acc), testEo: round(s.eo), iterations: fit.iterations, rows });
  }
  // The same seeds again in this process: how long a fit takes once V8 has optimised the JavaScript around the
  // kernels (the first fits of a process run part of it unoptimised). Reported beside the ratio, not in it.
  const againRuns: { seed: number; seconds: number; setSeconds: number }[] = [];
  for (const seed of seeds) againRuns.push((await fitSeed(seed)).timed);
  process.stdout.write(`${JSON.stringify({ runs, againRuns })}\n`);
}

await main();
