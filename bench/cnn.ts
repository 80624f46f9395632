/**
 * `npx tsx bench/cnn.ts`: the `cnn` backbone against the identical network in PyTorch (Debian's python3-torch, CPU),
 * side by side in one run, on UTKFace at 64x64, gender task (80/20 split with seed 0, test accuracy).
 *
 * For each seed: ours (trainCnn, bench/_cnn_ours.ts) then PyTorch (bench/_cnn_torch.py), each in a fresh process, same epochs, batch, optimiser, step
 * schedule and augmentation (random crop with 4 px zero padding, flip). Both get 2 threads: PyTorch's intra-op
 * threads; ours, trainCnn's default BN groups of 32 (a batch of 64 is normalised in two halves, each with its own
 * statistics, where PyTorch normalises the whole batch) run on 2 copies of the network of 1 thread each
 * (src/backbone/cnn/replicas.ts). The step
 * schedule drops the learning rate 10x for the last epoch (lrStepEpochs = epochs - 1) on both sides: a short run that
 * ends at the full learning rate ends wherever its last steps threw it, and its test accuracy then swings by several
 * points from seed to seed on either side (see the earlier results in git), too much to compare means of 3 seeds.
 *
 * First a parity check (one engine, whole-batch BN: replicas 1): one training step from the same initial weights on the same batch, ours against PyTorch's
 * (logits, gradients, BN running statistics, eval-mode logits), so that an accuracy gap cannot come from the two
 * networks computing different things; what is left is the seeds' draws (initial weights, order, augmentation).
 *
 * Then bench/cnn-engines.ts (the engine choice: onnxruntime against our own WebAssembly im2col + GEMM kernels, layer
 * by layer), merged in as `engineComparison`.
 *
 * Writes bench/results/cnn.json: epochTimeRatioVsTorch (median of our training-epoch seconds / median of PyTorch's;
 * fastestEpochRatioVsTorch: the same with each side's fastest epoch, a cross-check when the load changed), accuracyGapVsTorch (PyTorch minus ours, test accuracy in points, mean over seeds), per-seed details, CPU load.
 * With one thread on each side too (seeds CNN_ONE_THREAD_SEEDS, default the first 3): `oneThread.epochCpuRatioVsTorch`, the
 * ratio of CPU seconds per epoch, the work each side does, which other jobs on a shared machine do not change (with 2
 * threads, a thread descheduled by another job stalls its partner at every synchronisation: PyTorch's OpenMP teams
 * suffer more from that than onnxruntime's pool, so a loaded machine flatters the 2-thread ratio).
 * With PyTorch data-parallel too (seeds CNN_DDP_SEEDS, default the first 3): `torchDataParallel`, our recipe on
 * PyTorch's side, DistributedDataParallel over as many one-thread processes as we run replicas, each normalising its
 * share of the batch (bench/_cnn_torch.py --ddp): the same work split the same way, against which our epoch time and
 * accuracy are compared as well.
 * Env: CNN_EPOCHS (default 2), CNN_SEEDS (default 0..8; accuracyGapStdErrorPoints says how far the mean gap can move), CNN_LIMIT (use only the first N images; default all),
 * CNN_DDP_SEEDS, CNN_SKIP_ENGINES=1 (keep the engine comparison of bench/results/cnn-engines.json as it is).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { readImageLabels, imageBatches } from '../src/data/images.ts';
import { columnValues } from '../src/data/csv-table.ts';
import { defaultCnnOptions, type CnnImageSet } from '../src/backbone/cnn.ts';
import { ImageBatches } from '../src/backbone/cnn/kernels.ts';
import { CnnEngine, initialWeights } from '../src/backbone/cnn/engine.ts';
import { replicasFor } from '../src/backbone/cnn/replicas.ts';
import { createRng } from '../src/rng.ts';
import { handoffProbe } from './handoff.ts';
import { noiseProbe, writeResult } from './machine.ts';
import { requireFolder } from './paths.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const utk = `${requireFolder('FAIRHEAD_UTKFACE', 'cnn')}/`;
const size = 64;
const epochs = Number(process.env['CNN_EPOCHS'] ?? 2);
// 9 seeds: one seed's test accuracy moves by about a point with the draws (initial weights, order, augmentation) on
// either side, so the mean of 3 seeds still swings by most of a point; 9 bring the gap's standard error near 0.5
const seeds = (process.env['CNN_SEEDS'] ?? '0,1,2,3,4,5,6,7,8').split(',').map(Number);
const limit = process.env['CNN_LIMIT'] ? Number(process.env['CNN_LIMIT']) : Infinity;
const threads = 2;
/**
 * Seeds also trained by PyTorch data-parallel (bench/_cnn_torch.py --ddp): our default recipe (BN in groups of
 * bnGroupSize, one replica per group) against PyTorch's DistributedDataParallel with as many one-thread processes.
 */
