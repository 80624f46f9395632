import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InputError } from '../../src/errors.ts';
import type { EmbeddingSet } from '../../src/data/dataset.ts';
import type { Matrix } from '../../src/data/matrix.ts';
import { createRng, type Rng } from '../../src/rng.ts';

/**
 * Options of {@link makeSynth}: the recipe of the paper's PyTorch peer (make_synth.py, see bench/head.ts), with its defaults.
 * (y, a) cells are (0,0), (0,1), (1,0), (1,1).
 */
export interface SynthOptions {
  readonly nTrain?: number;
  readonly nVal?: number;
  readonly nTest?: number;
  /** Embedding width (default 512). */
  readonly d?: number;
  readonly seed?: number;
  /** Probabilities of the cells (y,a) = (0,0), (0,1), (1,0), (1,1); default CelebA train [0.4401, 0.4109, 0.1406, 0.0085]. */
  readonly cellProbs?: readonly [number, number, number, number];
  /** s_y: distance between the class means along u_y (default 3.5). */
  readonly labelSignal?: number;
  /** s_a: distance between the group means along u_a (default 4). */
  readonly attrSignal?: number;
  /** Label-signal multiplier for group a = 1 (default 0.7). */
  readonly minoritySignal?: number;
  /** Degrees between the a = 1 and a = 0 label directions (default 45). */
  readonly minorityAngle?: number;
  /** Rank k of the shared anisotropic factor (default 16). */
  readonly factors?: number;
  /** Standard deviation of each shared factor (default 1.5). */
  readonly factorScale?: number;
  /** sigma: isotropic noise per dimension (default 1). */
  readonly noise?: number;
  /** Round every feature to this many decimals, as the CSV the peer reads does (default: no rounding). */
  readonly decimals?: number;
  /** Allocate each split's matrix with this function (e.g. threaded-ops' sharedMatrix); default a plain Float32Array. */
  readonly allocate?: (rows: number, cols: number) => Matrix;
}

/** The three splits of a synthetic set. */
export interface SynthData {
  readonly train: EmbeddingSet;
  readonly val: EmbeddingSet;
  readonly test: EmbeddingSet;
}

/** Gaussian embeddings from independent streams: directions, then one per split (val/test do not depend on nTrain). */
const STREAMS = { directions: 0, train: 1, val: 2, test: 3 } as const;

/**
 * A synthetic CelebA-like biased embedding set ("Blond_Hair" vs "Male"): ~15% positives, almost all in group 0,
 * so an ERM head uses the group direction as a shortcut and has a large equalized-odds gap. Per row:
 *
 *     x = sigma e + F (s_f z) + s_a (a - 1/2) u_a + s_y m_a (y - 1/2) u_y(a),     e ~ N(0, I_d), z ~ N(0, I_k)
 *
 * with u_y, u_perp, u_a and the k factor directions orthonormal (Gram-Schmidt of Gaussian vectors),
 * F = 0.8 Q_factors + 0.2 G / sqrt(d), u_y(1) = cos(theta) u_y + sin(theta) u_perp, m_0 = 1, m_1 = minoritySignal.
 * Same recipe and defaults as make_synth.py; the random streams are fairhead's own (src/rng.ts), so the
 * numbers differ from numpy's but the distribution is the same. Labels: classes ['0', '1'], groups ['0', '1'].
 * Deterministic in `seed`.
 *
 * @example
 * const { train } = makeSynth({ nTrain: 1000, nVal: 10, nTest: 10, d: 8, seed: 1 });
 * train.x.rows; // 1000; about 15% of train.y are 1
 */
