import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { loadOnnxBackbone } from '../../src/backbone/onnx.ts';
import type { Backbone } from '../../src/backbone/backbone.ts';
import { matrix, type Matrix } from '../../src/data/matrix.ts';
import { InputError } from '../../src/errors.ts';
import {
  INPUT_NAME,
  OUTPUT_NAME,
  encodeModel,
  floatTensor,
  floatValueInfo,
  intAttr,
  makeMlpClassifier,
  makeReluRegressor,
  makeTinyCnnClassifier,
  type DenseSpec,
} from '../fixtures/make-onnx-model.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairhead-onnx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write `bytes` as `name` in the test folder and return its path. */
function save(name: string, bytes: Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** The model's own output for the rows of `x`, straight from onnxruntime. */
async function runModel(file: string, x: Matrix, dims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(file);
  const out = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', x.data, dims) });
  await session.release();
  return out[OUTPUT_NAME]?.data as Float32Array;
}

// One hidden layer, 3 inputs -> 3 hidden units:
//   h = relu([x0 + x2 + 0.5, x1 - x2, 0.5 x0 + 0.5 x1 - 1])
const HIDDEN: DenseSpec = { weights: [[1, 0, 1], [0, 1, -1], [0.5, 0.5, 0]], bias: [0.5, 0, -1] };
// x = [1, 2, 3]  -> [4.5, -1, 0.5]   -> h = [4.5, 0, 0.5]
// x = [-1, 0, 2] -> [1.5, -2, -1.5]  -> h = [1.5, 0, 0]
// x = [2, 2, 0]  -> [2.5, 2, 1]      -> h = [2.5, 2, 1]
const X = matrix(Float32Array.of(1, 2, 3, -1, 0, 2, 2, 2, 0), 3, 3);
const H = [4.5, 0, 0.5, 1.5, 0, 0, 2.5, 2, 1];

describe('loadOnnxBackbone on a Gemm-Relu-Gemm-Softmax classifier', () => {
  const head3: DenseSpec = { weights: [[1, -1, 0], [0, 1, 1], [-1, 0, 2]], bias: [0, 0.5, -0.5] };

  it('finds the embedding at the input of the final Gemm and computes relu(W1 x + b1)', async () => {
    const file = save('mlp3.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: head3, activation: 'softmax' }));
    const bb = await loadOnnxBackbone(file, { threads: 1 });
    expect(bb.kind).toBe('onnx');
    expect(bb.embeddingNode).toBe('h1');
    expect(bb.embeddingDim).toBe(3);
    expect(bb.inputName).toBe(INPUT_NAME);
    expect(bb.inputShape).toEqual(['N', 3]);
    expect(bb.inputFeatures).toBe(3);
    expect(bb.parameterCount).toBe(9 + 3); // W1 and b1; the head's 9 + 3 are not the backbone's
    expect(bb.classes).toBeUndefined();
    const z = await bb.embed(X);
    expect(z.rows).toBe(3);
    expect(z.cols).toBe(3);
    expect(Array.from(z.data)).toEqual(H);
    await bb.close();
  });

  it('reads the shipped head so that it reproduces the model own probabilities', async () => {
    const file = save('mlp3b.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: head3, activation: 'softmax' }));
    const bb = await loadOnnxBackbone(file);
    expect(bb.shippedHead.outputs).toBe(3);
    expect(Array.from(bb.shippedHead.weights)).toEqual([1, -1, 0, 0, 1, 1, -1, 0, 2]);
    expect(Array.from(bb.shippedHead.bias)).toEqual([0, 0.5, -0.5]);
    const own = await runModel(file, X, [3, 3]);
    const p = bb.shippedHead.predictProba(await bb.embed(X));
    for (let i = 0; i < 9; i++) expect(p[i]).toBeCloseTo(own[i] as number, 6);
    await bb.close();
  });

  it('satisfies the Backbone interface', async () => {
    const file = save('mlp3c.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: head3, activation: 'softmax' }));
    const bb: Backbone = await loadOnnxBackbone(file);
    expect((await bb.embed(X)).cols).toBe(bb.embeddingDim);
    expect(bb.shippedHead?.inputDim).toBe(3);
  });

  it('gives the same embeddings in batches of 2 as in one batch, and an empty matrix for no rows', async () => {
    const file = save('mlp3d.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: head3, activation: 'softmax' }));
    const bb = await loadOnnxBackbone(file, { batchSize: 2 });
    expect(Array.from((await bb.embed(X)).data)).toEqual(H);
    const empty = await bb.embed(matrix(new Float32Array(0), 0, 3));
    expect([empty.rows, empty.cols]).toEqual([0, 3]);
    await bb.close();
  });

  it('runs a model with a fixed batch size of 1 row by row', async () => {
    const file = save('mlp-batch1.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: head3, activation: 'softmax', batch: 1 }));
    const bb = await loadOnnxBackbone(file, { batchSize: 64 });
    expect(bb.inputShape).toEqual([1, 3]);
    expect(Array.from((await bb.embed(X)).data)).toEqual(H);
    await bb.close();
  });

  it('reads float weights stored as raw bytes the same as float_data', async () => {
    const file = save('mlp-raw.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: head3, activation: 'softmax', rawData: true }));
    const bb = await loadOnnxBackbone(file);
    expect(Array.from((await bb.embed(X)).data)).toEqual(H);
    expect(Array.from(bb.shippedHead.weights)).toEqual([1, -1, 0, 0, 1, 1, -1, 0, 2]);
    await bb.close();
  });

  it('takes class names from the model metadata', async () => {
    const file = save('mlp-classes.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: head3, activation: 'softmax', metadata: { classes: '["cat","dog","owl"]' } }));
    const bb = await loadOnnxBackbone(file);
    expect(bb.classes).toEqual(['cat', 'dog', 'owl']);
    expect(bb.shippedHead.classes).toEqual(['cat', 'dog', 'owl']);
    await bb.close();
  });
});

describe('loadOnnxBackbone on other head forms', () => {
  it('reads a MatMul + Add head with 2 softmax outputs as the binary head w1 - w0, b1 - b0', async () => {
    // logits = [h.(1, 0, -1) + 0.25, h.(0, 2, 1) - 0.25]  ->  binary: w = (-1, 2, 2), b = -0.5
    const head: DenseSpec = { weights: [[1, 0, -1], [0, 2, 1]], bias: [0.25, -0.25] };
    const file = save('matmul-add.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: { ...head, form: 'matmul-add' }, activation: 'softmax' }));
    const bb = await loadOnnxBackbone(file);
    expect(bb.embeddingNode).toBe('h1');
    expect(bb.shippedHead.outputs).toBe(1);
    expect(Array.from(bb.shippedHead.weights)).toEqual([-1, 2, 2]);
    expect(Array.from(bb.shippedHead.bias)).toEqual([-0.5]);
    const own = await runModel(file, X, [3, 3]);
    const p = bb.shippedHead.predictProba(await bb.embed(X));
    for (let i = 0; i < 6; i++) expect(p[i]).toBeCloseTo(own[i] as number, 6);
    await bb.close();
  });

  it('reads a MatMul head without bias as bias 0', async () => {
    const file = save('matmul.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: { weights: [[1, 2, 3]], bias: [0], form: 'matmul' }, activation: 'sigmoid' }));
    const bb = await loadOnnxBackbone(file);
    expect(Array.from(bb.shippedHead.weights)).toEqual([1, 2, 3]);
    expect(Array.from(bb.shippedHead.bias)).toEqual([0]);
    await bb.close();
  });

  it('honours Gemm transB = 0, alpha and beta in a 1-logit sigmoid head', async () => {
    // Y = alpha * h B + beta * C with B = w^T: w = 2 * (1, -1, 0.5) = (2, -2, 1), b = 0.5 * 0.4 = 0.2
    const head = { weights: [[1, -1, 0.5]], bias: [0.4], transB: 0 as const, alpha: 2, beta: 0.5 };
    const file = save('sigmoid.onnx', makeMlpClassifier({ hidden: [HIDDEN], head, activation: 'sigmoid' }));
    const bb = await loadOnnxBackbone(file);
    expect(bb.shippedHead.outputs).toBe(1);
    expect(Array.from(bb.shippedHead.weights)).toEqual([2, -2, 1]);
    expect(bb.shippedHead.bias[0]).toBeCloseTo(0.2, 7);
    const own = await runModel(file, X, [3, 3]);
    const p = bb.shippedHead.predictProba(await bb.embed(X));
    // Row 0: z = 2*4.5 - 0 + 0.5 + 0.2 = 9.7, P(class 1) = sigmoid(9.7)
    expect(p[1]).toBeCloseTo(1 / (1 + Math.exp(-9.7)), 6);
    for (let i = 0; i < 3; i++) expect(p[2 * i + 1]).toBeCloseTo(own[i] as number, 6);
    await bb.close();
  });

  it('reads head weights held in Constant nodes (as some exporters write them)', async () => {
    // logits = x W^T + b with W = [[1, 2, 3]], b = [-1] given by Constant nodes; embedding = the Relu output.
    const bytes = encodeModel({
      name: 'constants',
      node: [
        { name: 'relu', opType: 'Relu', input: [INPUT_NAME], output: ['r'] },
        { name: 'w', opType: 'Constant', output: ['w'], attribute: [{ name: 'value', type: 4, t: floatTensor('w', [1, 3], [1, 2, 3]) }] },
        { name: 'b', opType: 'Constant', output: ['b'], attribute: [{ name: 'value', type: 4, t: floatTensor('b', [1], [-1]) }] },
        { name: 'head', opType: 'Gemm', input: ['r', 'w', 'b'], output: ['logit'], attribute: [intAttr('transB', 1)] },
        { name: 'sigmoid', opType: 'Sigmoid', input: ['logit'], output: [OUTPUT_NAME] },
      ],
      input: [floatValueInfo(INPUT_NAME, ['N', 3])],
      output: [floatValueInfo(OUTPUT_NAME, ['N', 1])],
    });
    const file = save('constants.onnx', bytes);
    const bb = await loadOnnxBackbone(file);
    expect(bb.embeddingNode).toBe('r');
    expect(Array.from(bb.shippedHead.weights)).toEqual([1, 2, 3]);
    expect(Array.from(bb.shippedHead.bias)).toEqual([-1]);
    // x = [-1, 0, 2] -> r = [0, 0, 2] -> z = 6 - 1 = 5
    expect(Array.from((await bb.embed(X)).data.subarray(3, 6))).toEqual([0, 0, 2]);
    expect(bb.shippedHead.positiveScore(await bb.embed(X))[1]).toBeCloseTo(1 / (1 + Math.exp(-5)), 9);
    await bb.close();
  });

  it('uses the input itself as the embedding of a logistic regression (no hidden layer)', async () => {
    const file = save('logreg.onnx', makeMlpClassifier({ hidden: [], head: { weights: [[1, 1, 1]], bias: [0] }, activation: 'none' }));
    const bb = await loadOnnxBackbone(file);
    expect(bb.embeddingNode).toBe(INPUT_NAME);
    expect(bb.parameterCount).toBe(0);
    expect(Array.from((await bb.embed(X)).data)).toEqual(Array.from(X.data));
    await bb.close();
  });

  it('reshapes flat rows to NCHW for an image model: embedding = relu(2 x) in C,H,W order', async () => {
    const file = save('cnn.onnx', makeTinyCnnClassifier(2, { weights: [[1, 0, 0, 0], [0, 0, 0, 1]], bias: [0, 0] }));
    const bb = await loadOnnxBackbone(file);
    expect(bb.inputShape).toEqual(['N', 1, 2, 2]);
    expect(bb.inputFeatures).toBe(4);
    expect(bb.embeddingNode).toBe('flat');
    const images = matrix(Float32Array.of(1, -1, 0.5, 2, -3, 0, 1, 4), 2, 4);
    expect(Array.from((await bb.embed(images)).data)).toEqual([2, 0, 1, 4, 0, 0, 2, 8]);
    await bb.close();
  });
});

describe('loadOnnxBackbone with --embedding-node', () => {
  const twoHidden = (): Uint8Array =>
    makeMlpClassifier({
      hidden: [HIDDEN, { weights: [[1, 1, 1], [1, -1, 0]], bias: [0, 0] }],
      head: { weights: [[1, 0], [0, 1]], bias: [0, 0] },
      activation: 'softmax',
    });

  it('accepts the tensor name or the name of the node that produces it', async () => {
    const file = save('two-hidden.onnx', twoHidden());
    // h2 = relu([h.(1,1,1), h.(1,-1,0)]) = [5, 4.5], [1.5, 1.5], [5.5, 0.5]
    for (const name of ['h2', 'relu2']) {
      const bb = await loadOnnxBackbone(file, { embeddingNode: name });
      expect(bb.embeddingNode).toBe('h2');
      expect(Array.from((await bb.embed(X)).data)).toEqual([5, 4.5, 1.5, 1.5, 5.5, 0.5]);
      await bb.close();
    }
  });

  it('rejects a tensor that is not the input of the final linear layer, listing the candidate', async () => {
    const file = save('two-hidden-b.onnx', twoHidden());
    await expect(loadOnnxBackbone(file, { embeddingNode: 'h1' })).rejects.toThrow(
      `${file}: --embedding-node "h1" (tensor "h1") is not the input of a final Gemm or MatMul(+Add) feeding an output; expected one of: "h2"`,
    );
  });

  it('rejects an unknown name', async () => {
    const file = save('two-hidden-c.onnx', twoHidden());
    await expect(loadOnnxBackbone(file, { embeddingNode: 'nope' })).rejects.toThrow(
      `${file}: --embedding-node "nope" is neither a node nor a tensor of the model; expected the input of the final linear layer (candidates: "h2")`,
    );
  });
});

describe('loadOnnxBackbone on bad input', () => {
  const good = (): Uint8Array => makeMlpClassifier({ hidden: [HIDDEN], head: { weights: [[1, 0, 0]], bias: [0] }, activation: 'sigmoid' });

  it('names the file when the model is not a classifier (no final Gemm/MatMul)', async () => {
    const file = save('regressor.onnx', makeReluRegressor());
    const error = await loadOnnxBackbone(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `${file}: not a classifier: expected a final Gemm or MatMul(+Add) with constant weights feeding an output, optionally through Softmax/Sigmoid; output "y" comes from Relu node "relu" (Relu node "relu" is not a Gemm, MatMul or MatMul + Add)`,
    );
  });

  it('names the file, the input and both sizes when the data has another number of features', async () => {
    const file = save('twenty.onnx', makeMlpClassifier({ hidden: [{ weights: [new Array<number>(20).fill(0.1)], bias: [0] }], head: { weights: [[1]], bias: [0] }, activation: 'sigmoid' }));
    const bb = await loadOnnxBackbone(file);
    await expect(bb.embed(matrix(new Float32Array(2 * 14), 2, 14))).rejects.toThrow(
      `${file}: model input "${INPUT_NAME}" expects 20 features per row (shape [N, 20]), the data has 14`,
    );
    await bb.close();
  });

  it('names the file when it is not protobuf at all', async () => {
    const file = save('text.onnx', new TextEncoder().encode('hello world, not a model'));
    await expect(loadOnnxBackbone(file)).rejects.toThrow(
      `${file}: not a valid ONNX model (corrupt or truncated protobuf: invalid wire type 4 at offset 3); expected a .onnx file`,
    );
  });

  it('names the file when it is truncated', async () => {
    const bytes = good();
    const file = save('truncated.onnx', bytes.subarray(0, bytes.length - 10));
    await expect(loadOnnxBackbone(file)).rejects.toThrow(/truncated\.onnx: not a valid ONNX model \(corrupt or truncated protobuf: index out of range/);
  });

  it('names the file when it is empty', async () => {
    const file = save('empty.onnx', new Uint8Array(0));
    await expect(loadOnnxBackbone(file)).rejects.toThrow(`${file}: not a valid ONNX model (no graph with nodes and outputs); expected a .onnx file`);
  });

  it('names the file when it does not exist', async () => {
    const file = join(dir, 'missing.onnx');
    await expect(loadOnnxBackbone(file)).rejects.toThrow(`${file}: cannot read the ONNX model (ENOENT); expected a readable .onnx file`);
  });

  it('says which IR version onnxruntime supports for a model from a newer ONNX', async () => {
    const file = save('ir99.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: { weights: [[1, 0, 0]], bias: [0] }, activation: 'sigmoid', irVersion: 99 }));
    const error = await loadOnnxBackbone(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}: model IR version 99 is newer than onnxruntime-node [\\d.]+ supports; expected IR version <= \\d+ \\(re-export with an older ONNX\\)$`));
  });

  it('says which opset onnxruntime supports for a model with a newer opset', async () => {
    const file = save('opset99.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: { weights: [[1, 0, 0]], bias: [0] }, activation: 'sigmoid', opset: 99 }));
    const error = await loadOnnxBackbone(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/opset99\.onnx: model uses opset 99 of ai\.onnx, newer than onnxruntime-node [\d.]+ supports; expected opset <= \d+ \(re-export with an older opset\)$/);
    expect((error as Error).message).not.toContain('\n');
  });

  it('rejects bad threads and batchSize options by name', async () => {
    const file = save('good.onnx', good());
    await expect(loadOnnxBackbone(file, { threads: 0 })).rejects.toThrow('threads: expected a positive integer, received 0');
    await expect(loadOnnxBackbone(file, { batchSize: 1.5 })).rejects.toThrow('batchSize: expected a positive integer, received 1.5');
  });
});

describe('OnnxBackbone.close', () => {
  it('releases the session: a later embed says the backbone was closed, a second close is harmless', async () => {
    const file = save('closing.onnx', makeMlpClassifier({ hidden: [HIDDEN], head: { weights: [[1, 0, 0]], bias: [0] }, activation: 'sigmoid' }));
    const bb = await loadOnnxBackbone(file);
    await bb.close();
    await bb.close();
    await expect(bb.embed(X)).rejects.toThrow(`${file}: the backbone was closed; load it again to embed more rows`);
  });
});
