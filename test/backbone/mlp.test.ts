import { describe, it, expect } from 'vitest';
import { matrix, type Matrix } from '../../src/data/matrix.ts';
import type { EmbeddingSet } from '../../src/data/dataset.ts';
import { MlpBackbone, trainMlp, type MlpExtraLoss, type MlpProgress } from '../../src/backbone/mlp.ts';
import { addProbabilityGradient, crossEntropy, MlpParams, MlpWorkspace } from '../../src/backbone/_internal/mlp-net.ts';
import { createRng } from '../../src/rng.ts';
import { InputError, ShapeError } from '../../src/errors.ts';
import { loadTabular } from '../../src/data/load-tabular.ts';
import { join } from 'node:path';
import { REPO } from '../support/data.ts';

const adultFile = (name: string): string => join(REPO, 'data', 'adult', name);

/** Points near the 4 corners (+-1, +-1); class 1 when the signs differ (XOR): no linear model beats ~0.5. */
function xorSet(n: number, seed: number): EmbeddingSet {
  const r = createRng(seed);
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  const group = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const a = r.float() < 0.5 ? -1 : 1;
    const b = r.float() < 0.5 ? -1 : 1;
    x[2 * i] = a + 0.3 * r.normal();
    x[2 * i + 1] = b + 0.3 * r.normal();
    y[i] = a === b ? 0 : 1;
    group[i] = a > 0 ? 1 : 0;
  }
  return { x: matrix(x, n, 2), y, classes: ['same', 'differ'], group, groupNames: ['left', 'right'] };
}

/** Three Gaussian blobs in 2-D centred at (0, 3), (3, 0), (-3, -3); class = blob. */
function blobSet(n: number, seed: number): EmbeddingSet {
  const r = createRng(seed);
  const centres = [[0, 3], [3, 0], [-3, -3]] as const;
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    x[2 * i] = centres[k]![0] + r.normal();
    x[2 * i + 1] = centres[k]![1] + r.normal();
    y[i] = k;
  }
  return { x: matrix(x, n, 2), y, classes: ['a', 'b', 'c'], group: new Int32Array(n), groupNames: ['all'] };
}

function accuracy(predicted: Int32Array, y: Int32Array): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (predicted[i] === y[i]) ok++;
  return ok / y.length;
}

/** Mean cross-entropy + an extra term sum_i c_i * p_i,last^2 of a tiny net, and its gradient by backprop. */
function lossAndGradient(sizes: number[], p: MlpParams, x: Matrix, y: Int32Array, classes: number, withExtra: boolean) {
  const n = x.rows;
  const ws = new MlpWorkspace(sizes, n);
  ws.load(x, 0, n);
  ws.forward(p, n, true);
  const proba = new Float64Array(n * classes);
  const dz = ws.deltas[sizes.length - 2]!;
  let loss = crossEntropy(ws.acts[sizes.length - 1]!, y, n, classes, proba, dz, 1 / n) / n;
  if (withExtra) {
    const gp = new Float64Array(n * classes);
    for (let i = 0; i < n; i++) {
      const k = i * classes + classes - 1;
      loss += (i + 1) * proba[k]! ** 2;
      gp[k] = 2 * (i + 1) * proba[k]!;
    }
    addProbabilityGradient(proba, gp, n, classes, dz);
  }
  const g = new MlpParams(sizes);
  ws.backward(p, g, n);
  return { loss, gradient: g.flat };
}

function gradientCheck(classes: number, withExtra: boolean): number {
  const outputs = classes === 2 ? 1 : classes;
  const sizes = [3, 5, 4, outputs];
  const p = new MlpParams(sizes);
  p.initialise(createRng(7));
  for (const b of p.biases) b.fill(0.1); // keep ReLUs away from their kink at 0
  const r = createRng(3);
  const n = 6;
  const x = matrix(Float32Array.from({ length: n * 3 }, () => r.normal()), n, 3);
  const y = Int32Array.from({ length: n }, (_, i) => i % classes);
  const { gradient } = lossAndGradient(sizes, p, x, y, classes, withExtra);
  let worst = 0;
  const h = 1e-6;
  for (let k = 0; k < p.flat.length; k++) {
    const keep = p.flat[k]!;
    p.flat[k] = keep + h;
    const up = lossAndGradient(sizes, p, x, y, classes, withExtra).loss;
    p.flat[k] = keep - h;
    const down = lossAndGradient(sizes, p, x, y, classes, withExtra).loss;
    p.flat[k] = keep;
    const numeric = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - gradient[k]!) / Math.max(1e-3, Math.abs(numeric) + Math.abs(gradient[k]!)));
  }
  return worst;
}