export function makeSynth(options: SynthOptions = {}): SynthData {
  const nTrain = options.nTrain ?? 160_000;
  const nVal = options.nVal ?? 20_000;
  const nTest = options.nTest ?? 20_000;
  const d = options.d ?? 512;
  const k = options.factors ?? 16;
  const seed = options.seed ?? 0;
  for (const [name, v, min] of [['nTrain', nTrain, 0], ['nVal', nVal, 0], ['nTest', nTest, 0], ['d', d, 1], ['factors', k, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new InputError(`synth option ${name} must be an integer >= ${min}, received ${v}`);
  }
  if (d < 3 + k) throw new InputError(`synth option d must be at least factors + 3 = ${3 + k}, received ${d}`);
  const probs = options.cellProbs ?? [0.4401, 0.4109, 0.1406, 0.0085];
  const total = probs.reduce((s, p) => s + p, 0);
  if (probs.length !== 4 || probs.some((p) => !(p >= 0)) || !(total > 0)) {
    throw new InputError(`synth option cellProbs must be 4 non-negative numbers with a positive sum, received [${probs.join(', ')}]`);
  }
  const labelSignal = options.labelSignal ?? 3.5;
  const attrSignal = options.attrSignal ?? 4;
  const minoritySignal = options.minoritySignal ?? 0.7;
  const theta = ((options.minorityAngle ?? 45) * Math.PI) / 180;
  const factorScale = options.factorScale ?? 1.5;
  const sigma = options.noise ?? 1;
  const scale = options.decimals === undefined ? 0 : 10 ** options.decimals;
  const allocate = options.allocate ?? ((rows: number, cols: number): Matrix => ({ data: new Float32Array(rows * cols), rows, cols }));
  const streamSeed = (stream: number): number => (Math.imul(seed | 0, 0x9e3779b1) + stream * 0x632be5ab) | 0;

  // Directions: Gram-Schmidt on 3 + k Gaussian vectors.
  const rng = createRng(streamSeed(STREAMS.directions));
  const q: Float64Array[] = [];
  for (let v = 0; v < 3 + k; v++) {
    const u = new Float64Array(d);
    for (let c = 0; c < d; c++) u[c] = rng.normal();
    for (const p of q) {
      let dot = 0;
      for (let c = 0; c < d; c++) dot += (u[c] as number) * (p[c] as number);
      for (let c = 0; c < d; c++) u[c] = (u[c] as number) - dot * (p[c] as number);
    }
    let norm = 0;
    for (let c = 0; c < d; c++) norm += (u[c] as number) ** 2;
    norm = Math.sqrt(norm);
    for (let c = 0; c < d; c++) u[c] = (u[c] as number) / norm;
    q.push(u);
  }
  const [uY, uPerp, uA] = q as [Float64Array, Float64Array, Float64Array];
  // F is d x k, stored as k columns (factor-major) for the per-row sum.
  const f = new Float64Array(k * d);
  for (let c = 0; c < d; c++) {
    for (let j = 0; j < k; j++) f[j * d + c] = 0.8 * ((q[3 + j] as Float64Array)[c] as number) + (0.2 * rng.normal()) / Math.sqrt(d);
  }
  const uY1 = uY.map((v, c) => Math.cos(theta) * v + Math.sin(theta) * (uPerp[c] as number));
  const labelDir = [uY, uY1];
  const labelAmp = [labelSignal, labelSignal * minoritySignal];
  const cumulative = [0, 1, 2, 3].map((c) => probs.slice(0, c + 1).reduce((s, p) => s + p, 0) / total);

  const sample = (n: number, r: Rng): EmbeddingSet => {
    const x = allocate(n, d);
    const y = new Int32Array(n);
    const group = new Int32Array(n);
    const row = new Float64Array(d);
    const z = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      const u = r.float();
      let cell = 0;
      while (cell < 3 && u >= (cumulative[cell] as number)) cell++;
      const yi = cell >> 1;
      const ai = cell & 1;
      y[i] = yi;
      group[i] = ai;
      for (let c = 0; c < d; c++) row[c] = sigma * r.normal();
      for (let j = 0; j < k; j++) z[j] = r.normal() * factorScale;
      for (let j = 0; j < k; j++) {
        const zj = z[j] as number;
        const o = j * d;
        for (let c = 0; c < d; c++) row[c] = (row[c] as number) + (f[o + c] as number) * zj;
      }
      const sa = (ai - 0.5) * attrSignal;
      const sy = (yi - 0.5) * (labelAmp[ai] as number);
      const dir = labelDir[ai] as Float64Array;
      const o = i * d;
      for (let c = 0; c < d; c++) {
        const v = (row[c] as number) + sa * (uA[c] as number) + sy * (dir[c] as number);
        x.data[o + c] = scale ? Math.round(Math.fround(v) * scale) / scale : v;
      }
    }
    return { x, y, classes: ['0', '1'], group, groupNames: ['0', '1'] };
  };

  return {
    train: sample(nTrain, createRng(streamSeed(STREAMS.train))),
    val: sample(nVal, createRng(streamSeed(STREAMS.val))),
    test: sample(nTest, createRng(streamSeed(STREAMS.test))),
  };
}

/**
 * Write `set` as the peer's CSV format: header f0..f{d-1},y,a, then one row per embedding with `decimals`
 * decimals (default 4), y and a as the class and group indices. Written to a temporary file, then renamed.
 *
 * @example
 * await writeSynthCsv(makeSynth({ nTrain: 2, nVal: 0, nTest: 0, d: 19 }).train, 'out/train.csv');
 * // out/train.csv: "f0,...,f18,y,a\n-0.1234,...,0,1\n..."
 */
export async function writeSynthCsv(set: EmbeddingSet, file: string, decimals = 4): Promise<void> {
  const { rows: n, cols: d, data } = set.x;
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const out = createWriteStream(tmp);
  const finished = new Promise<void>((resolve, reject) => {
    out.on('finish', resolve);
    out.on('error', reject);
  });
  try {
    const header = Array.from({ length: d }, (_, c) => `f${c}`);
    out.write(`${[...header, 'y', 'a'].join(',')}\n`);
    const parts = new Array<string>(d + 2);
    let chunk = '';
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < d; c++) parts[c] = (data[i * d + c] as number).toFixed(decimals);
      parts[d] = String(set.y[i]);
      parts[d + 1] = String(set.group[i]);
      chunk += `${parts.join(',')}\n`;
      if (chunk.length > 1 << 20 || i === n - 1) {
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        chunk = '';
      }
    }
    out.end();
    await finished;
    await rename(tmp, file);
  } catch (error) {
    out.destroy();
    await rm(tmp, { force: true });
    throw error;
  }
}
