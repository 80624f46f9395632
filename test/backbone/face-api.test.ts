import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { columnValues } from '../../src/data/csv-table.ts';
import { decodeImage, readImageLabels } from '../../src/data/images.ts';
import { matrix } from '../../src/data/matrix.ts';
import { ShapeError } from '../../src/errors.ts';
import { loadFaceApiBackbone, type FaceApiBackbone } from '../../src/backbone/face-api.ts';
import { cachedEmbeddings, hashFiles } from '../../src/backbone/embedding-cache.ts';
import { OnnxBuilder } from '../../src/backbone/cnn/onnx-builder.ts';
import { faceApiModelDir, loadFaceNetWeights } from '../../src/backbone/_internal/face-net.ts';
import { describeWithUtkface, makeImageFolder } from '../support/data.ts';
import { faceBottleneck, loadTfjsFaceNetWeights, useWasmBackend } from '../support/face-net-tfjs.ts';

/** The tfjs reference (face-api's own ops on tfjs-wasm, weights decoded by tfjs) on the same decoded pixels. */
async function tfjsEmbeddings(files: readonly string[]): Promise<Float32Array> {
  await useWasmBackend();
  const w = loadTfjsFaceNetWeights();
  const pixels = await Promise.all(files.map((f) => decodeImage(f, 112)));
  const rgb = new Uint8Array(files.length * 112 * 112 * 3);
  pixels.forEach((p, k) => rgb.set(p, k * 112 * 112 * 3));
  return faceBottleneck(w.tensors, rgb, files.length);
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  a.forEach((v, i) => (d = Math.max(d, Math.abs(v - (b[i] as number)))));
  return d;
}

/** The first 2 images of each gender x race cell of a UTKFace-shaped folder's balanced subset, in CSV order: 10 male, 10 female. */
function balancedTwenty(utk: string): { files: string[]; labels: number[] } {
  const all = readImageLabels({ images: join(utk, 'images'), labels: join(utk, 'labels.csv'), imageColumn: 'file' });
  const gender = columnValues(all.table, 'gender');
  const race = columnValues(all.table, 'race');
  const balanced = columnValues(all.table, 'in_balanced_2000');
  const subset: number[] = [];
  const taken = new Map<string, number>();
  all.files.forEach((_, i) => {
    const cell = `${gender[i]}|${race[i]}`;
    if (balanced[i] === '1' && (taken.get(cell) ?? 0) < 2) {
      taken.set(cell, (taken.get(cell) ?? 0) + 1);
      subset.push(i);
    }
  });
  return { files: subset.map((i) => all.files[i] as string), labels: subset.map((i) => Number(gender[i])) };
}

const tmp = mkdtempSync(join(tmpdir(), 'fairhead-face-'));
/** 20 generated 200 x 200 JPEGs (test/support/data.ts): the network's mechanics, not its accuracy. */
await makeImageFolder(join(tmp, 'generated'), { count: 20, size: 200 });
const { files } = balancedTwenty(join(tmp, 'generated'));
let net: FaceApiBackbone;
beforeAll(async () => {
  net = await loadFaceApiBackbone();
});
afterAll(async () => {
  await net.close();
  rmSync(tmp, { recursive: true, force: true });
});

