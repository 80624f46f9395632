/**
 * Part of bench/head.ts: the synthetic data cache, and (run as a child process, so that its peak memory is its
 * own) the EO fit on the full training set:
 *
 *     node --import tsx bench/_head-full.ts DIR
 *
 * loads only DIR/train.bin (+ labels) into shared memory, fits an EO head with L-BFGS on the peer's objective
 * (cross-entropy + alpha * (|FPR gap| + |FNR gap|) with per-cell soft rates, no smoothing, no L2) over threaded
 * ops, and prints one JSON line: the objective after every iteration with its time, and the process's peak RSS.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EmbeddingSet } from '../src/data/dataset.ts';
import { fitHead } from '../src/train/fit.ts';
import { makeSynth, writeSynthCsv, type SynthData } from '../src/train/synth.ts';
import { createThreadedOps, sharedMatrix } from '../src/train/threaded-ops.ts';

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
    writeFileSync(join(dir, 'meta.json'), `${JSON.stringify({ generator: 'src/train/synth.ts', seed: 0, d: 512, decimals: 4 })}\n`);
    return { ...data, madeSeconds: (performance.now() - t0) / 1000 };
  }
  return { train: readSplit(dir, 'train'), val: readSplit(dir, 'val'), test: readSplit(dir, 'test'), madeSeconds: 0 };
}

async function main(dir: string): Promise<void> {
  const baseline = process.memoryUsage().rss;
  const train = readSplit(dir, 'train');
  const ops = await createThreadedOps(train.x, 1);
  const trajectory: [number, number][] = [];
  const t0 = performance.now();
  try {
    const r = await fitHead(train, {
      constraint: 'eo',
      alpha: 1,
      optimizer: 'lbfgs',
      l2: 0,
      penaltyOptions: { rate: 'conditional', smoothing: 'none' },
      maxIterations: 300,
      ops,
      onProgress: (p) => trajectory.push([(performance.now() - t0) / 1000, p.objective]),
    });
    process.stdout.write(
      `${JSON.stringify({
        trajectory,
        objective: r.objective,
        iterations: r.iterations,
        seconds: r.seconds,
        converged: r.converged,
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
