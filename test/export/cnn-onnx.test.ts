import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { trainCnn, type CnnBackbone, type CnnImageSet } from '../../src/backbone/cnn.ts';
import { decodeImage } from '../../src/data/images.ts';
import { matrix } from '../../src/data/matrix.ts';
import { buildCnnOnnx, exportCnnOnnx } from '../../src/export/cnn-onnx.ts';
import { fitHead } from '../../src/train/fit.ts';
import { LinearHead } from '../../src/head/linear-head.ts';
import { main } from '../../src/cli/main.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { predictWithModel } from '../../src/pipeline/predict.ts';
import { makeImageFolder } from '../support/data.ts';

const SIZE = 16;
/** 100 generated images in 2 labels x 5 groups, UTKFace-shaped (see test/support/data.ts). */
const utk = mkdtempSync(join(tmpdir(), 'fairhead-cnn-images-'));
await makeImageFolder(utk, { count: 100 });
afterAll(() => rmSync(utk, { recursive: true, force: true }));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairhead-cnn-onnx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The first `n` images of the folder's balanced subset: file names, gender (the label), race (the group). */
function faces(n: number): { file: string; gender: number; race: number }[] {
  const lines = readFileSync(join(utk, 'labels.csv'), 'utf8').trim().split('\n').slice(1);
  return lines
    .map((l) => l.split(','))
    .filter((c) => c[4] === '1')
    .slice(0, n)
    .map((c) => ({ file: c[0] as string, gender: Number(c[2]), race: Number(c[3]) }));
}

/** Decoded images (as fairhead decodes them) with labels `label(face)` over `classes`. */
async function imageSet(list: ReturnType<typeof faces>, label: (f: (typeof list)[number]) => number, classes: string[]): Promise<CnnImageSet> {
  const plane = SIZE * SIZE * 3;
  const pixels = new Uint8Array(list.length * plane);
  for (let i = 0; i < list.length; i++) pixels.set(await decodeImage(join(utk, 'images', list[i]!.file), SIZE), i * plane);
  return { images: { pixels, n: list.length, size: SIZE }, y: Int32Array.from(list, label), group: Int32Array.from(list, (f) => (f.race === 0 ? 0 : 1)), classes };
}

/** onnxruntime on an exported model: probabilities and labels of the images in `set`. */
async function runOnnx(file: string, set: CnnImageSet): Promise<{ p: Float32Array; label: BigInt64Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ image: new ort.Tensor('uint8', set.images.pixels, [set.images.n, SIZE, SIZE, 3]) });
    const p = out['probabilities'] as ort.Tensor;
    return { p: p.data as Float32Array, label: (out['label'] as ort.Tensor).data as BigInt64Array, dims: p.dims };
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

const bytesAsRows = (set: CnnImageSet) => matrix(Float32Array.from(set.images.pixels), set.images.n, SIZE * SIZE * 3);