const ddpSeeds = (process.env['CNN_DDP_SEEDS'] ?? seeds.slice(0, 3).join(',')).split(',').filter((v) => v !== '').map(Number);
/** Seeds also trained with one thread on each side (CPU seconds per epoch: the work, robust to a shared machine). */
const oneThreadSeeds = (process.env['CNN_ONE_THREAD_SEEDS'] ?? seeds.slice(0, 3).join(',')).split(',').filter((v) => v !== '').map(Number);
const work = `${root}bench/work/`;

// 1. Decode once (cached as raw bytes for both sides).
const labels = readImageLabels({ images: `${utk}images`, labels: `${utk}labels.csv`, imageColumn: 'file' });
const gender = columnValues(labels.table, 'gender').map(Number);
const race = columnValues(labels.table, 'race').map(Number);
const cacheFile = `${work}utkface-${size}.u8`;
const rowsFile = `${work}utkface-${size}.rows.json`;
let pixels: Uint8Array;
let rows: number[];
if (existsSync(cacheFile) && existsSync(rowsFile)) {
  pixels = new Uint8Array(readFileSync(cacheFile));
  rows = JSON.parse(readFileSync(rowsFile, 'utf8')) as number[];
} else {
  const t = performance.now();
  const chunks: Uint8Array[] = [];
  rows = [];
  for await (const b of imageBatches(labels.files, { size, batchSize: 256 })) {
    chunks.push(b.pixels);
    rows.push(...b.rows);
  }
  pixels = new Uint8Array(rows.length * size * size * 3);
  let o = 0;
  for (const c of chunks) {
    pixels.set(c, o);
    o += c.length;
  }
  writeFileSync(cacheFile, pixels);
  writeFileSync(rowsFile, JSON.stringify(rows));
  process.stdout.write(`decoded ${rows.length} images in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
}
const n = Math.min(rows.length, limit);
const y = Int32Array.from(rows.slice(0, n), (r) => gender[r] as number);
const group = Int32Array.from(rows.slice(0, n), (r) => race[r] as number);
const perm = createRng(0).permutation(n);
const nTrain = Math.floor(0.8 * n);
const trainIdx = Array.from(perm.subarray(0, nTrain)).sort((a, b) => a - b);
const testIdx = Array.from(perm.subarray(nTrain)).sort((a, b) => a - b);
const pick = (idx: number[]): CnnImageSet => {
  const px = new Uint8Array(idx.length * size * size * 3);
  idx.forEach((i, k) => px.set(pixels.subarray(i * size * size * 3, (i + 1) * size * size * 3), k * size * size * 3));
  return { images: { pixels: px, n: idx.length, size }, y: Int32Array.from(idx, (i) => y[i] as number), group: Int32Array.from(idx, (i) => group[i] as number), classes: ['0', '1'] };
};
const train = pick(trainIdx);
const test = pick(testIdx);
const o = { ...defaultCnnOptions, lrStepEpochs: Math.max(1, epochs - 1) };
/** Our copies of the network on 2 threads: the BN groups of a batch (2 for batches of 64 in groups of 32). */
const replicas = replicasFor(o.batchSize, o.bnGroupSize, threads);
const dataFile = `${work}cnn-torch-data.json`;
writeFileSync(dataFile, JSON.stringify({
  pixels: cacheFile, size, y: Array.from(y), train: trainIdx, test: testIdx, channels: o.channels, batchSize: o.batchSize,
  learningRate: o.learningRate, momentum: o.momentum, weightDecay: o.weightDecay, lrStepEpochs: o.lrStepEpochs, lrGamma: o.lrGamma,
  cropPadding: o.cropPadding,
}));
process.stdout.write(`utkface ${size}px: ${train.images.n} train / ${test.images.n} test, ${epochs} epochs, seeds ${seeds.join(',')}, load ${os.loadavg()[0]!.toFixed(1)}\n`);

// 0. Parity: one training step from the same weights on the same batch, ours against PyTorch's (logits, gradients,
// running statistics, eval-mode logits), so that an accuracy gap cannot come from the two networks differing.
const parityFile = `${work}cnn-parity.json`;
{
  const arch = { size, channels: [...o.channels], outputs: 1 };
  const engine = await CnnEngine.create(arch, { training: true, threads });
  const rng = createRng(12345);
  const w = initialWeights(arch, rng);
  const initial = w.params.map((p) => Float32Array.from(p));
  const rows = o.batchSize;
  const idx = Int32Array.from(rng.permutation(train.images.n).subarray(0, rows));
  const xb = Float32Array.from(new ImageBatches(size, rows).load(train.images.pixels, idx, { rng, padding: o.cropPadding }));
  const target = Float32Array.from(idx, (i) => train.y[i] as number);
  const step = await engine.trainStep(w, xb, target, rows, 1 / rows, 0.1);
  const { logits: evalLogits } = await engine.infer(w, xb, rows);
  writeFileSync(parityFile, JSON.stringify({
    channels: o.channels, size, x: Array.from(xb), y: Array.from(target), logits: Array.from(step.logits), evalLogits: Array.from(evalLogits),
    params: Object.fromEntries(engine.params.map((p, i) => [p.name, { value: Array.from(initial[i] as Float32Array), grad: Array.from(step.grads[i] as Float32Array) }])),
    running: Object.fromEntries(engine.bns.map((b, i) => [b.name, { mean: Array.from(w.runningMean[i] as Float32Array), var: Array.from(w.runningVar[i] as Float32Array) }])),
  }));
  await engine.release();
}
const parityOut = execFileSync('/usr/bin/python3', [`${root}bench/_cnn_torch.py`, parityFile, '--parity'], { encoding: 'utf8' });
const parity = JSON.parse(parityOut.trim().split('\n').pop() as string) as Record<string, number | string>;
process.stdout.write(`parity with PyTorch from the same weights and batch: ${JSON.stringify(parity)}\n`);

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
/**
 * One training of `seed` on each side with `t` threads, each in a fresh process (bench/_cnn_ours.ts,
 * bench/_cnn_torch.py): wall and CPU seconds per epoch, step times, test accuracy.
 */
function oursRun(seed: number, t: number): { epochSeconds: number[]; epochCpuSeconds: number[]; stepSeconds: number[]; testAccuracy: number; trainLoss: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', `${root}bench/_cnn_ours.ts`, dataFile, '--seed', String(seed), '--epochs', String(epochs), '--threads', String(t)], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26,
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as { epochSeconds: number[]; epochCpuSeconds: number[]; stepSeconds: number[]; testAccuracy: number; trainLoss: number };
}
/** PyTorch's training with `t` threads, or data-parallel over `ddp` processes of one thread each. */
function torchRun(seed: number, t: number, ddp = 0): { epochSeconds: number[]; epochCpuSeconds: number[]; stepSeconds: number[]; testAccuracy: number; trainLoss: number } {
  const how = ddp > 1 ? ['--ddp', String(ddp)] : ['--threads', String(t)];
  const out = execFileSync('/usr/bin/python3', [`${root}bench/_cnn_torch.py`, dataFile, '--seed', String(seed), '--epochs', String(epochs), ...how], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split('\n').pop() as string) as { epochSeconds: number[]; epochCpuSeconds: number[]; stepSeconds: number[]; testAccuracy: number; trainLoss: number };
}

// the machine's steadiness before and after the trainings (bench/noise.ts): the context of every wall time below
const noiseBefore = noiseProbe(10);
process.stdout.write(`noise before: ${Math.round(100 * noiseBefore.slowShare)}% of probe rounds slow\n`);
const results: { seed: number; ours: ReturnType<typeof oursRun>; torch: ReturnType<typeof torchRun>; loadAverageBefore: number | undefined; loadAverageAfter: number | undefined; handoffRatios: number[] }[] = [];
const oneThread = [];
const dataParallel: { seed: number; torch: ReturnType<typeof torchRun> }[] = [];
for (const seed of seeds) {
  const loadBefore = os.loadavg()[0];
  // what a second onnxruntime thread costs a one-thread op reading a parallel op's output (bench/handoff.ts), before
  // each side's training and after both
  const handoffBeforeOurs = (await handoffProbe()).ratio;
  const ours = oursRun(seed, threads);
  const handoffBeforeTorch = (await handoffProbe()).ratio;
  const torch = torchRun(seed, threads);
  const handoffAfter = (await handoffProbe()).ratio;
  const row = { seed, ours, torch, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg()[0], handoffRatios: [handoffBeforeOurs, handoffBeforeTorch, handoffAfter] };
  process.stdout.write(`seed ${seed}: ours ${ours.epochSeconds.map((s) => s.toFixed(1)).join('/')} s acc ${ours.testAccuracy.toFixed(4)} | torch ${torch.epochSeconds.map((s) => s.toFixed(1)).join('/')} s acc ${torch.testAccuracy.toFixed(4)} | handoff ${row.handoffRatios.join('/')}x\n`);
  results.push(row);
  if (ddpSeeds.includes(seed)) {
    // PyTorch with our recipe: BN per share of the batch, the shares on processes of one thread each
    const ddp = torchRun(seed, 1, replicas);
    dataParallel.push({ seed, torch: ddp });
    process.stdout.write(`seed ${seed}, PyTorch data-parallel (${replicas} processes): ${ddp.epochSeconds.map((s) => s.toFixed(1)).join('/')} s acc ${ddp.testAccuracy.toFixed(4)}\n`);
  }
  if (oneThreadSeeds.includes(seed)) {
    // one thread each: CPU seconds are the work done, whatever else shares the cores (no thread waits for another)
    const load1 = os.loadavg()[0];
    const ours1 = oursRun(seed, 1);
    const torch1 = torchRun(seed, 1);
    oneThread.push({ seed, ours: ours1, torch: torch1, loadAverageBefore: load1, loadAverageAfter: os.loadavg()[0] });
    process.stdout.write(`seed ${seed}, 1 thread: ours ${ours1.epochCpuSeconds.map((s) => s.toFixed(1)).join('/')} CPU s | torch ${torch1.epochCpuSeconds.map((s) => s.toFixed(1)).join('/')} CPU s\n`);
  }
}
const noiseAfter = noiseProbe(10);
const oursEpoch = median(results.flatMap((r) => r.ours.epochSeconds));
const torchEpoch = median(results.flatMap((r) => r.torch.epochSeconds));
// contention only ever slows an epoch down: the fastest epochs of each side are a cross-check of the medians
// when other jobs shared the machine with one side more than with the other (see loadAverage*)
const oursFastest = Math.min(...results.flatMap((r) => r.ours.epochSeconds));
const torchFastest = Math.min(...results.flatMap((r) => r.torch.epochSeconds));
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
// one thread: each side's CPU seconds per epoch, first epochs left out (they also hold set-up: sessions, warm-up)
const later = (v: readonly number[]): number[] => (v.length > 1 ? v.slice(1) : [...v]);
const oursCpu1 = oneThread.length ? median(oneThread.flatMap((r) => later(r.ours.epochCpuSeconds))) : NaN;
const torchCpu1 = oneThread.length ? median(oneThread.flatMap((r) => later(r.torch.epochCpuSeconds))) : NaN;
const oursWall1 = oneThread.length ? median(oneThread.flatMap((r) => later(r.ours.epochSeconds))) : NaN;
const torchWall1 = oneThread.length ? median(oneThread.flatMap((r) => later(r.torch.epochSeconds))) : NaN;
// Step times (2 threads, every step of every seed): this machine has bursts of seconds in which a fixed one-thread
// job takes 1.6-1.8x its usual time, and an epoch (10-20 s) catches some of them. Each side's lower quartile step
// is its step on a quiet machine as long as a quarter of its steps ran in quiet spells; the ratio of the two is the
// epoch-time ratio such a machine gives (steps per epoch being the same on both sides).
const quantile = (v: readonly number[], q: number): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
};
const stepStats = (v: readonly number[]): Record<string, number> => ({
  p10: 1000 * quantile(v, 0.1), p25: 1000 * quantile(v, 0.25), p50: 1000 * quantile(v, 0.5), p90: 1000 * quantile(v, 0.9),
});
const oursSteps = results.flatMap((r) => [...r.ours.stepSeconds]);
const torchSteps = results.flatMap((r) => r.torch.stepSeconds);
const quietRatio = quantile(oursSteps, 0.25) / quantile(torchSteps, 0.25);
const medianStepRatio = quantile(oursSteps, 0.5) / quantile(torchSteps, 0.5);
const withoutSteps = <T extends { stepSeconds: unknown }>(run: T): Omit<T, 'stepSeconds'> => {
  const { stepSeconds: _, ...rest } = run;
  return rest;
};
const accOurs = mean(results.map((r) => r.ours.testAccuracy));
const accTorch = mean(results.map((r) => r.torch.testAccuracy));
// the standard error of the difference of the two means (the seeds of the two sides are independent draws)
const variance = (v: number[]): number => (v.length > 1 ? v.reduce((a, x) => a + (x - mean(v)) ** 2, 0) / (v.length - 1) : NaN);
const gapStdError = 100 * Math.sqrt(variance(results.map((r) => r.ours.testAccuracy)) / results.length + variance(results.map((r) => r.torch.testAccuracy)) / results.length);
const firstThree = results.slice(0, 3);
const gapFirstThree = 100 * (mean(firstThree.map((r) => r.torch.testAccuracy)) - mean(firstThree.map((r) => r.ours.testAccuracy)));
// By the handoff probe around each seed: seeds whose probes all read under 1.2 (a one-thread op reads a parallel
// op's output as fast on 2 threads as on 1) against seeds whose probes all read 1.3 or more; the epoch-time ratio of
// each group
const phase = (keep: (ratio: number) => boolean): { seeds: number[]; epochTimeRatioVsTorch: number | null } => {
  const rows = results.filter((r) => r.handoffRatios.every(keep));
  return {
    seeds: rows.map((r) => r.seed),
    epochTimeRatioVsTorch: rows.length ? median(rows.flatMap((r) => r.ours.epochSeconds)) / median(rows.flatMap((r) => r.torch.epochSeconds)) : null,
  };
};
const byHandoff = { cheap: phase((x) => x < 1.2), dear: phase((x) => x >= 1.3) };
// against PyTorch data-parallel, on the seeds both ran
const ddpOurs = results.filter((r) => ddpSeeds.includes(r.seed));
const ddpEpochRatio = dataParallel.length ? median(ddpOurs.flatMap((r) => r.ours.epochSeconds)) / median(dataParallel.flatMap((r) => r.torch.epochSeconds)) : NaN;
const ddpGap = dataParallel.length ? 100 * (mean(dataParallel.map((r) => r.torch.testAccuracy)) - mean(ddpOurs.map((r) => r.ours.testAccuracy))) : NaN;
if (process.env['CNN_SKIP_ENGINES'] !== '1') {
  const r = spawnSync(process.execPath, ['--import', 'tsx', `${root}bench/cnn-engines.ts`], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const engines = JSON.parse(readFileSync(`${root}bench/results/cnn-engines.json`, 'utf8')) as Record<string, unknown>;
writeResult('cnn', {
  task: `UTKFace gender, ${size}x${size}, ${train.images.n} train / ${test.images.n} test images, ${epochs} epochs, seeds ${seeds.join(',')}`,
  architecture: `stem conv3x3 + BN + ReLU + maxpool2, basic blocks [${o.channels.join(', ')}], GAP, linear`,
  options: { ...o, epochs, threads, replicas },
  engine: 'ONNX graph of a whole training step (forward, loss gradient, hand-written backward) on onnxruntime-node; SGD update, filters and batch loading in WebAssembly (assembly/cnn/)',
  engineComparison: {
    command: engines['command'], what: engines['what'], engines: engines['engines'], totalMs: engines['totalMs'], gflops: engines['gflops'],
    wasmOverOrtSameThreads: engines['wasmOverOrtSameThreads'], wasmOverOrtTwoThreads: engines['wasmOverOrtTwoThreads'], chosen: engines['chosen'],
    perLayer: 'bench/results/cnn-engines.json',
  },
  epochTimeRatioVsTorch: oursEpoch / torchEpoch,
  accuracyGapVsTorch: 100 * (accTorch - accOurs),
  accuracyGapStdErrorPoints: gapStdError,
  accuracyGapFirstThreeSeeds: gapFirstThree,
  oursEpochSecondsMedian: oursEpoch,
  torchEpochSecondsMedian: torchEpoch,
  fastestEpochRatioVsTorch: oursFastest / torchFastest,
  byHandoff: {
    what: 'seeds by bench/handoff.ts (a parallel Add then a one-thread BatchNormalization, 2 threads over 1) before each side\'s training and after both: cheap = all under 1.2, dear = all 1.3 or more; the epoch-time ratio of each group',
    ...byHandoff,
  },
  torchDataParallel: {
    what: `PyTorch with our default recipe, seeds CNN_DDP_SEEDS: DistributedDataParallel over ${replicas} processes of one thread each (gloo), each training on its share of every batch with BN on the share (no SyncBatchNorm), as our ${replicas} replicas do with bnGroupSize ${o.bnGroupSize}; epoch-time ratio ours over it (our 2-thread epochs of the same seeds, medians) and accuracy gap (its mean minus ours, points)`,
    epochTimeRatioVsTorchDataParallel: ddpEpochRatio,
    accuracyGapVsTorchDataParallel: ddpGap,
    torchEpochSecondsMedian: dataParallel.length ? median(dataParallel.flatMap((r) => r.torch.epochSeconds)) : NaN,
    runs: dataParallel.map((r) => ({ seed: r.seed, torch: withoutSteps(r.torch) })),
  },
  machineNoise: {
    what: 'bench/noise.ts\'s probe for 10 s before and after the trainings: share of its rounds over 1.3x the fastest tenth (0 on a machine of its own)',
    before: noiseBefore,
    after: noiseAfter,
  },
  stepTimes: {
    what: 'ms per training step (loading, forward, backward, update), 2 threads, every step of every seed, quantiles; the machine has bursts in which a fixed one-thread job takes 1.6-1.8x its usual time: each side\'s lower quartile is its step on a quiet machine, and quietStepRatioVsTorch the epoch-time ratio such a machine gives',
    quietStepRatioVsTorch: quietRatio,
    medianStepRatioVsTorch: medianStepRatio,
    ours: stepStats(oursSteps),
    torch: stepStats(torchSteps),
    steps: oursSteps.length,
  },
  oneThread: {
    what: 'the same training with 1 thread on each side (seeds CNN_ONE_THREAD_SEEDS): CPU seconds per epoch are the work done, robust to other jobs on the cores (no thread waits for a descheduled one); first epochs left out',
    epochCpuRatioVsTorch: oursCpu1 / torchCpu1,
    oursEpochCpuSecondsMedian: oursCpu1,
    torchEpochCpuSecondsMedian: torchCpu1,
    epochWallRatioVsTorch: oursWall1 / torchWall1,
    runs: oneThread.map((r) => ({ ...r, ours: withoutSteps(r.ours), torch: withoutSteps(r.torch) })),
  },
  oursEpochSecondsFastest: oursFastest,
  torchEpochSecondsFastest: torchFastest,
  oursTestAccuracyMean: accOurs,
  torchTestAccuracyMean: accTorch,
  oursLastEpochTrainLossMean: mean(results.map((r) => r.ours.trainLoss)),
  torchLastEpochTrainLossMean: mean(results.map((r) => r.torch.trainLoss)),
  parityWithTorch: {
    what: 'one training step from the same initial weights on the same augmented batch of 64 (bench/work/cnn-parity.json): largest differences between ours and PyTorch\'s (gradients: |ours - torch| / |torch|, Euclidean norms, worst tensor)',
    ...parity,
  },
  seeds: results.map((r) => ({ ...r, ours: withoutSteps(r.ours), torch: withoutSteps(r.torch) })),
  note: 'wall seconds on a 2-core machine shared with other jobs (see loadAverage*): both sides ran alternately in this one run',
});
process.stdout.write(`epochTimeRatioVsTorch ${(oursEpoch / torchEpoch).toFixed(2)} (seeds with cheap handoffs ${byHandoff.cheap.seeds.join(',') || '-'}: ${byHandoff.cheap.epochTimeRatioVsTorch?.toFixed(2) ?? '-'}, dear ${byHandoff.dear.seeds.join(',') || '-'}: ${byHandoff.dear.epochTimeRatioVsTorch?.toFixed(2) ?? '-'}; fastest epochs: ${(oursFastest / torchFastest).toFixed(2)}; quiet steps: ${quietRatio.toFixed(2)}, median steps: ${medianStepRatio.toFixed(2)}), one thread: CPU ${(oursCpu1 / torchCpu1).toFixed(2)}, wall ${(oursWall1 / torchWall1).toFixed(2)}; accuracyGapVsTorch ${(100 * (accTorch - accOurs)).toFixed(2)} ± ${gapStdError.toFixed(2)} points over ${results.length} seeds (first 3: ${gapFirstThree.toFixed(2)}); against PyTorch data-parallel (seeds ${ddpSeeds.join(',')}): epochs ${ddpEpochRatio.toFixed(2)}, accuracy gap ${ddpGap.toFixed(2)} points\n`);