describeWithUtkface('face-api backbone on UTKFace', (utk) => {
  it('the shipped gender head gets most of 20 balanced UTKFace faces right (10 male, 10 female; chance is 10)', async () => {
    const real = balancedTwenty(utk);
    expect(real.labels.filter((g) => g === 1)).toHaveLength(10);
    const { x } = await net.embedImages(real.files, { threads: 1 });
    const predicted = net.shippedHead.predict(x);
    const correct = real.labels.filter((g, i) => predicted[i] === g).length;
    expect(correct).toBeGreaterThanOrEqual(15);
    const females = Array.from(predicted).filter((p) => p === 1).length;
    expect(females).toBeGreaterThanOrEqual(5); // not one class for everyone
  });

  it("gives tfjs's 512-d embeddings to 1e-4 on 20 real faces, and the same gender for each", async () => {
    const real = balancedTwenty(utk);
    const { x } = await net.embedImages(real.files, { threads: 2 });
    const reference = await tfjsEmbeddings(real.files);
    expect(maxAbsDifference(x.data, reference)).toBeLessThan(1e-4);
    expect(Math.max(...reference)).toBeGreaterThan(1); // the bottleneck's scale: 1e-4 is a tight bound
    expect(Array.from(net.shippedHead.predict(x))).toEqual(Array.from(net.shippedHead.predict(matrix(reference, 20, 512))));
  });
});