describe('mlp kernels', () => {
  it('backprop matches central finite differences for a binary 3-5-4-1 net', () => {
    expect(gradientCheck(2, false)).toBeLessThan(1e-6);
  });

  it('backprop matches finite differences for a 3-class softmax net', () => {
    expect(gradientCheck(3, false)).toBeLessThan(1e-6);
  });

  it('an extra loss on the probabilities is chained into the gradient correctly (binary and softmax)', () => {
    expect(gradientCheck(2, true)).toBeLessThan(1e-6);
    expect(gradientCheck(3, true)).toBeLessThan(1e-6);
  });
});

describe('MlpBackbone', () => {
  it('embeds a row as relu(x W + b), with W input-major', async () => {
    // x = [1, -2]; W = [[1, 0], [0.5, -1]] (row c = input c); b = [0.5, -3]
    // h = relu([1*1 + -2*0.5 + 0.5, 1*0 + -2*-1 - 3]) = relu([0.5, -1]) = [0.5, 0]
    const backbone = new MlpBackbone(2, [2], [Float64Array.of(1, 0, 0.5, -1)], [Float64Array.of(0.5, -3)]);
    const z = await backbone.embed(matrix(Float32Array.of(1, -2), 1, 2));
    expect(Array.from(z.data)).toEqual([0.5, 0]);
    expect(backbone.embeddingDim).toBe(2);
    expect(backbone.parameterCount).toBe(6);
    expect(backbone.kind).toBe('mlp');
  });

  it('refuses rows with the wrong number of features, naming both counts', async () => {
    const backbone = new MlpBackbone(2, [1], [Float64Array.of(1, 1)], [Float64Array.of(0)]);
    await expect(backbone.embed(matrix(new Float32Array(3), 1, 3))).rejects.toThrow('mlp backbone expects 2 features, received 3');
  });

  it('refuses JSON that is not an MLP backbone, or has a wrong layer size', () => {
    expect(() => MlpBackbone.fromJSON({ format: 'fairhead.linear-head' }, 'm.json')).toThrow(InputError);
    expect(() => MlpBackbone.fromJSON({ format: 'fairhead.linear-head' }, 'm.json')).toThrow('m.json: not a fairhead MLP backbone');
    const bad = { format: 'fairhead.mlp-backbone', version: 1, activation: 'relu', inputDim: 2, hidden: [2], layers: [{ weights: [1, 2, 3], bias: [0, 0] }] };
    expect(() => MlpBackbone.fromJSON(bad, 'm.json')).toThrow(ShapeError);
    expect(() => MlpBackbone.fromJSON(bad, 'm.json')).toThrow('m.json: mlp backbone: layer 1 weights: expected 2 x 2 = 4 values, received 3');
    expect(() => MlpBackbone.fromJSON({ ...bad, activation: 'tanh' }, 'm.json')).toThrow('unknown activation "tanh". Valid: relu');
  });
});

