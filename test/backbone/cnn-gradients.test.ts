import * as ort from 'onnxruntime-node';
import { describe, it, expect } from 'vitest';
import { CnnEngine, initialWeights } from '../../src/backbone/cnn/engine.ts';
import { withDerivedFilters } from '../../src/backbone/cnn/filter-feeds.ts';
import { nchwcBlockSize } from '../../src/backbone/cnn/nchwc.ts';
import { buildGraphs, describeNetwork, type CnnGraphs } from '../../src/backbone/cnn/network.ts';
import { createRng } from '../../src/rng.ts';

/**
 * Every layer's gradient (each conv, BN gamma/beta, the linear layer) from the ONNX backward graph against central
 * finite differences of L = sum_i r_i . logits_i (so dL/dlogits = r), on a tiny net: 8x8 input, stages of 2 and
 * 3 channels (stem conv + BN + ReLU + maxpool, an identity block, a stride-2 block with a 1x1 shortcut).
 */
interface Check { name: string; analytic: number; numeric: number; forward: number; backward: number }

async function check(outputs: number, seed: number, size = 8, channels = [2, 3], samples = 3): Promise<Check[]> {
  const arch = { size, channels, outputs };
  const engine = await CnnEngine.create(arch, { training: true, threads: 1 });
  const w = initialWeights(arch, createRng(seed));
  const rng = createRng(seed + 100);
  for (const p of w.params) for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) + 0.1 * rng.normal(); // break BN's gamma=1/beta=0 symmetry
  const n = 4;
  const x = new Float32Array(n * 3 * size * size);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const r = new Float32Array(n * outputs);
  for (let i = 0; i < r.length; i++) r[i] = rng.normal();
  const loss = async (): Promise<number> => {
    const { logits } = await engine.forward(w, x, n, 0);
    let s = 0;
    for (let i = 0; i < r.length; i++) s += (r[i] as number) * (logits[i] as number);
    return s;
  };
  const { saved } = await engine.forward(w, x, n, 0);
  const grads = await engine.backward(w, saved, r, n);
  const results: Check[] = [];
  const base = await loss();
  const h = 1e-3;
  for (let k = 0; k < engine.params.length; k++) {
    const p = w.params[k] as Float32Array;
    for (const i of [...new Set(Array.from({ length: samples }, (_, j) => Math.round((j * (p.length - 1)) / (samples - 1))))]) {
      const old = p[i] as number;
      p[i] = old + h;
      const up = await loss();
      p[i] = old - h;
      const down = await loss();
      p[i] = old;
      results.push({
        name: `${engine.params[k]!.name}[${i}]`, analytic: grads[k]![i] as number,
        numeric: (up - down) / (2 * h), forward: (up - base) / h, backward: (base - down) / h,
      });
    }
  }
  await engine.release();
  return results;
}

/**
 * |analytic - numeric| <= 1e-3 + 1e-2 |numeric| (float32 forward, h = 1e-3), where numeric is the central
 * difference or, when a ReLU or maxpool kink lies within h of the point (the two one-sided differences then
 * disagree), the one-sided difference on the smooth side: the closest of the three.
 */
function expectClose(results: Check[]): void {
  for (const r of results) {
    const err = Math.min(...[r.numeric, r.forward, r.backward].map((v) => Math.abs(r.analytic - v)));
    expect(err, r.name).toBeLessThan(1e-3 + 1e-2 * Math.abs(r.numeric));
  }
  // the smooth case dominates: most central differences agree on their own
  const central = results.filter((r) => Math.abs(r.analytic - r.numeric) <= 1e-3 + 1e-2 * Math.abs(r.numeric));
  expect(central.length).toBeGreaterThan(0.8 * results.length);
}