describe('exportCnnOnnx', () => {
  const list = faces(96);
  let binary: { backbone: CnnBackbone; set: CnnImageSet };

  beforeAll(async () => {
    const set = await imageSet(list, (f) => f.gender, ['0', '1']);
    // 2 epochs move the BN running statistics far from their initial 0 / 1, so inference mode is really tested
    const fit = await trainCnn(set, null, { channels: [4, 8], epochs: 2, batchSize: 16, seed: 1, threads: 1 });
    binary = { backbone: fit.backbone, set };
  }, 120_000);

  it('gives the probabilities and classes of a fair head on the library CNN embeddings of the images, to 1e-5', async () => {
    const { backbone, set } = binary;
    const z = await backbone.embed(bytesAsRows(set));
    const embedded = { x: z, y: set.y, classes: set.classes, group: set.group, groupNames: ['white', 'non-white'] };
    const { head } = await fitHead(embedded, { constraint: 'eo', alpha: 2 });
    const file = join(dir, 'binary.onnx');
    await exportCnnOnnx(backbone, head, file);
    const { p, label, dims } = await runOnnx(file, set);
    expect(dims).toEqual([96, 2]);
    const expected = head.predictProba(z);
    expect(maxAbsDiff(p, expected)).toBeLessThan(1e-5);
    // the scores are not all the same (the comparison means something)
    const p1 = Array.from(expected).filter((_, i) => i % 2 === 1);
    expect(Math.max(...p1) - Math.min(...p1)).toBeGreaterThan(0.05);
    expect(Array.from(label, Number)).toEqual(Array.from(head.predict(z)));
  });

  it('applies the threshold to P(class 1) for the label output', async () => {
    const { backbone, set } = binary;
    const z = await backbone.embed(bytesAsRows(set));
    const head = backbone.shippedHead;
    const scores = head.positiveScore(z);
    const median = Array.from(scores).sort((a, b) => a - b)[48]!;
    const file = join(dir, 'threshold.onnx');
    await exportCnnOnnx(backbone.toJSON(), head, file, { threshold: median });
    const { label } = await runOnnx(file, set);
    expect(Array.from(label, Number)).toEqual(Array.from(head.predict(z, median)));
    expect(Array.from(label, Number).filter((v) => v === 1).length).toBe(48); // half the faces at or above the median
  });

  it('writes a K-class head as K softmax probabilities and the arg max (race, 3 classes)', async () => {
    const three = list.filter((f) => f.race <= 2).slice(0, 48);
    const set = await imageSet(three, (f) => f.race, ['0', '1', '2']);
    const fit = await trainCnn(set, null, { channels: [4, 8], epochs: 1, batchSize: 16, seed: 2, threads: 1 });
    const file = join(dir, 'race.onnx');
    await exportCnnOnnx(fit.backbone, fit.head, file);
    const z = await fit.backbone.embed(bytesAsRows(set));
    const { p, label, dims } = await runOnnx(file, set);
    expect(dims).toEqual([48, 3]);
    expect(maxAbsDiff(p, fit.head.predictProba(z))).toBeLessThan(1e-5);
    expect(Array.from(label, Number)).toEqual(Array.from(fit.head.predict(z)));
  }, 60_000);

  it('records classes, threshold, image size and the preprocessing in the model metadata, and takes uint8 NHWC images', () => {
    const bytes = buildCnnOnnx(binary.backbone, binary.backbone.shippedHead);
    const model = onnxProto.onnx.ModelProto.decode(bytes);
    const meta = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(meta['classes'] as string)).toEqual(['0', '1']);
    expect(meta['threshold']).toBe('0.5');
    expect(meta['image_size']).toBe('16');
    expect(meta['preprocessing']).toContain('fit "contain"');
    const input = model.graph?.input?.[0];
    expect(input?.name).toBe('image');
    expect(input?.type?.tensorType?.elemType).toBe(onnxProto.onnx.TensorProto.DataType.UINT8);
    expect(input?.type?.tensorType?.shape?.dim?.map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 16, 16, 3]);
    expect(model.graph?.node?.filter((n) => n.opType === 'BatchNormalization').length).toBe(6); // stem, 2 + 2, shortcut
  });

  it('refuses a head trained on other embeddings, naming the sizes, and writes nothing', async () => {
    const head = new LinearHead(['0', '1'], 5, new Float64Array(5), new Float64Array(1));
    const file = join(dir, 'bad.onnx');
    await expect(exportCnnOnnx(binary.backbone, head, file, { source: 'out/model' })).rejects.toThrow(
      "out/model: the head expects 5 embedding values, the CNN's embedding has 8 (channels 4, 8); expected a head trained on this CNN's embeddings",
    );
    expect(existsSync(file)).toBe(false);
  });
});

describe('fairhead export of a cnn model', () => {
  it('writes one .onnx that gives `fairhead predict` scores on the images to 1e-5, and refuses other extensions (exit 2, nothing written)', async () => {
    const list = faces(80);
    const labels = join(dir, 'labels.csv');
    writeFileSync(labels, `file,gender,race\n${list.map((f) => `${f.file},${f.gender},${f.race === 0 ? 'white' : 'non-white'}`).join('\n')}\n`);
    const out = join(dir, 'run');
    await runPipeline({
      images: join(utk, 'images'), labels, target: 'gender', sensitive: ['race'], backbone: 'cnn', epochs: 1, imageSize: SIZE,
      method: 'm1', constraint: 'eo', alpha: 1, optimizer: 'lbfgs', seed: 0, out, quiet: true,
    });
    const file = join(dir, 'fair.onnx');
    expect(await main(['export', '--model', join(out, 'model'), '--out', file, '--quiet'])).toBe(0);
    const predicted = await predictWithModel(join(out, 'model'), { images: join(utk, 'images'), labels });
    expect(predicted.ids).toEqual(list.map((f) => f.file));
    const set = await imageSet(list, (f) => f.gender, ['0', '1']);
    const { p, label } = await runOnnx(file, set);
    expect(maxAbsDiff(Array.from(p).filter((_, i) => i % 2 === 1), predicted.scores)).toBeLessThan(1e-5);
    expect(Array.from(label, Number)).toEqual(Array.from(predicted.predicted));

    const bad = join(dir, 'fair.txt');
    expect(await main(['export', '--model', join(out, 'model'), '--out', bad, '--quiet'])).toBe(2);
    expect(existsSync(bad)).toBe(false);
    expect(await main(['export', '--model', join(out, 'model'), '--out', join(dir, 'fair.json'), '--quiet'])).toBe(0);
  }, 240_000);
});