describe('trainMlp', () => {
  const train = xorSet(400, 1);
  const validation = xorSet(200, 2);

  it('learns XOR-like data that no linear model can separate', async () => {
    const result = await trainMlp(train, validation, { hidden: [16, 8], epochs: 60, batchSize: 32, learningRate: 0.01, seed: 1 });
    const test = xorSet(400, 3);
    const predicted = result.head.predict(await result.backbone.embed(test.x));
    expect(accuracy(predicted, test.y)).toBeGreaterThan(0.95);
    expect(result.validationAccuracy).toBeGreaterThan(0.95);
  });

  it('its head on its embedding reproduces the validation accuracy the trainer measured', async () => {
    const result = await trainMlp(train, validation, { hidden: [8], epochs: 30, learningRate: 0.01, seed: 2 });
    expect(result.backbone.shippedHead).toBe(result.head);
    const predicted = result.head.predict(await result.backbone.embed(validation.x));
    expect(accuracy(predicted, validation.y)).toBeCloseTo(result.validationAccuracy, 10);
  });

  it('gives bit-identical networks for the same seed and different ones for another seed', async () => {
    const options = { hidden: [6, 4], epochs: 5, batchSize: 16, seed: 5 };
    const a = await trainMlp(train, validation, options);
    const b = await trainMlp(train, validation, options);
    const c = await trainMlp(train, validation, { ...options, seed: 6 });
    expect(JSON.stringify(a.backbone.toJSON())).toBe(JSON.stringify(b.backbone.toJSON()));
    expect(JSON.stringify(a.backbone.toJSON())).not.toBe(JSON.stringify(c.backbone.toJSON()));
  });

  it('saves and loads through JSON text with identical embeddings and head', async () => {
    const { backbone } = await trainMlp(train, validation, { hidden: [8, 4], epochs: 3, seed: 4 });
    const again = MlpBackbone.fromJSON(JSON.parse(JSON.stringify(backbone.toJSON())), 'mlp.json');
    expect((await again.embed(validation.x)).data).toEqual((await backbone.embed(validation.x)).data);
    expect(again.shippedHead?.toJSON()).toEqual(backbone.shippedHead?.toJSON());
    expect(again.hidden).toEqual([8, 4]);
  });

  it('stops early and keeps the weights of the best validation epoch', async () => {
    // Labels independent of x: validation loss cannot improve for long.
    const r = createRng(9);
    const noise = (n: number): EmbeddingSet => ({
      ...xorSet(n, Math.floor(r.float() * 1000)),
      y: Int32Array.from({ length: n }, () => (r.float() < 0.5 ? 1 : 0)),
    });
    const seen: MlpProgress[] = [];
    const result = await trainMlp(noise(300), noise(300), { hidden: [32], epochs: 200, learningRate: 0.02, patience: 2, seed: 0 }, (p) => seen.push(p));
    expect(result.epochs).toBeLessThan(200);
    expect(seen.length).toBe(result.epochs);
    expect(result.epochs).toBe(result.bestEpoch + 3); // patience 2: the third epoch without improvement stops
    const bestSeen = seen[result.bestEpoch - 1]!;
    expect(bestSeen.improved).toBe(true);
    expect(result.validationLoss).toBe(bestSeen.validationLoss);
    expect(result.validationLoss).toBe(Math.min(...seen.map((p) => p.validationLoss)));
  });

  it('runs every epoch without early stopping when the validation set is empty, and reports NaN accuracy', async () => {
    const empty: EmbeddingSet = { ...train, x: matrix(new Float32Array(0), 0, 2), y: new Int32Array(0), group: new Int32Array(0) };
    const result = await trainMlp(train, empty, { hidden: [4], epochs: 3, seed: 0 });
    expect(result.epochs).toBe(3);
    expect(result.bestEpoch).toBe(3);
    expect(result.validationAccuracy).toBeNaN();
  });

  it('keepBest false runs every epoch and keeps the last one, still reporting validation and training accuracy', async () => {
    const seen: MlpProgress[] = [];
    const result = await trainMlp(train, validation, { hidden: [8], epochs: 6, learningRate: 0.01, patience: 0, keepBest: false, seed: 1 }, (p) => seen.push(p));
    expect(result.epochs).toBe(6);
    expect(result.bestEpoch).toBe(6);
    expect(result.validationLoss).toBe(seen[5]?.validationLoss);
    const predicted = result.head.predict(await result.backbone.embed(validation.x));
    expect(accuracy(predicted, validation.y)).toBeCloseTo(result.validationAccuracy, 10);
    // the training accuracy of each epoch is over its batches, in [0, 1], and rises on XOR from chance
    expect(seen.every((p) => p.trainAccuracy >= 0 && p.trainAccuracy <= 1)).toBe(true);
    expect(seen[5]!.trainAccuracy).toBeGreaterThan(seen[0]!.trainAccuracy);
  });

  it('init continues from a trained network: with a tiny learning rate its predictions stay those of the network', async () => {
    const first = await trainMlp(train, validation, { hidden: [16, 8], epochs: 30, learningRate: 0.01, seed: 1 });
    const again = await trainMlp(train, validation, { hidden: [16, 8], epochs: 1, learningRate: 1e-9, seed: 7, init: first.backbone });
    const p0 = first.head.predictProba(await first.backbone.embed(validation.x));
    const p1 = again.head.predictProba(await again.backbone.embed(validation.x));
    let worst = 0;
    for (let i = 0; i < p0.length; i++) worst = Math.max(worst, Math.abs(p0[i]! - p1[i]!));
    expect(worst).toBeLessThan(1e-5);
    expect(again.validationAccuracy).toBeGreaterThan(0.95);
    await expect(trainMlp(train, validation, { hidden: [16, 4], epochs: 1, init: first.backbone })).rejects.toThrow(
      'mlp init: the network has 2 inputs and hidden [16, 8], expected 2 and [16, 4]',
    );
  });

  it('the onnxruntime engine trains the same network as the own kernels, in float32 (first epoch loss to 1e-5)', async () => {
    const seenOwn: MlpProgress[] = [];
    const seenOrt: MlpProgress[] = [];
    const own = await trainMlp(train, validation, { hidden: [16, 8], epochs: 3, seed: 2 }, (p) => seenOwn.push(p));
    const ort = await trainMlp(train, validation, { hidden: [16, 8], epochs: 3, seed: 2, engine: 'onnxruntime', threads: 1 }, (p) => seenOrt.push(p));
    expect(Math.abs(seenOwn[0]!.trainLoss - seenOrt[0]!.trainLoss)).toBeLessThan(1e-5);
    expect(Math.abs(own.validationLoss - ort.validationLoss)).toBeLessThan(1e-3);
    expect(ort.backbone.engine).toBe('onnxruntime');
    // its backbone embeds through onnxruntime too, as the own kernels would (float32 rounding apart)
    const a = await ort.backbone.embed(validation.x);
    const b = await MlpBackbone.fromJSON(ort.backbone.toJSON()).embed(validation.x);
    let worst = 0;
    for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i]! - b.data[i]!));
    expect(worst).toBeLessThan(1e-4);
    await expect(trainMlp(train, validation, { engine: 'gpu' as 'own' })).rejects.toThrow('mlp option engine: unknown engine "gpu". Valid: own, onnxruntime');
  });

  it('trains a 3-class softmax MLP whose head has 3 outputs', async () => {
    const result = await trainMlp(blobSet(300, 1), blobSet(150, 2), { hidden: [8], epochs: 30, learningRate: 0.01, seed: 0 });
    expect(result.head.outputs).toBe(3);
    expect(result.validationAccuracy).toBeGreaterThan(0.9);
  });

  it('adds an extra loss term: a penalty on the mean positive probability pulls it down', async () => {
    const meanPositive = async (extraLoss?: MlpExtraLoss): Promise<number> => {
      const { backbone, head } = await trainMlp(train, validation, { hidden: [8], epochs: 10, learningRate: 0.01, seed: 3, ...(extraLoss ? { extraLoss } : {}) });
      const p = head.predictProba(await backbone.embed(validation.x));
      let m = 0;
      for (let i = 0; i < validation.x.rows; i++) m += p[2 * i + 1]! / validation.x.rows;
      return m;
    };
    // value = 5 * mean_i p_i, so d value / d p_i = 5 / rows (on the positive column)
    const push: MlpExtraLoss = (b) => {
      let m = 0;
      const gradient = new Float64Array(b.rows * 2);
      for (let i = 0; i < b.rows; i++) {
        m += b.probabilities[2 * i + 1]! / b.rows;
        gradient[2 * i + 1] = 5 / b.rows;
      }
      return { value: 5 * m, gradient };
    };
    const plain = await meanPositive();
    const pushed = await meanPositive(push);
    expect(plain).toBeGreaterThan(0.35);
    expect(pushed).toBeLessThan(0.15);
  });

  it('refuses bad options with a message naming the option and the valid choices', async () => {
    await expect(trainMlp(train, validation, { activation: 'tanh' as 'relu' })).rejects.toThrow('mlp option activation: unknown activation "tanh". Valid: relu');
    await expect(trainMlp(train, validation, { hidden: [] })).rejects.toThrow('mlp option hidden: expected one or more layer sizes');
    await expect(trainMlp(train, validation, { batchSize: 0 })).rejects.toThrow('mlp option batchSize: expected an integer >= 1, received 0');
    await expect(trainMlp(train, validation, { learningRate: -1 })).rejects.toThrow(InputError);
  });

  it('refuses a validation set whose features or classes differ from training', async () => {
    await expect(trainMlp(train, blobSet(30, 1))).rejects.toThrow('mlp: validation classes [a, b, c] differ from training classes [same, differ]');
    const wide: EmbeddingSet = { ...validation, x: matrix(new Float32Array(200 * 3), 200, 3) };
    await expect(trainMlp(train, wide)).rejects.toThrow('mlp: validation has 3 features, training has 2');
  });
});

describe('trainMlp on real data (UCI Adult)', () => {
  it('reaches at least 0.84 test accuracy after 3 epochs of a small MLP', async () => {
    const { train, validation, test } = loadTabular({
      train: adultFile('adult.data'), test: adultFile('adult.test'), target: 'Y', positive: '>50K', sensitive: ['sex'],
      validationFraction: 0.2, seed: 0,
    });
    const result = await trainMlp(train, validation, { hidden: [32], epochs: 3, seed: 0 });
    expect(result.epochs).toBe(3);
    expect(result.backbone.embeddingDim).toBe(32);
    const predicted = result.head.predict(await result.backbone.embed(test.x));
    expect(test.x.rows).toBe(16281);
    expect(accuracy(predicted, test.y)).toBeGreaterThanOrEqual(0.84);
  }, 60_000);
});
