/**
 * Part of bench/head.ts: the synthetic data cache, and (run as a child process, so that its peak memory is its
 * own) the EO fit on the full training set:
 *
 *     node --expose-gc --import tsx bench/_head-full.ts DIR
 *
 * loads only DIR/train.bin (+ labels) into shared memory, fits an EO head with L-BFGS (the peer's per-cell soft
 * rates, default logsumexp smoothing, no L2) over threaded ops in warm-started chunks of {@link CHUNK} iterations,
 * measures the peer's exact objective (CE + |FPR gap| + |FNR gap|) after each chunk, and prints one JSON line:
 * [fit seconds so far, exact objective] per chunk, and the process's peak RSS.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmbeddingSet } from '../src/data/dataset.ts';
import { createPenalty } from '../src/fairness/penalties/registry.ts';
import type { LinearHead } from '../src/head/linear-head.ts';
import { fitHead } from '../src/train/fit.ts';
import { HeadObjective } from '../src/train/objective.ts';
import { makeSynth, writeSynthCsv, type SynthData } from '../test/support/synth.ts';
import { createThreadedOps, sharedMatrix } from '../src/train/threaded-ops.ts';

/** L-BFGS iterations between two measurements of the exact objective (each chunk restarts L-BFGS's memory). */
const CHUNK = 10;
/** Smoothing temperature of the fit: small, so that its optimum is close to the exact objective's. */
const TAU = Number(process.env.HEAD_TAU ?? 0.001);

export const SPLITS = ['train', 'val', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

/** Read DIR/SPLIT.bin (float32 rows) and DIR/SPLIT.labels (int32 y then int32 a) into a shared matrix. */
export function readSplit(dir: string, split: SplitName): EmbeddingSet {
  const labels = new Int32Array(readFileSync(join(dir, `${split}.labels`)).buffer.slice(0));
  const n = labels.length / 2;
  const bytes = readFileSync(join(dir, 'meta.json'), 'utf8');
  const d = (JSON.parse(bytes) as { d: number }).d;
  const x = sharedMatrix(n, d);
  const view = new Uint8Array(x.data.buffer, x.data.byteOffset, n * d * 4);
  const fd = openSync(join(dir, `${split}.bin`), 'r');
  try {
    for (let at = 0; at < view.length; ) at += readSync(fd, view, at, Math.min(1 << 26, view.length - at), at);
  } finally {
    closeSync(fd);
  }
  return { x, y: labels.slice(0, n), classes: ['0', '1'], group: labels.slice(n), groupNames: ['0', '1'] };
}

/** The synthetic set of bench/head.ts (seed 0, 160k / 20k / 20k, d = 512, 4 decimals), made once and cached in dir. */
export async function cachedSynth(dir: string): Promise<SynthData & { madeSeconds: number }> {
  if (!SPLITS.every((s) => existsSync(join(dir, `${s}.csv`)) && existsSync(join(dir, `${s}.bin`)))) {
    const t0 = performance.now();
    const data = makeSynth({ nTrain: 160_000, nVal: 20_000, nTest: 20_000, d: 512, seed: 0, decimals: 4, allocate: sharedMatrix });
    for (const s of SPLITS) {
      const set = data[s];
      await writeSynthCsv(set, join(dir, `${s}.csv`), 4);
      writeFileSync(join(dir, `${s}.bin`), new Uint8Array(set.x.data.buffer, set.x.data.byteOffset, set.x.data.length * 4));
      const labels = new Int32Array(2 * set.y.length);
      labels.set(set.y);
      labels.set(set.group, set.y.length);
      writeFileSync(join(dir, `${s}.labels`), new Uint8Array(labels.buffer));
    }
    writeFileSync(join(dir, 'meta.json'), `${JSON.stringify({ generator: 'test/support/synth.ts', seed: 0, d: 512, decimals: 4 })}\n`);
    return { ...data, madeSeconds: (performance.now() - t0) / 1000 };
  }
  return { train: readSplit(dir, 'train'), val: readSplit(dir, 'val'), test: readSplit(dir, 'test'), madeSeconds: 0 };
}

async function main(dir: string): Promise<void> {
  const baseline = process.memoryUsage().rss;
  const train = readSplit(dir, 'train');
  const ops = await createThreadedOps(train.x, 1);
  // The peer's objective, exactly: its value is measured after every chunk of L-BFGS iterations.
  const exact = new HeadObjective({
    ops, y: train.y, group: train.group, classCount: 2, groupCount: 2,
    penalty: createPenalty('eo', { rate: 'conditional', smoothing: 'none' }), alpha: 1, l2: 0, classWeights: null,
  });
  const trajectory: [number, number][] = [];
  let fitSeconds = 0;
  let iterations = 0;
  let head: LinearHead | undefined;
  let converged = false;
  try {
    while (!converged && iterations < 400) {
      const r = await fitHead(train, {
        constraint: 'eo',
        alpha: 1,
        optimizer: 'lbfgs',
        l2: 0,
        penaltyOptions: { rate: 'conditional', temperature: TAU },
        maxIterations: CHUNK,
        ops,
        ...(head ? { init: head } : {}),
      });
      fitSeconds += r.seconds;
      iterations += r.iterations;
      converged = r.converged;
      head = r.head;
      const theta = new Float64Array(exact.size);
      theta.set(head.weights);
      theta.set(head.bias, head.weights.length);
      trajectory.push([fitSeconds, (await exact.evaluate(theta)).objective]);
      // the chunks' garbage is an artefact of measuring: collect it so that peak RSS is that of one fit
      (globalThis as { gc?: () => void }).gc?.();
    }
    process.stdout.write(
      `${JSON.stringify({
        trajectory,
        objective: trajectory[trajectory.length - 1]?.[1],
        iterations,
        seconds: fitSeconds,
        converged,
        chunk: CHUNK,
        tau: TAU,
        kernel: ops.kernel,
        threads: ops.threads,
        baselineRssBytes: baseline,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
        trainBytes: train.x.data.length * 4,
      })}\n`,
    );
  } finally {
    await ops.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main(process.argv[2] ?? '');
}