describe('cnn backward graph', () => {
  it('matches finite differences for every layer with one logit (binary head)', async () => {
    const results = await check(1, 3);
    if (process.env.SHOW) console.table(results);
    expect(new Set(results.map((r) => r.name.split('[')[0])).size).toBe(20); // 6 convs, 6 BN gamma + 6 beta, fc_w, fc_b
    expectClose(results);
    // not trivially zero: most gradients carry signal
    expect(results.filter((r) => Math.abs(r.analytic) > 1e-3).length).toBeGreaterThan(results.length / 2);
  });

  it('matches finite differences with three logits (softmax head)', async () => {
    const results = await check(3, 5);
    if (process.env.SHOW) console.table(results);
    expectClose(results);
  });

  it('matches finite differences on 32x32 input (weight gradients of maps of 16 px and more: the batched im2col form)', async () => {
    const results = await check(1, 9, 32);
    if (process.env.SHOW) console.table(results);
    expectClose(results);
    expect(results.filter((r) => Math.abs(r.analytic) > 1e-3).length).toBeGreaterThan(results.length / 2);
  });

  it('matches finite differences with 8 channels on 8x8 maps (weight gradients from shifted windows of the flattened maps)', async () => {
    // the 3x3 convolutions of the first stage (8 channels in and out, 8x8 maps); with 8 channels the stem's
    // float32 central differences are noisier than the tolerance, and its gradient is the im2col form tested above
    const results = (await check(1, 13, 16, [8, 8], 12)).filter((r) => /^s0_conv[12]\[/.test(r.name));
    if (process.env.SHOW) console.table(results);
    expect(results.length).toBe(24);
    expectClose(results);
    expect(results.filter((r) => Math.abs(r.analytic) > 1e-3).length).toBeGreaterThan(results.length / 2);
  });
});

describe('cnn NCHWc convolutions', () => {
  it("give the plain graph's logits and gradients for one training step (channels 16, 32; 16x16 input)", async () => {
    const block = await nchwcBlockSize();
    expect([0, 8, 16]).toContain(block);
    const arch = { size: 16, channels: [16, 32], outputs: 1 };
    const blocked = buildGraphs(arch, { nchwcBlock: block });
    const plain = buildGraphs(arch, { nchwcBlock: 0 });
    const uses = (bytes: Uint8Array): boolean => Buffer.from(bytes).includes('com.microsoft.nchwc');
    expect(uses(plain.train)).toBe(false);
    expect(uses(blocked.train)).toBe(block > 0); // without the kernel (block 0) the graphs stay plain ONNX
    const rng = createRng(21);
    const w = initialWeights(arch, rng);
    const n = 6;
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor('float32', Float32Array.from({ length: n * 3 * 16 * 16 }, () => rng.normal()), [n, 3, 16, 16]),
      target: new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => i % 2), [n, 1]),
      scale: new ort.Tensor('float32', Float32Array.of(1 / n), []),
    };
    const { params } = describeNetwork(arch);
    params.forEach((p, i) => (feeds[p.name] = new ort.Tensor('float32', w.params[i] as Float32Array, p.dims as number[])));
    const run = async (graphs: CnnGraphs): Promise<ort.InferenceSession.OnnxValueMapType> => {
      const session = await ort.InferenceSession.create(graphs.train, { intraOpNumThreads: 1 });
      try {
        return await session.run(withDerivedFilters(feeds, graphs.derived, session.inputNames));
      } finally {
        await session.release();
      }
    };
    const [a, b] = [await run(plain), await run(blocked)];
    for (const name of ['logits', ...params.map((p) => `grad_${p.name}`)]) {
      const x = (a[name] as ort.Tensor).data as Float32Array;
      const y = (b[name] as ort.Tensor).data as Float32Array;
      let diff = 0;
      let norm = 0;
      x.forEach((v, i) => {
        diff += (v - (y[i] as number)) ** 2;
        norm += v * v;
      });
      expect(norm, name).toBeGreaterThan(0);
      expect(Math.sqrt(diff / norm), name).toBeLessThan(1e-4);
    }
  });
});

describe('cnn fused training step', () => {
  /** trainStep's gradients against backward() fed with d(scale x cross-entropy)/dlogits = scale (act(z) - target). */
  async function compare(outputs: number, seed: number): Promise<void> {
    const arch = { size: 8, channels: [2, 3], outputs };
    const engine = await CnnEngine.create(arch, { training: true, threads: 1 });
    const w = initialWeights(arch, createRng(seed));
    const rng = createRng(seed + 7);
    for (const p of w.params) for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) + 0.1 * rng.normal();
    const n = 5;
    const x = new Float32Array(n * 3 * 64);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const target = new Float32Array(n * outputs);
    for (let i = 0; i < n; i++) target[outputs === 1 ? i : i * outputs + rng.int(outputs)] = outputs === 1 ? rng.int(2) : 1;
    const scale = 1 / n;
    const { logits, saved } = await engine.forward(w, x, n, 0);
    const dlogits = new Float32Array(n * outputs);
    for (let i = 0; i < n; i++) {
      const z = Array.from(logits.subarray(i * outputs, (i + 1) * outputs));
      const act = outputs === 1 ? [1 / (1 + Math.exp(-(z[0] as number)))] : z.map((v) => Math.exp(v) / z.reduce((s, u) => s + Math.exp(u), 0));
      act.forEach((a, j) => { dlogits[i * outputs + j] = scale * (a - (target[i * outputs + j] as number)); });
    }
    const expected = await engine.backward(w, saved, dlogits, n);
    const step = await engine.trainStep(w, x, target, n, scale, 0);
    expect(Array.from(step.logits)).toEqual(Array.from(logits.subarray(0, n * outputs)));
    expect(step.grads.length).toBe(expected.length);
    let nonzero = 0;
    step.grads.forEach((g, k) => {
      const e = expected[k] as Float32Array;
      expect(g.length, engine.params[k]!.name).toBe(e.length);
      for (let i = 0; i < g.length; i++) {
        expect(Math.abs((g[i] as number) - (e[i] as number)), `${engine.params[k]!.name}[${i}]`).toBeLessThan(1e-5 + 1e-4 * Math.abs(e[i] as number));
        if (Math.abs(e[i] as number) > 1e-4) nonzero++;
      }
    });
    expect(nonzero).toBeGreaterThan(20);
    await engine.release();
  }

  it('gives the logits and gradients of forward + backward with one logit (sigmoid)', async () => {
    await compare(1, 11);
  });

  it('gives the logits and gradients of forward + backward with three logits (softmax)', async () => {
    await compare(3, 12);
  });
});
