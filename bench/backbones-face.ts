/**
 * face-api backbone on all 9,780 UTKFace images ($FAIRHEAD_UTKFACE/images), onnxruntime (the engine) against tfjs
 * (the engine of fairhead 0.1: tfjs-wasm, one worker thread per core; test/support/face-*-tfjs.ts), side by side
 * in one run:
 *
 * 1. The parts, on a sample of `FAIRHEAD_BENCH_SAMPLE` images (default 512): JPEG decode + resize with sharp on one
 *    thread (ms per image); the network's multiply-adds per image (from the graph); the network's time per image
 *    on each engine from decoded pixels (tfjs 1 thread, onnxruntime 1 and 2 threads; batches of 32, runs
 *    alternating between engines, medians). From these, the ceiling on this machine's cores: each image costs
 *    decode + net core-seconds, so no schedule does better than cores / (decode + net) images per second.
 * 2. End to end (decode + net, no cache), the files in 10 chunks, each chunk by both engines one after the other
 *    (order alternating): speedupVsTfjs = tfjs seconds / onnxruntime seconds over all chunks, with the spread of the
 *    chunks' ratios; and the largest difference between the two engines' embeddings over every image.
 * 3. The cold embedding of every image through the embedding cache (utkfaceEmbedSeconds, as in fairhead run), then
 *    the time to serve them again from the cache (hash every image's bytes + read the entry).
 * 4. On the 9,778 labelled images: the shipped gender head's accuracy on each engine's embeddings, and a logistic
 *    head retrained on the frozen embeddings of an 80% split of the balanced 2,000 (accuracy on the other 20%).
 *
 * Run: `npm run bench -- backbones-face` (takes minutes). Writes bench/results/backbones-face.json.
 * FAIRHEAD_BENCH_LIMIT=N: only the first N images (a quick check; no result file is written).
 */
import { readdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { loadFaceApiBackbone } from '../src/backbone/face-api.ts';
import { buildFaceNetGraph, FACE_EMBEDDING_DIM, faceInput, loadFaceNetWeights } from '../src/backbone/_internal/face-net.ts';
import { ort } from '../src/backbone/_internal/onnx-session.ts';
import { columnValues } from '../src/data/csv-table.ts';
import { decodeImage, readImageLabels } from '../src/data/images.ts';
import { matrix, takeRows, type Matrix } from '../src/data/matrix.ts';
import { createProgress } from '../src/progress.ts';
import { faceBottleneck, loadTfjsFaceNetWeights, useWasmBackend } from '../test/support/face-net-tfjs.ts';
import { embedImagesTfjs, startTfjsFacePool } from '../test/support/face-pool-tfjs.ts';
import { writeResult } from './machine.ts';
import { requireFolder } from './paths.ts';

const utk = requireFolder('FAIRHEAD_UTKFACE', 'backbones-face');
const imageDir = join(utk, 'images');
const cacheDir = fileURLToPath(new URL('./work/face-cache/', import.meta.url));
const threads = Number(process.env.FAIRHEAD_BENCH_THREADS ?? 2);
const limit = process.env.FAIRHEAD_BENCH_LIMIT ? Number(process.env.FAIRHEAD_BENCH_LIMIT) : undefined;
const sampleSize = Number(process.env.FAIRHEAD_BENCH_SAMPLE ?? 512);
const names = readdirSync(imageDir).filter((n) => n.endsWith('.jpg')).sort().slice(0, limit);
const files = names.map((n) => join(imageDir, n));
const cores = availableParallelism();
const loads: Record<string, number> = { start: round(loadavg()[0] as number) };
const say = (line: string): boolean => process.stderr.write(`${line}\n`);

const median = (v: readonly number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const spread = (v: readonly number[]): { median: number; min: number; max: number } => ({ median: round(median(v)), min: round(Math.min(...v)), max: round(Math.max(...v)) });

// 1. The parts.
const sample = files.slice(0, sampleSize);
const net = await loadFaceApiBackbone();
await useWasmBackend();
const tfjsWeights = loadTfjsFaceNetWeights();
const multiplyAdds = buildFaceNetGraph(loadFaceNetWeights()).multiplyAddsPerImage;

/** CPU milliseconds of this process (all its threads) spent in `work`, and the wall milliseconds. */
async function measured(work: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  await work();
  const d = process.cpuUsage(c);
  return { cpu: (d.user + d.system) / 1000, wall: performance.now() - t };
}

// decode on one thread (libvips on one thread, one image at a time), in chunks of 32 images: CPU time is the work,
// whatever else runs on the machine
sharp.concurrency(1);
const decodeCpu: number[] = [];
const decodeWall: number[] = [];
const pixels: Uint8Array[] = [];
for (let start = 0; start < sample.length; start += 32) {
  const m = await measured(async () => {
    for (const f of sample.slice(start, start + 32)) pixels.push(await decodeImage(f, 112));
  });
  const count = Math.min(32, sample.length - start);
  decodeCpu.push(m.cpu / count);
  decodeWall.push(m.wall / count);
}
sharp.concurrency(0);
const decodeMsPerImage = median(decodeCpu);
say(`decode: ${decodeMsPerImage.toFixed(2)} CPU ms per image on one thread (wall ${median(decodeWall).toFixed(2)}; median of ${decodeCpu.length} chunks)`);

const batch = 32;
const batches: { rgb: Uint8Array; n: number }[] = [];
for (let start = 0; start + batch <= pixels.length; start += batch) {
  const rgb = new Uint8Array(batch * 112 * 112 * 3);
  for (let k = 0; k < batch; k++) rgb.set(pixels[start + k] as Uint8Array, k * 112 * 112 * 3);
  batches.push({ rgb, n: batch });
}
const session = async (t: number): Promise<ort.InferenceSession> =>
  ort.InferenceSession.create(buildFaceNetGraph(loadFaceNetWeights()).bytes, {
    executionMode: 'sequential', interOpNumThreads: 1, intraOpNumThreads: t, graphOptimizationLevel: 'all', logSeverityLevel: 3,
    extra: { session: { 'intra_op.allow_spinning': '0' } },
  });
const ortSessions = { 1: await session(1), 2: await session(2) };
const runOrt = async (s: ort.InferenceSession, b: { rgb: Uint8Array; n: number }): Promise<void> => {
  await s.run({ x: new ort.Tensor('float32', faceInput(b.rgb, b.n), [b.n, 3, 112, 112]) });
};
const netCpu: Record<'tfjs1' | 'ort1' | 'ort2', number[]> = { tfjs1: [], ort1: [], ort2: [] };
const netWall: Record<'tfjs1' | 'ort1' | 'ort2', number[]> = { tfjs1: [], ort1: [], ort2: [] };
for (const [k, b] of batches.entries()) {
  // alternate the order so that neither engine always follows the other
  const order = (['tfjs1', 'ort1', 'ort2'] as const).slice();
  if (k % 2) order.reverse();
  for (const engine of order) {
    const m = await measured(() => (engine === 'tfjs1' ? faceBottleneck(tfjsWeights.tensors, b.rgb, b.n) : runOrt(ortSessions[engine === 'ort1' ? 1 : 2], b)));
    netCpu[engine].push(m.cpu / b.n);
    netWall[engine].push(m.wall / b.n);
  }
}
await Promise.all(Object.values(ortSessions).map((s) => s.release()));
// one thread: CPU time (the work); two threads: wall time (onnxruntime's threads sleep when idle: no spinning)
const net1 = { tfjs: median(netCpu.tfjs1), onnxruntime: median(netCpu.ort1) };
const net2 = median(netWall.ort2);
loads.afterParts = round(loadavg()[0] as number);
say(`net per image: tfjs 1 thread ${net1.tfjs.toFixed(2)} CPU ms, onnxruntime 1 thread ${net1.onnxruntime.toFixed(2)} CPU ms, 2 threads ${net2.toFixed(2)} wall ms`);
const coreMs = decodeMsPerImage + net1.onnxruntime;
const ceiling = {
  imagesPerSecond: round((cores * 1000) / coreMs),
  bound: net1.onnxruntime > decodeMsPerImage ? 'compute (the network)' : 'decode',
  decodeOnlyImagesPerSecond: round((cores * 1000) / decodeMsPerImage),
  networkOnlyImagesPerSecond: round((cores * 1000) / net1.onnxruntime),
  how: `cores / (decode + network CPU ms per image) = ${cores} / (${decodeMsPerImage.toFixed(2)} + ${net1.onnxruntime.toFixed(2)}) ms: every image costs both on some core, on onnxruntime's 1-thread kernels (its most efficient per core)`,
};

// 2. End to end, interleaved by chunk.
const pool = await startTfjsFacePool(threads);
const chunks = 10;
const chunkSize = Math.ceil(files.length / chunks);
const ortZ = new Float32Array(files.length * FACE_EMBEDDING_DIM);
const tfjsZ = new Float32Array(files.length * FACE_EMBEDDING_DIM);
const chunkSeconds: { tfjs: number; onnxruntime: number }[] = [];
/** CPU seconds of the process in each engine's end-to-end runs (the tfjs workers are threads of it: counted). */
const cpuSeconds = { tfjs: 0, onnxruntime: 0 };
const bar = createProgress({ label: 'both engines, chunk by chunk', total: files.length, unit: 'img' });
try {
  for (let c = 0; c * chunkSize < files.length; c++) {
    const part = files.slice(c * chunkSize, (c + 1) * chunkSize);
    const seconds = { tfjs: 0, onnxruntime: 0 };
    const engines = c % 2 ? (['onnxruntime', 'tfjs'] as const) : (['tfjs', 'onnxruntime'] as const);
    for (const engine of engines) {
      const t = performance.now();
      const cpu = process.cpuUsage();
      if (engine === 'tfjs') {
        const { z, rows } = await embedImagesTfjs(pool, part);
        if (rows.length !== part.length) throw new Error('tfjs skipped images');
        tfjsZ.set(z, c * chunkSize * FACE_EMBEDDING_DIM);
      } else {
        const { x, rows } = await net.embedImages(part, { threads });
        if (rows.length !== part.length) throw new Error('onnxruntime skipped images');
        ortZ.set(x.data, c * chunkSize * FACE_EMBEDDING_DIM);
      }
      seconds[engine] = (performance.now() - t) / 1000;
      const d = process.cpuUsage(cpu);
      cpuSeconds[engine] += (d.user + d.system) / 1e6;
    }
    chunkSeconds.push(seconds);
    bar.update(Math.min(files.length, (c + 1) * chunkSize));
  }
} finally {
  bar.stop();
  await pool.close();
}
loads.afterInterleaved = round(loadavg()[0] as number);
const tfjsSeconds = chunkSeconds.reduce((s, c) => s + c.tfjs, 0);
const ortSeconds = chunkSeconds.reduce((s, c) => s + c.onnxruntime, 0);
let maxDifference = 0;
let maxValue = 0;
ortZ.forEach((v, i) => {
  maxDifference = Math.max(maxDifference, Math.abs(v - (tfjsZ[i] as number)));
  maxValue = Math.max(maxValue, Math.abs(v));
});
say(`end to end: tfjs ${(files.length / tfjsSeconds).toFixed(1)} img/s, onnxruntime ${(files.length / ortSeconds).toFixed(1)} img/s, max |difference| ${maxDifference}`);

// 3. Cold, through the cache, then served from the cache.
rmSync(cacheDir, { recursive: true, force: true });
const warnings: string[] = [];
const coldBar = createProgress({ label: 'embedding UTKFace (cold, cache written)', total: files.length, unit: 'img' });
let t0 = performance.now();
let cold;
try {
  cold = await net.embedImages(files, { threads, cacheDir, onWarning: (m) => warnings.push(m), onProgress: (d) => coldBar.update(d) });
} finally {
  coldBar.stop();
}
const embedSeconds = (performance.now() - t0) / 1000;
loads.afterCold = round(loadavg()[0] as number);
t0 = performance.now();
const warm = await net.embedImages(files, { threads, cacheDir });
const cachedSeconds = (performance.now() - t0) / 1000;
if (!warm.cacheHit) throw new Error('second run was not served from the cache');
if (Buffer.compare(Buffer.from(warm.x.data.buffer), Buffer.from(cold.x.data.buffer)) !== 0) throw new Error('cached bytes differ');
if (Buffer.compare(Buffer.from(cold.x.data.buffer), Buffer.from(ortZ.buffer)) !== 0) throw new Error('the cold run and the chunked run differ');

// 4. Labels: map each labelled file to its embedding row.
const labels = readImageLabels({ images: imageDir, labels: join(utk, 'labels.csv'), imageColumn: 'file' });
const rowOfName = new Map<string, number>();
cold.rows.forEach((fileIndex, r) => rowOfName.set(names[fileIndex] as string, r));
const fileCol = columnValues(labels.table, 'file');
const gender = columnValues(labels.table, 'gender').map(Number);
const race = columnValues(labels.table, 'race').map(Number);
const inBalanced = columnValues(labels.table, 'in_balanced_2000');
const labelled = fileCol.map((n) => rowOfName.get(n)).map((r, i) => ({ r, i })).filter((o): o is { r: number; i: number } => o.r !== undefined);
const xAll = takeRows(cold.x, labelled.map((o) => o.r));
const xTfjs = takeRows(matrix(tfjsZ, files.length, FACE_EMBEDDING_DIM), labelled.map((o) => o.r));
const yAll = Int32Array.from(labelled, (o) => gender[o.i] as number);
const raceAll = Int32Array.from(labelled, (o) => race[o.i] as number);
const shippedPred = net.shippedHead.predict(xAll);
const shippedPredTfjs = net.shippedHead.predict(xTfjs);
let predictionsDiffering = 0;
shippedPred.forEach((p, k) => (predictionsDiffering += p === shippedPredTfjs[k] ? 0 : 1));
const accuracy = (pred: ArrayLike<number>, y: ArrayLike<number>, keep?: (k: number) => boolean): number => {
  let ok = 0;
  let n = 0;
  for (let k = 0; k < y.length; k++) {
    if (keep && !keep(k)) continue;
    n++;
    if (pred[k] === y[k]) ok++;
  }
  return n === 0 ? NaN : ok / n;
};
const raceNames = ['White', 'Black', 'Asian', 'Indian', 'Others'];
const shippedByRace = Object.fromEntries(raceNames.map((name, r) => [name, round(accuracy(shippedPred, yAll, (k) => raceAll[k] === r))]));

// Logistic head on the balanced 2,000: seeded 80/20 split, standardised features, L2 1e-3, full-batch gradient descent.
const balancedRows = labelled.map((o, k) => ({ o, k })).filter(({ o }) => inBalanced[o.i] === '1').map(({ k }) => k);
const order = shuffle(balancedRows, 20240601);
const nTest = Math.round(order.length * 0.2);
const testIdx = order.slice(0, nTest);
const trainIdx = order.slice(nTest);
const t1 = performance.now();
const head = fitLogistic(takeRows(xAll, trainIdx), Int32Array.from(trainIdx, (k) => yAll[k] as number), 1e-3, 300);
const fitSeconds = (performance.now() - t1) / 1000;
const xTest = takeRows(xAll, testIdx);
const yTest = Int32Array.from(testIdx, (k) => yAll[k] as number);
const retrainedAcc = accuracy(head.predict(xTest), yTest);
const shippedOnTest = accuracy(net.shippedHead.predict(xTest), yTest);
await net.close();

const ratios = chunkSeconds.map((c) => c.tfjs / c.onnxruntime);
const imagesPerSecond = files.length / ortSeconds;
const result = {
  utkfaceEmbedSeconds: round(embedSeconds),
  utkfaceCachedSeconds: round(cachedSeconds),
  speedupVsTfjs: round(tfjsSeconds / ortSeconds),
  ceiling: {
    ...ceiling,
    reachedFraction: round(imagesPerSecond / ceiling.imagesPerSecond),
    // the pipeline's own cost: the core-ms each image took end to end against decode + network alone; with both
    // cores to itself the pipeline would reach cores / (its core-ms per image)
    workFraction: round(coreMs / ((1000 * cpuSeconds.onnxruntime) / files.length)),
    idleEstimateImagesPerSecond: round((cores * files.length) / cpuSeconds.onnxruntime),
  },
  details: {
    images: files.length,
    embedded: cold.x.rows,
    skipped: cold.skipped.length,
    imagesPerSecond: round(files.length / embedSeconds),
    threads,
    engine: net.engine,
    targetEmbedSeconds: 300,
    targetCachedSeconds: 2,
    endToEnd: {
      what: 'decode + net, no cache, every image, in 10 chunks each run by both engines one after the other (order alternating); tfjs = fairhead 0.1 (tfjs-wasm 4.22, one worker thread per core, batches of 16)',
      onnxruntimeImagesPerSecond: round(imagesPerSecond),
      tfjsImagesPerSecond: round(files.length / tfjsSeconds),
      onnxruntimeSeconds: round(ortSeconds),
      tfjsSeconds: round(tfjsSeconds),
      onnxruntimeCpuMsPerImage: round((1000 * cpuSeconds.onnxruntime) / files.length),
      tfjsCpuMsPerImage: round((1000 * cpuSeconds.tfjs) / files.length),
      onnxruntimeCoresBusy: round(cpuSeconds.onnxruntime / ortSeconds),
      chunkSpeedups: spread(ratios),
      embeddingMaxAbsDifference: maxDifference,
      embeddingMaxAbsValue: round(maxValue),
    },
    parts: {
      what: `median over a sample of ${sample.length} images (the network: batches of ${batch}, alternating engines); one thread: CPU ms (the work, robust to other jobs), two threads: wall ms`,
      decodeMsPerImageOneThread: round(decodeMsPerImage),
      decodeWallMsPerImageOneThread: round(median(decodeWall)),
      networkMultiplyAddsPerImage: multiplyAdds,
      networkGflopPerImage: round((2 * multiplyAdds) / 1e9),
      networkMsPerImage: { tfjsOneThread: round(net1.tfjs), onnxruntimeOneThread: round(net1.onnxruntime), onnxruntimeTwoThreads: round(net2) },
      networkGflopsPerSecond: {
        tfjsOneThread: round((2 * multiplyAdds) / (net1.tfjs * 1e6)),
        onnxruntimeOneThread: round((2 * multiplyAdds) / (net1.onnxruntime * 1e6)),
        onnxruntimeTwoThreads: round((2 * multiplyAdds) / (net2 * 1e6)),
      },
    },
    shippedGenderHead: {
      accuracyAllLabelled: round(accuracy(shippedPred, yAll)),
      accuracyAllLabelledOnTfjsEmbeddings: round(accuracy(shippedPredTfjs, yAll)),
      predictionsDifferingFromTfjs: predictionsDiffering,
      labelled: yAll.length,
      accuracyByRace: shippedByRace,
      accuracyBalancedHeldOut: round(shippedOnTest),
    },
    retrainedLogisticHead: {
      train: trainIdx.length,
      heldOut: testIdx.length,
      accuracyBalancedHeldOut: round(retrainedAcc),
      fitSeconds: round(fitSeconds),
      recipe: 'standardised 512-d embeddings, L2 1e-3, 300 full-batch gradient steps (lr 0.5), seeded 80/20 split of in_balanced_2000',
    },
    loadAverage1m: loads,
    note: 'a 2-core machine shared with other jobs (see loadAverage1m): absolute times are upper bounds; the engines ran side by side, chunk by chunk, so speedupVsTfjs and its chunk spread are the comparable numbers',
    command: 'FAIRHEAD_UTKFACE=DIR npm run bench -- backbones-face',
  },
};
if (limit === undefined) writeResult('backbones-face', result);
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

function shuffle(items: number[], seed: number): number[] {
  const out = items.slice();
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0; // mulberry32
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

/** Binary logistic regression by gradient descent on standardised features; returns a predictor on raw features. */
function fitLogistic(x: Matrix, y: Int32Array, l2: number, steps: number): { predict(m: Matrix): Int32Array } {
  const { rows: n, cols: d } = x;
  const mean = new Float64Array(d);
  const sd = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) mean[c] = (mean[c] as number) + (x.data[i * d + c] as number) / n;
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) sd[c] = (sd[c] as number) + ((x.data[i * d + c] as number) - (mean[c] as number)) ** 2 / n;
  for (let c = 0; c < d; c++) sd[c] = Math.sqrt(sd[c] as number) || 1;
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) z[i * d + c] = ((x.data[i * d + c] as number) - (mean[c] as number)) / (sd[c] as number);
  const w = new Float64Array(d);
  let b = 0;
  const lr = 0.5;
  const g = new Float64Array(d);
  for (let step = 0; step < steps; step++) {
    g.fill(0);
    let gb = 0;
    for (let i = 0; i < n; i++) {
      let s = b;
      for (let c = 0; c < d; c++) s += (w[c] as number) * (z[i * d + c] as number);
      const r = 1 / (1 + Math.exp(-s)) - (y[i] as number);
      gb += r / n;
      for (let c = 0; c < d; c++) g[c] = (g[c] as number) + (r * (z[i * d + c] as number)) / n;
    }
    for (let c = 0; c < d; c++) w[c] = (w[c] as number) - lr * ((g[c] as number) + l2 * (w[c] as number));
    b -= lr * gb;
  }
  return {
    predict(m: Matrix): Int32Array {
      const out = new Int32Array(m.rows);
      for (let i = 0; i < m.rows; i++) {
        let s = b;
        for (let c = 0; c < d; c++) s += ((w[c] as number) * ((m.data[i * d + c] as number) - (mean[c] as number))) / (sd[c] as number);
        out[i] = s >= 0 ? 1 : 0;
      }
      return out;
    },
  };
}
