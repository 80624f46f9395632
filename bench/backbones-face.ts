/**
 * face-api backbone on all 9,780 UTKFace images ($FAIRHEAD_UTKFACE/images): cold embedding time (decode with
 * sharp + TinyXception on tfjs wasm, 2 worker threads, cache written) and the time to serve them again from the
 * embedding cache (hash every image's bytes + read the entry). Then, on the 9,778 labelled images: the shipped
 * gender head's accuracy, and a logistic head retrained on the frozen embeddings of an 80% split of the balanced
 * 2,000 (accuracy on the other 20%).
 *
 * Run: `npm run bench -- backbones-face` (takes minutes). Writes bench/results/backbones-face.json.
 */
import { readdirSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFaceApiBackbone } from '../src/backbone/face-api.ts';
import { columnValues } from '../src/data/csv-table.ts';
import { readImageLabels } from '../src/data/images.ts';
import { takeRows, type Matrix } from '../src/data/matrix.ts';
import { createProgress } from '../src/progress.ts';
import { writeResult } from './machine.ts';
import { requireFolder } from './paths.ts';

const utk = requireFolder('FAIRHEAD_UTKFACE', 'backbones-face');
const imageDir = join(utk, 'images');
const cacheDir = fileURLToPath(new URL('./work/face-cache/', import.meta.url));
const threads = Number(process.env.FAIRHEAD_BENCH_THREADS ?? 2);

/** FAIRHEAD_BENCH_LIMIT=N embeds only the first N images (a quick check; no result file is written). */
const limit = process.env.FAIRHEAD_BENCH_LIMIT ? Number(process.env.FAIRHEAD_BENCH_LIMIT) : undefined;
const names = readdirSync(imageDir).filter((n) => n.endsWith('.jpg')).sort().slice(0, limit);
const files = names.map((n) => join(imageDir, n));
const loadBefore = loadavg();

const net = await loadFaceApiBackbone();
rmSync(cacheDir, { recursive: true, force: true });

const warnings: string[] = [];
const bar = createProgress({ label: 'embedding UTKFace', total: files.length, unit: 'img' });
let t0 = performance.now();
let cold;
try {
  cold = await net.embedImages(files, { threads, cacheDir, onWarning: (m) => warnings.push(m), onProgress: (d) => bar.update(d) });
} finally {
  bar.stop();
}
const embedSeconds = (performance.now() - t0) / 1000;
const loadDuring = loadavg();

t0 = performance.now();
const warm = await net.embedImages(files, { threads, cacheDir });
const cachedSeconds = (performance.now() - t0) / 1000;
if (!warm.cacheHit) throw new Error('second run was not served from the cache');
if (Buffer.compare(Buffer.from(warm.x.data.buffer), Buffer.from(cold.x.data.buffer)) !== 0) throw new Error('cached bytes differ');

// Labels: map each labelled file to its embedding row.
const labels = readImageLabels({ images: imageDir, labels: join(utk, 'labels.csv'), imageColumn: 'file' });
const rowOfName = new Map<string, number>();
cold.rows.forEach((fileIndex, r) => rowOfName.set(names[fileIndex] as string, r));
const fileCol = columnValues(labels.table, 'file');
const gender = columnValues(labels.table, 'gender').map(Number);
const race = columnValues(labels.table, 'race').map(Number);
const inBalanced = columnValues(labels.table, 'in_balanced_2000');
const labelled = fileCol.map((n) => rowOfName.get(n)).map((r, i) => ({ r, i })).filter((o): o is { r: number; i: number } => o.r !== undefined);
const xAll = takeRows(cold.x, labelled.map((o) => o.r));
const yAll = Int32Array.from(labelled, (o) => gender[o.i] as number);
const raceAll = Int32Array.from(labelled, (o) => race[o.i] as number);
const shippedPred = net.shippedHead.predict(xAll);
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

const result = {
  utkfaceEmbedSeconds: round(embedSeconds),
  utkfaceCachedSeconds: round(cachedSeconds),
  details: {
    images: files.length,
    embedded: cold.x.rows,
    skipped: cold.skipped.length,
    imagesPerSecond: round(files.length / embedSeconds),
    threads,
    targetEmbedSeconds: 300,
    targetCachedSeconds: 2,
    shippedGenderHead: {
      accuracyAllLabelled: round(accuracy(shippedPred, yAll)),
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
    loadAverage1mBefore: round(loadBefore[0] as number),
    loadAverage1mAfterEmbedding: round(loadDuring[0] as number),
    note: 'measured while other helpers shared the 2 cores (see load averages); on an idle machine one thread runs the net at about 9.5 ms per image',
    command: 'npm run bench -- backbones-face',
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
