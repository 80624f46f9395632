/**
 * fairhead's side of bench/cnn.ts, in a process of its own as PyTorch's side (bench/_cnn_torch.py) is: each training
 * starts in a fresh process, with nothing left from the runs before it (sessions, their thread pools, heap).
 *
 *     node --import tsx bench/_cnn_ours.ts DATA.json --seed S --epochs E --threads T
 *
 * DATA.json: as bench/_cnn_torch.py reads it (written by bench/cnn.ts). Prints one JSON line: {"epochSeconds",
 * "epochCpuSeconds" (CPU time of the process, all its threads; the first epoch also holds the sessions' creation),
 * "stepSeconds", "testAccuracy", "trainLoss": last epoch's mean batch loss}, and a progress line per epoch on stderr.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { trainCnn, type CnnImageSet } from '../src/backbone/cnn.ts';
import { matrix } from '../src/data/matrix.ts';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { seed: { type: 'string' }, epochs: { type: 'string' }, threads: { type: 'string' } } });
const data = JSON.parse(readFileSync(positionals[0] as string, 'utf8')) as {
  pixels: string; size: number; y: number[]; train: number[]; test: number[]; channels: number[]; batchSize: number;
  learningRate: number; momentum: number; weightDecay: number; lrStepEpochs: number; lrGamma: number; cropPadding: number;
};
const seed = Number(values.seed);
const epochs = Number(values.epochs);
const threads = Number(values.threads);
const size = data.size;
const image = size * size * 3;
const all = new Uint8Array(readFileSync(data.pixels));
const pick = (idx: number[]): CnnImageSet => {
  const px = new Uint8Array(idx.length * image);
  idx.forEach((i, k) => px.set(all.subarray(i * image, (i + 1) * image), k * image));
  return { images: { pixels: px, n: idx.length, size }, y: Int32Array.from(idx, (i) => data.y[i] as number), group: new Int32Array(idx.length), classes: ['0', '1'] };
};
const train = pick(data.train);
const test = pick(data.test);

let trainLoss = NaN;
const epochCpuSeconds: number[] = [];
let cpu = process.cpuUsage();
const r = await trainCnn(train, null, {
  epochs, seed, threads, channels: data.channels, batchSize: data.batchSize, learningRate: data.learningRate, momentum: data.momentum,
  weightDecay: data.weightDecay, lrStepEpochs: data.lrStepEpochs, lrGamma: data.lrGamma, cropPadding: data.cropPadding,
}, (p) => {
  const used = process.cpuUsage(cpu);
  cpu = process.cpuUsage();
  epochCpuSeconds.push((used.user + used.system) / 1e6);
  trainLoss = p.trainLoss;
  process.stderr.write(`  ours seed ${seed} ${threads} thread(s) epoch ${p.epoch}: ${p.epochSeconds.toFixed(1)} s, train loss ${p.trainLoss.toFixed(4)} acc ${p.trainAccuracy.toFixed(4)}\n`);
});
const pred = r.head.predict(await r.backbone.embed(matrix(Float32Array.from(test.images.pixels), test.images.n, image)));
let ok = 0;
for (let i = 0; i < pred.length; i++) if (pred[i] === test.y[i]) ok++;
process.stdout.write(`${JSON.stringify({ epochSeconds: r.epochSeconds, epochCpuSeconds, stepSeconds: r.stepSeconds, testAccuracy: ok / pred.length, trainLoss })}\n`);
process.exit(0);
