/**
 * `npm run bench -- backbones-mlp-wide`: the MLP's two engines on a wide network, the over-fitting experiment's
 * (hidden 512 x 512, about 316,000 weights) on UCI Adult's 26,049 training rows (80/20 split of adult.data, seed 0):
 * one epoch of `trainMlp` with the own float64 kernels and one with onnxruntime (float32 GEMM), interleaved
 * own, onnxruntime, own, onnxruntime in this one process, one intra-op thread for onnxruntime (the own kernels use
 * one thread). Writes bench/results/backbones-mlp-wide.json: wall and CPU seconds per epoch of each side, their
 * ratio, the first epoch's training loss of each (the same network in float64 and float32), and the load average.
 */
import os from 'node:os';
import { loadTabular } from '../src/data/load-tabular.ts';
import { trainMlp, type MlpEngineName, type MlpProgress } from '../src/backbone/mlp.ts';
import { writeResult } from './machine.ts';
import { adultFile } from './paths.ts';

const { train, validation } = loadTabular({
  train: adultFile('adult.data'), test: adultFile('adult.test'), target: 'Y', positive: '>50K', sensitive: ['sex'], validationFraction: 0.2, seed: 0,
});
const empty = { ...validation, x: { data: new Float32Array(0), rows: 0, cols: validation.x.cols }, y: new Int32Array(0), group: new Int32Array(0) };
const options = { hidden: [512, 512], epochs: 1, learningRate: 1e-3, weightDecay: 0, batchSize: 128, keepBest: false, seed: 0, threads: 1 } as const;

const rounds: { engine: MlpEngineName; seconds: number; cpuSeconds: number; trainLoss: number; loadAverage: number }[] = [];
for (const engine of ['own', 'onnxruntime', 'own', 'onnxruntime'] as const) {
  const load = os.loadavg()[0] ?? 0;
  const cpu = process.cpuUsage();
  let first: MlpProgress | undefined;
  const r = await trainMlp(train, empty, { ...options, engine }, (p) => (first ??= p));
  const used = process.cpuUsage(cpu);
  rounds.push({ engine, seconds: r.seconds, cpuSeconds: (used.user + used.system) / 1e6, trainLoss: first?.trainLoss ?? NaN, loadAverage: load });
  process.stdout.write(`${engine}: ${r.seconds.toFixed(2)} s (${((used.user + used.system) / 1e6).toFixed(2)} s CPU), training loss ${first?.trainLoss.toFixed(6)}, load ${load.toFixed(1)}\n`);
}
const mean = (engine: MlpEngineName, key: 'seconds' | 'cpuSeconds'): number => {
  const of = rounds.filter((r) => r.engine === engine);
  return of.reduce((s, r) => s + r[key], 0) / of.length;
};
writeResult('backbones-mlp-wide', {
  task: 'UCI Adult, 26,049 training rows x 106 encoded columns; MLP hidden 512 x 512, batches of 128, AdamW lr 1e-3, one epoch per round',
  rounds,
  ownSecondsPerEpoch: mean('own', 'seconds'),
  onnxruntimeSecondsPerEpoch: mean('onnxruntime', 'seconds'),
  ownOverOnnxruntime: mean('own', 'seconds') / mean('onnxruntime', 'seconds'),
  ownOverOnnxruntimeCpu: mean('own', 'cpuSeconds') / mean('onnxruntime', 'cpuSeconds'),
  note: 'the machine is shared: the ratio of interleaved rounds is the figure to read, not the seconds',
});
process.stdout.write(`wrote bench/results/backbones-mlp-wide.json (own / onnxruntime = ${(mean('own', 'seconds') / mean('onnxruntime', 'seconds')).toFixed(1)}x)\n`);