describe('face-api backbone', () => {
  it('describes itself: 512-d bottleneck, 420,192 backbone parameters, a 2-class gender head', () => {
    expect(net.kind).toBe('face-api');
    expect(net.embeddingDim).toBe(512);
    expect(net.inputSize).toBe(112);
    // every value in the weight file minus fc/gender (512 x 2 + 2) and fc/age (512 + 1)
    const w = loadFaceNetWeights();
    expect(net.engine).toMatch(/^onnxruntime-node@\d+\.\d+\.\d+$/);
    expect(net.parameterCount).toBe(w.totalParameters - (512 * 2 + 2) - (512 + 1));
    expect(net.parameterCount).toBe(420192);
    expect(net.shippedHead.classes).toEqual(['male', 'female']);
    expect(net.shippedGenderHead).toBe(net.shippedHead);
    expect(net.id).toMatch(/^face-api@1\.7\.15\/age_gender_model\/[0-9a-f]{16}$/);
  });

  it('embeds 20 images into finite, non-negative, not all zero 512-d rows, in order', async () => {
    const { x, rows, skipped } = await net.embedImages(files, { threads: 1 });
    expect([x.rows, x.cols]).toEqual([20, 512]);
    expect(Array.from(rows)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(skipped).toEqual([]);
    // the bottleneck is an average of ReLU outputs: finite and >= 0, and not all zero
    expect(x.data.every((v) => Number.isFinite(v) && v >= 0)).toBe(true);
    expect(x.data.some((v) => v > 0)).toBe(true);
  });

  it("agrees with face-api's own AgeGenderNet on P(male) and age for 3 faces", async () => {
    const require = createRequire(import.meta.url);
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as {
      AgeGenderNet: new () => {
        loadFromWeightMap(w: tf.NamedTensorMap): void;
        predictAgeAndGender(t: tf.Tensor3D[]): Promise<{ age: number; gender: string; genderProbability: number }[]>;
      };
    };
    const reference = new faceapi.AgeGenderNet();
    await useWasmBackend();
    reference.loadFromWeightMap(loadTfjsFaceNetWeights(faceApiModelDir()).tensors);
    const three = files.slice(8, 11);
    const pixels = await Promise.all(three.map((f) => decodeImage(f, 112)));
    const rgb = new Float32Array(3 * 112 * 112 * 3);
    pixels.forEach((p, k) => rgb.set(p, k * 112 * 112 * 3));
    const theirs = await reference.predictAgeAndGender(tf.unstack(tf.tensor4d(rgb, [3, 112, 112, 3])) as tf.Tensor3D[]);
    const z = await net.embed(matrix(rgb, 3, 112 * 112 * 3));
    const pFemale = net.shippedHead.positiveScore(z);
    const age = net.predictAge(z);
    theirs.forEach((t, k) => {
      const theirMale = t.gender === 'male' ? t.genderProbability : 1 - t.genderProbability;
      expect(1 - (pFemale[k] as number)).toBeCloseTo(theirMale, 4);
      expect(age[k] as number).toBeCloseTo(t.age, 2);
    });
  });

  it("gives tfjs's 512-d embeddings to 1e-4 on 20 generated images", async () => {
    const { x } = await net.embedImages(files, { threads: 1 });
    const reference = await tfjsEmbeddings(files);
    expect(maxAbsDifference(x.data, reference)).toBeLessThan(1e-4);
    expect(Math.max(...reference)).toBeGreaterThan(0.1);
  });

  it('gives the same embeddings with 2 onnxruntime threads as with 1, in batches of 4 as in one', async () => {
    const one = await net.embedImages(files.slice(0, 16), { threads: 1, batchSize: 4 });
    const two = await net.embedImages(files.slice(0, 16), { threads: 2 });
    expect(Array.from(two.rows)).toEqual(Array.from(one.rows));
    expect(maxAbsDifference(one.x.data, two.x.data)).toBeLessThan(1e-5);
  });

  it('refuses a thread count that is not a positive integer', async () => {
    await expect(net.embedImages(files.slice(0, 1), { threads: 0 })).rejects.toThrow('face-api threads: expected a positive integer, received 0');
  });

  it('skips a corrupt JPEG among good images, reporting its index, and reports progress up to the total', async () => {
    const bad = join(tmp, 'corrupt.jpg');
    const jpeg = readFileSync(files[0] as string);
    writeFileSync(bad, jpeg.subarray(0, 500));
    const list = [files[0] as string, bad, files[1] as string];
    const warnings: string[] = [];
    const progress: number[] = [];
    const out = await net.embedImages(list, { threads: 1, onWarning: (m) => warnings.push(m), onProgress: (d) => progress.push(d) });
    expect(Array.from(out.rows)).toEqual([0, 2]);
    expect(out.skipped.map((s) => s.index)).toEqual([1]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('corrupt.jpg: skipped, cannot decode image');
    expect(progress.at(-1)).toBe(3);
    await expect(net.embedImages(list, { threads: 1, strict: true })).rejects.toThrow(/corrupt\.jpg: cannot decode image/);
  });

  it('serves a second run from the cache with identical bytes, keeping skipped images', async () => {
    const dir = mkdtempSync(join(tmp, 'cache-'));
    const bad = join(tmp, 'corrupt2.jpg');
    writeFileSync(bad, 'not a jpeg');
    const copy = join(tmp, 'copy.jpg');
    copyFileSync(files[2] as string, copy);
    const list = [files[2] as string, bad, files[3] as string];
    const first = await net.embedImages(list, { threads: 1, cacheDir: dir });
    expect(first.cacheHit).toBe(false);
    const warnings: string[] = [];
    const second = await net.embedImages(list, { threads: 1, cacheDir: dir, onWarning: (m) => warnings.push(m) });
    expect(second.cacheHit).toBe(true);
    expect(Buffer.from(second.x.data.buffer)).toEqual(Buffer.from(first.x.data.buffer));
    expect(Array.from(second.rows)).toEqual([0, 2]);
    expect(second.skipped.map((s) => s.file)).toEqual([bad]);
    expect(warnings).toEqual([expect.stringContaining('corrupt2.jpg: skipped')]);
    // same bytes under another name: same content hash, still a hit
    const renamed = await net.embedImages([copy, bad, files[3] as string], { threads: 1, cacheDir: dir });
    expect(renamed.cacheHit).toBe(true);
    // another fit is another entry
    expect((await net.embedImages(list, { threads: 1, cacheDir: dir, fit: 'cover' })).cacheHit).toBe(false);
  });

  it('does not serve an entry written by another engine (the key names onnxruntime and its version)', async () => {
    const dir = mkdtempSync(join(tmp, 'cache-engine-'));
    const list = files.slice(4, 6);
    // the key fairhead 0.1 (tfjs engine) used for the same files: no engine in its options
    const oldKey = { backbone: net.id, contentHash: await hashFiles(list), options: { size: 112, fit: 'contain', input: 'rgb-mean/255' } };
    await cachedEmbeddings(oldKey, async () => ({ matrix: matrix(new Float32Array(2 * 512).fill(7), 2, 512), extra: { rows: [0, 1], skipped: [] } }), { dir });
    const out = await net.embedImages(list, { threads: 1, cacheDir: dir });
    expect(out.cacheHit).toBe(false);
    expect(out.x.data.some((v) => v === 7)).toBe(false);
    const entries = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { key: { options: { engine?: string } } });
    expect(entries.map((e) => e.key.options.engine).sort()).toEqual([net.engine, undefined]);
  });

  it('keeps the built ONNX model in the cache folder, serves it from there, and rebuilds a corrupt one', async () => {
    const dir = mkdtempSync(join(tmp, 'model-'));
    const first = await loadFaceApiBackbone({ cacheDir: dir });
    const [model] = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
    expect(model).toMatch(/^face-api-[0-9a-f]{16}\.onnx$/);
    const bytes = readFileSync(join(dir, model as string));
    const sha = createHash('sha256').update(bytes).digest('hex');
    expect(JSON.parse(readFileSync(join(dir, `${model as string}.json`), 'utf8'))).toMatchObject({ sha256: sha });
    const z = await first.embed(matrix(Float32Array.from({ length: 112 * 112 * 3 }, (_, i) => i % 256), 1, 112 * 112 * 3));
    await first.close();

    // a different model with a matching checksum is served as it is: every embedding value = the mean input value
    const other = mkdtempSync(join(tmp, 'model-other-'));
    const g = new OnnxBuilder('mean');
    g.input('x', ['N', 3, 112, 112]);
    const mean = g.node('ReduceMean', ['x'], { axes: [1, 2, 3], keepdims: 0 });
    g.node('Expand', [g.node('Unsqueeze', [mean, g.ints([1])]), g.ints([1, 512])], {}, ['embedding']);
    g.output('embedding');
    const fake = g.toBytes();
    writeFileSync(join(other, model as string), fake);
    writeFileSync(join(other, `${model as string}.json`), JSON.stringify({ sha256: createHash('sha256').update(fake).digest('hex') }));
    const served = await loadFaceApiBackbone({ cacheDir: other });
    const constant = await served.embed(matrix(new Float32Array(112 * 112 * 3).fill(122.782), 1, 112 * 112 * 3));
    // input 122.782 everywhere: channels (122.782 - mean) / 255 = 0, 5.781 / 255, 18.484 / 255; their mean
    expect(constant.data[511]).toBeCloseTo((0 + 5.781 / 255 + 18.484 / 255) / 3, 5);
    await served.close();

    // a corrupt model is rebuilt, with a warning, and gives the real net's embeddings
    const corrupt = mkdtempSync(join(tmp, 'model-corrupt-'));
    cpSync(dir, corrupt, { recursive: true });
    writeFileSync(join(corrupt, model as string), bytes.subarray(0, 1000));
    const warnings: string[] = [];
    const rebuilt = await loadFaceApiBackbone({ cacheDir: corrupt, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/face-api-[0-9a-f]{16}\.onnx: does not match its SHA-256 checksum; rebuilding$/)]);
    expect(Buffer.compare(readFileSync(join(corrupt, model as string)), bytes)).toBe(0);
    const again = await rebuilt.embed(matrix(Float32Array.from({ length: 112 * 112 * 3 }, (_, i) => i % 256), 1, 112 * 112 * 3));
    expect(Array.from(again.data)).toEqual(Array.from(z.data));
    await rebuilt.close();
  });

  it('refuses rows that are not 112 x 112 x 3 pixels', async () => {
    await expect(net.embed(matrix(new Float32Array(10), 2, 5))).rejects.toThrow(ShapeError);
    await expect(net.embed(matrix(new Float32Array(10), 2, 5))).rejects.toThrow('face-api embeds rows of 112 x 112 x 3 = 37632 RGB values, received 5 columns');
  });
});
