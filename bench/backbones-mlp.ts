/**
 * `npm run bench -- backbones-mlp`: ERM pre-training of the `mlp` backbone on UCI Adult (target >50K, sensitive sex;
 * 80/20 stratified train/validation split of adult.data with seed 0, test = adult.test), with the default options.
 *
 * Writes bench/results/backbones-mlp.json:
 * - adultMlpSeconds: wall time of trainMlp (to early stopping) with seed 0; adultMlpTestAccuracy: its test accuracy.
 * - seeds: the same for seeds 0, 1, 2 (spread of time and accuracy).
 * - cpuSeconds beside wall seconds: the machine is shared, CPU time is the steadier figure.
 * - engine: own float64 kernels vs tfjs-wasm (@tensorflow/tfjs + tfjs-backend-wasm) on the same network, batch and
 *   optimiser, as seconds per epoch (tfjs: a fixed number of epochs, fit() with shuffling).
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadTabular } from '../src/data/load-tabular.ts';
import type { EmbeddingSet } from '../src/data/dataset.ts';
import { defaultMlpOptions, trainMlp } from '../src/backbone/mlp.ts';
import { writeResult } from './machine.ts';
import { adultFile } from './paths.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const adult = adultFile;

/** User + system CPU seconds of this process since `start` (less sensitive than wall time to a busy machine). */
function cpuOf(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

function accuracy(predicted: Int32Array, y: Int32Array): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (predicted[i] === y[i]) ok++;
  return ok / y.length;
}

const loadStarted = performance.now();
const data = loadTabular({
  train: adult('adult.data'), test: adult('adult.test'), target: 'Y', positive: '>50K', sensitive: ['sex'],
  validationFraction: 0.2, seed: 0,
});
const loadSeconds = (performance.now() - loadStarted) / 1000;
const { train, validation, test } = data;
process.stdout.write(`adult: ${train.x.rows} train / ${validation.x.rows} validation / ${test.x.rows} test rows, ${train.x.cols} features (${loadSeconds.toFixed(2)} s to load)\n`);

// 1. Own kernels, default options, three seeds.
const seeds = [];
for (const seed of [0, 1, 2]) {
  const cpuStarted = process.cpuUsage();
  const r = await trainMlp(train, validation, { seed });
  const cpuSeconds = cpuOf(cpuStarted);
  const embedStarted = performance.now();
  const z = await r.backbone.embed(test.x);
  const embedSeconds = (performance.now() - embedStarted) / 1000;
  const testAccuracy = accuracy(r.head.predict(z), test.y);
  seeds.push({
    seed, seconds: r.seconds, cpuSeconds, epochs: r.epochs, bestEpoch: r.bestEpoch, secondsPerEpoch: r.seconds / r.epochs,
    validationAccuracy: r.validationAccuracy, validationLoss: r.validationLoss, testAccuracy, testEmbedSeconds: embedSeconds,
    parameterCount: r.backbone.parameterCount + r.head.parameterCount,
  });
  process.stdout.write(`own kernels seed ${seed}: ${r.seconds.toFixed(2)} s (${cpuSeconds.toFixed(2)} s CPU), ${r.epochs} epochs (best ${r.bestEpoch}), validation ${r.validationAccuracy.toFixed(4)}, test ${testAccuracy.toFixed(4)}\n`);
}
const main = seeds[0]!;

// 2. tfjs-wasm, same network (ReLU hidden layers, 1 sigmoid output), Adam with the same lr and batch, no weight decay.
const require = createRequire(import.meta.url);
setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}/`);
if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
await tf.ready();
const tfjsEpochs = 3;
const tensors = (set: EmbeddingSet): { x: tf.Tensor2D; y: tf.Tensor2D } => ({
  x: tf.tensor2d(set.x.data, [set.x.rows, set.x.cols]),
  y: tf.tensor2d(Float32Array.from(set.y), [set.y.length, 1]),
});
const model = tf.sequential();
defaultMlpOptions.hidden.forEach((units, l) => {
  model.add(tf.layers.dense({ units, activation: 'relu', ...(l === 0 ? { inputShape: [train.x.cols] } : {}) }));
});
model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
model.compile({ optimizer: tf.train.adam(defaultMlpOptions.learningRate), loss: 'binaryCrossentropy' });
const tfTrain = tensors(train);
const tfTest = tensors(test);
const tfjsStarted = performance.now();
const tfjsCpuStarted = process.cpuUsage();
await model.fit(tfTrain.x, tfTrain.y, { epochs: tfjsEpochs, batchSize: defaultMlpOptions.batchSize, shuffle: true, verbose: 0 });
const tfjsSeconds = (performance.now() - tfjsStarted) / 1000;
const tfjsCpuSeconds = cpuOf(tfjsCpuStarted);
const scores = (model.predict(tfTest.x) as tf.Tensor).dataSync();
const tfjsPredicted = Int32Array.from(scores, (p) => (p >= 0.5 ? 1 : 0));
const tfjsTestAccuracy = accuracy(tfjsPredicted, test.y);
process.stdout.write(`tfjs-wasm: ${tfjsEpochs} epochs in ${tfjsSeconds.toFixed(2)} s (${(tfjsSeconds / tfjsEpochs).toFixed(3)} s/epoch), test ${tfjsTestAccuracy.toFixed(4)}\n`);
const ownPerEpoch = main.secondsPerEpoch;
const tfjsPerEpoch = tfjsSeconds / tfjsEpochs;

writeResult('backbones-mlp', {
  adultMlpSeconds: main.seconds,
  adultMlpTestAccuracy: main.testAccuracy,
  details: {
    task: 'UCI Adult, target Y = >50K, sensitive sex; train/validation = 80/20 stratified split of adult.data (seed 0); test = adult.test',
    rows: { train: train.x.rows, validation: validation.x.rows, test: test.x.rows },
    features: train.x.cols,
    loadSeconds,
    options: defaultMlpOptions,
    optimiser: 'AdamW (beta1 0.9, beta2 0.999, decoupled weight decay on weights), early stopping on validation cross-entropy',
    seeds,
    meanTestAccuracy: seeds.reduce((s, r) => s + r.testAccuracy, 0) / seeds.length,
    target: { seconds: 60, testAccuracy: 0.84 },
  },
  engine: {
    chosen: 'own float64 kernels',
    ownSecondsPerEpoch: ownPerEpoch,
    ownCpuSecondsPerEpoch: main.cpuSeconds / main.epochs,
    tfjsWasm: {
      backend: tf.getBackend(), epochs: tfjsEpochs, seconds: tfjsSeconds, secondsPerEpoch: tfjsPerEpoch,
      cpuSecondsPerEpoch: tfjsCpuSeconds / tfjsEpochs, testAccuracy: tfjsTestAccuracy,
    },
    tfjsOverOwn: tfjsPerEpoch / ownPerEpoch,
    loadAverageAtEnd: os.loadavg()[0],
  },
});
process.stdout.write(`wrote bench/results/backbones-mlp.json (own ${ownPerEpoch.toFixed(3)} s/epoch vs tfjs-wasm ${tfjsPerEpoch.toFixed(3)} s/epoch)\n`);
