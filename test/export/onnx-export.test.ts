import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { exportOnnxWithHead } from '../../src/export/onnx-export.ts';
import { loadOnnxBackbone } from '../../src/backbone/onnx.ts';
import { LinearHead } from '../../src/head/linear-head.ts';
import { matrix, type Matrix } from '../../src/data/matrix.ts';
import { INPUT_NAME, OUTPUT_NAME, makeMlpClassifier, seededValues, type DenseSpec, type MlpSpec } from '../fixtures/make-onnx-model.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairhead-onnx-export-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function save(name: string, bytes: Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** onnxruntime on `file`: the output tensor's values and its dims. */
async function run(file: string, x: Matrix): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', x.data, [x.rows, x.cols]) });
  await session.release();
  const t = out[OUTPUT_NAME] as ort.Tensor;
  return { data: t.data as Float32Array, dims: t.dims };
}

const HIDDEN: DenseSpec = { weights: [[1, 0, 1], [0, 1, -1], [0.5, 0.5, 0]], bias: [0.5, 0, -1] };
// 40 rows of 3 seeded features in [-2, 2)
const X = matrix(seededValues(40 * 3, 7, 2), 40, 3);

/** Export `head` over the model `spec` and check onnxruntime's output equals head.predictProba(embed(x)) to 1e-5. */
async function roundTrip(name: string, spec: MlpSpec, head: LinearHead): Promise<{ out: string; dims: readonly number[]; data: Float32Array; p: Float64Array }> {
  const source = save(`${name}.onnx`, makeMlpClassifier(spec));
  const out = join(dir, `${name}-fair.onnx`);
  await exportOnnxWithHead(source, head, out);
  const bb = await loadOnnxBackbone(source);
  const p = head.predictProba(await bb.embed(X));
  await bb.close();
  const { data, dims } = await run(out, X);
  return { out, dims, data, p };
}

