import { describe, it, expect } from 'vitest';
import { CnnBackbone, trainCnn, type CnnImageSet } from '../../src/backbone/cnn.ts';
import { matrix } from '../../src/data/matrix.ts';
import { InputError, ShapeError } from '../../src/errors.ts';
import { createRng } from '../../src/rng.ts';
import { synthetic } from '../support/bright-halves.ts';

describe('trainCnn', () => {
  it('learns left-bright vs right-bright images and embeds the same after a JSON round trip', async () => {
    const train = synthetic(64, 8, 1);
    const r = await trainCnn(train, synthetic(16, 8, 2), { channels: [4, 8], epochs: 6, batchSize: 16, learningRate: 0.05, augment: false, seed: 3, threads: 1 });
    expect(r.validationAccuracy).toBe(1);
    expect(r.backbone.embeddingDim).toBe(8);
    const x = matrix(Float32Array.from(train.images.pixels), 64, 8 * 8 * 3);
    const z = await r.backbone.embed(x);
    const predicted = r.head.predict(z);
    let ok = 0;
    for (let i = 0; i < 64; i++) if (predicted[i] === train.y[i]) ok++;
    expect(ok).toBe(64);
    const again = CnnBackbone.fromJSON(JSON.parse(JSON.stringify(r.backbone.toJSON())), 'cnn.json');
    expect(Array.from((await again.embed(x)).data)).toEqual(Array.from(z.data));
    expect(again.parameterCount).toBe(r.backbone.parameterCount);
  });

  it('keepBest false keeps the last epoch; init continues from a trained network (lr 0: the same head)', async () => {
    const train = synthetic(32, 8, 8);
    const validation = synthetic(16, 8, 9);
    const seen: number[] = [];
    const r = await trainCnn(train, validation, { channels: [2, 4], epochs: 3, batchSize: 8, seed: 1, threads: 1, keepBest: false }, (p) => seen.push(p.validationLoss));
    expect(r.bestEpoch).toBe(3);
    expect(r.validationLoss).toBe(seen[2]);
    // lr 0, momentum and weight decay apart, nothing moves but BN's running statistics: the same last layer
    const again = await trainCnn(train, validation, { channels: [2, 4], epochs: 1, batchSize: 8, seed: 2, threads: 1, learningRate: 1e-30, init: r.backbone });
    expect(Array.from(again.head.weights)).toEqual(Array.from(r.head.weights));
    expect(Array.from(again.head.bias)).toEqual(Array.from(r.head.bias));
    await expect(trainCnn(train, validation, { channels: [2, 8], epochs: 1, init: r.backbone })).rejects.toThrow(
      'cnn init: the network is 8 px with channels [2, 4] and classes [a, b], expected 8 px, [2, 8] and [a, b]',
    );
  });

  it('gives bit-identical networks for the same seed', async () => {
    const train = synthetic(32, 8, 4);
    const opts = { channels: [2, 4], epochs: 1, batchSize: 8, seed: 7, threads: 1 };
    const a = await trainCnn(train, null, opts);
    const b = await trainCnn(train, null, opts);
    expect(Array.from(a.head.weights)).toEqual(Array.from(b.head.weights));
  });

  it('calls extraLoss with each batch probabilities and lets it move the network', async () => {
    const train = synthetic(32, 8, 5);
    const seen: number[] = [];
    const opts = { channels: [2, 4], epochs: 1, batchSize: 8, seed: 2, threads: 1, augment: false };
    const plain = await trainCnn(train, null, opts);
    const pushed = await trainCnn(train, null, {
      ...opts,
      extraLoss: (b) => {
        seen.push(b.rows);
        expect(b.probabilities[0]! + b.probabilities[1]!).toBeCloseTo(1, 6);
        const gradient = new Float64Array(b.rows * 2);
        for (let i = 0; i < b.rows; i++) gradient[2 * i + 1] = 5 / b.rows; // push p(class b) down
        return { value: 0, gradient };
      },
    });
    expect(seen).toEqual([8, 8, 8, 8]);
    expect(pushed.head.bias[0]!).toBeLessThan(plain.head.bias[0]!);
  });

  it('trains the same network through the fused step as through forward + backward with an extraLoss of zero', async () => {
    const train = synthetic(32, 8, 6);
    const opts = { channels: [2, 4], epochs: 2, batchSize: 8, seed: 5, threads: 1 };
    const fused = await trainCnn(train, null, opts);
    const split = await trainCnn(train, null, { ...opts, extraLoss: (b) => ({ value: 0, gradient: new Float64Array(b.rows * 2) }) });
    const a = fused.backbone.toJSON().tensors;
    const b = split.backbone.toJSON().tensors;
    let largest = 0;
    for (const name of Object.keys(a)) {
      a[name]!.forEach((v, i) => {
        largest = Math.max(largest, Math.abs(v - b[name]![i]!));
      });
    }
    expect(largest).toBeLessThan(1e-4);
  });

  it('learns three classes with a softmax head (one-hot targets in the fused step)', async () => {
    // class 0: bright left half, 1: bright right half, 2: dark everywhere
    const rng = createRng(8);
    const n = 48;
    const size = 8;
    const pixels = new Uint8Array(n * size * size * 3);
    const y = Int32Array.from({ length: n }, (_, i) => i % 3);
    for (let i = 0; i < n; i++) {
      for (let r = 0; r < size; r++) {
        for (let c = 0; c < size; c++) {
          const bright = y[i] === 2 ? false : (c < size / 2) === (y[i] === 0);
          for (let ch = 0; ch < 3; ch++) pixels[((i * size + r) * size + c) * 3 + ch] = (bright ? 180 : 40) + rng.int(30);
        }
      }
    }
    const set: CnnImageSet = { images: { pixels, n, size }, y, group: new Int32Array(n), classes: ['left', 'right', 'dark'] };
    const r = await trainCnn(set, set, { channels: [4, 8], epochs: 8, batchSize: 12, learningRate: 0.05, augment: false, seed: 1, threads: 1 });
    expect(r.head.classes).toEqual(['left', 'right', 'dark']);
    expect(r.validationAccuracy).toBe(1);
  });

  it('rejects an architecture that does not fit the image size before training', async () => {
    const train = synthetic(4, 12, 1);
    await expect(trainCnn(train, null, { channels: [4, 8, 16] })).rejects.toThrow(InputError);
    await expect(trainCnn(train, null, { channels: [4, 8, 16] })).rejects.toThrow(
      'cnn: input size 12 does not fit channels [4, 8, 16]: the stem pool and 2 stride-2 stages halve the side 3 times, so it must be a multiple of 8 (e.g. 8, 16, 24, 32)',
    );
  });

  it('names the option and the value for bad options, and the sizes for bad pixels', async () => {
    const train = synthetic(4, 8, 1);
    await expect(trainCnn(train, null, { momentum: 1 })).rejects.toThrow('cnn option momentum: expected a number in [0, 1), received 1');
    await expect(trainCnn(train, null, { batchSize: 1 })).rejects.toThrow('cnn option batchSize: expected an integer >= 2, received 1');
    const bad = { ...train, images: { ...train.images, n: 5 } };
    await expect(trainCnn(bad, null, {})).rejects.toThrow(ShapeError);
  });
});