describe('exportOnnxWithHead', () => {
  it('writes a 3-class head into a Gemm-Softmax model: same probabilities as predictProba to 1e-5', async () => {
    const head = new LinearHead(['a', 'b', 'c'], 3, Float64Array.of(0.3, -1.2, 0.7, -0.4, 0.9, 0.1, 1.1, 0.2, -0.8), Float64Array.of(0.05, -0.3, 0.2));
    const spec: MlpSpec = { hidden: [HIDDEN], head: { weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias: [0, 0, 0] }, activation: 'softmax' };
    const { out, dims, data, p } = await roundTrip('three', spec, head);
    expect(dims).toEqual([40, 3]);
    for (let i = 0; i < p.length; i++) expect(Math.abs((data[i] as number) - (p[i] as number))).toBeLessThan(1e-5);
    // Reading the exported file back gives the fair head as its shipped head, and the same embedding.
    const bb = await loadOnnxBackbone(out);
    expect(bb.classes).toEqual(['a', 'b', 'c']);
    expect(Array.from(bb.shippedHead.weights)).toEqual(Array.from(Float32Array.from(head.weights)));
    expect(bb.embeddingNode).toBe('h1');
    await bb.close();
  });

  it('writes a binary head into a 2-output softmax model as logits [0, z]: output name and shape unchanged', async () => {
    const head = new LinearHead(['no', 'yes'], 3, Float64Array.of(0.8, -0.5, 1.5), Float64Array.of(-0.25));
    const spec: MlpSpec = { hidden: [HIDDEN], head: { weights: [[1, 0, 0], [0, 1, 0]], bias: [0, 0] }, activation: 'softmax' };
    const { out, dims, data, p } = await roundTrip('binary-softmax', spec, head);
    expect(dims).toEqual([40, 2]);
    for (let i = 0; i < p.length; i++) expect(Math.abs((data[i] as number) - (p[i] as number))).toBeLessThan(1e-5);
    const model = onnxProto.onnx.ModelProto.decode(readFileSync(out));
    const w = model.graph?.initializer?.find((t) => t.name === 'fairhead_head_weight');
    const raw = w?.rawData as Uint8Array;
    const values = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    expect(Array.from(values)).toEqual(Array.from(Float32Array.of(0, 0, 0, 0.8, -0.5, 1.5)));
    expect(model.graph?.output?.[0]?.name).toBe(OUTPUT_NAME);
  });

  it('writes a binary head into a 1-logit sigmoid model as 1 logit: output = P(class 1)', async () => {
    const head = new LinearHead(['no', 'yes'], 3, Float64Array.of(-0.6, 0.4, 2), Float64Array.of(0.1));
    const spec: MlpSpec = { hidden: [HIDDEN], head: { weights: [[1, 1, 1]], bias: [0] }, activation: 'sigmoid' };
    const { dims, data, p } = await roundTrip('binary-sigmoid', spec, head);
    expect(dims).toEqual([40, 1]);
    for (let i = 0; i < X.rows; i++) expect(Math.abs((data[i] as number) - (p[2 * i + 1] as number))).toBeLessThan(1e-5);
  });

  it('replaces a MatMul + Add head and removes its old weights', async () => {
    const head = new LinearHead(['no', 'yes'], 3, Float64Array.of(1, -1, 0.5), Float64Array.of(0.3));
    const spec: MlpSpec = { hidden: [HIDDEN], head: { weights: [[1, 0, 0], [0, 1, 0]], bias: [0, 0], form: 'matmul-add' }, activation: 'softmax' };
    const { out, data, p } = await roundTrip('matmul-add', spec, head);
    for (let i = 0; i < p.length; i++) expect(Math.abs((data[i] as number) - (p[i] as number))).toBeLessThan(1e-5);
    const model = onnxProto.onnx.ModelProto.decode(readFileSync(out));
    const names = (model.graph?.initializer ?? []).map((t) => t.name);
    expect(names).toEqual(['W1', 'b1', 'fairhead_head_weight', 'fairhead_head_bias']);
    expect((model.graph?.node ?? []).map((n) => n.opType)).toEqual(['Gemm', 'Relu', 'Gemm', 'Softmax']);
  });

  it('keeps a logits output as logits: softmax of the exported outputs equals predictProba', async () => {
    const head = new LinearHead(['a', 'b', 'c'], 3, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), Float64Array.of(0, 0, 1));
    const spec: MlpSpec = { hidden: [HIDDEN], head: { weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias: [0, 0, 0] }, activation: 'none' };
    const { data } = await roundTrip('logits', spec, head);
    // Row 0 logits = h(x0) + (0, 0, 1)
    const bb = await loadOnnxBackbone(join(dir, 'logits.onnx'));
    const z = head.logits(await bb.embed(X));
    await bb.close();
    for (let i = 0; i < z.length; i++) expect(Math.abs((data[i] as number) - (z[i] as number))).toBeLessThan(1e-5);
  });

  it('writes a K-class head over a 1-logit sigmoid model with a softmax and K outputs', async () => {
    const head = new LinearHead(['a', 'b', 'c'], 3, Float64Array.of(0.3, -1.2, 0.7, -0.4, 0.9, 0.1, 1.1, 0.2, -0.8), Float64Array.of(0, 0, 0));
    const spec: MlpSpec = { hidden: [HIDDEN], head: { weights: [[1, 1, 1]], bias: [0] }, activation: 'sigmoid' };
    const { dims, data, p } = await roundTrip('widen', spec, head);
    expect(dims).toEqual([40, 3]);
    for (let i = 0; i < p.length; i++) expect(Math.abs((data[i] as number) - (p[i] as number))).toBeLessThan(1e-5);
  });

  it('rejects a head whose input size differs from the embedding, naming the file and both sizes', async () => {
    const source = save('mismatch.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: { weights: [[1, 1, 1]], bias: [0] }, activation: 'sigmoid' }));
    const head = LinearHead.zeros(['no', 'yes'], 5);
    await expect(exportOnnxWithHead(source, head, join(dir, 'never.onnx'))).rejects.toThrow(
      `${source}: the head expects 5 embedding values, the model's embedding "h1" has 3; expected a head trained on this model's embeddings`,
    );
  });
});

describe('exportOnnxWithHead on a model with a label output before the probabilities', () => {
  it('finds the head behind the second output and keeps the ArgMax label working', async () => {
    const head = new LinearHead(['a', 'b', 'c'], 3, Float64Array.of(0.3, -1.2, 0.7, -0.4, 0.9, 0.1, 1.1, 0.2, -0.8), Float64Array.of(0, 0, 0));
    const spec: MlpSpec = { hidden: [HIDDEN], head: { weights: [[1, 0, 0], [0, 1, 0], [0, 0, 1]], bias: [0, 0, 0] }, activation: 'softmax', labelOutput: true };
    const { out, data, p } = await roundTrip('labelled', spec, head);
    for (let i = 0; i < p.length; i++) expect(Math.abs((data[i] as number) - (p[i] as number))).toBeLessThan(1e-5);
    const session = await ort.InferenceSession.create(out);
    const result = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', X.data, [X.rows, X.cols]) });
    await session.release();
    const labels = Array.from(result.label?.data as BigInt64Array, Number);
    expect(labels).toEqual(Array.from(head.predict(await embedOf('labelled.onnx'))));
  });
});

async function embedOf(name: string): Promise<Matrix> {
  const bb = await loadOnnxBackbone(join(dir, name));
  const z = await bb.embed(X);
  await bb.close();
  return z;
}
