import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileCnnKernels } from '../../scripts/build-kernels.mjs';
import { CnnEngine, initialWeights } from '../../src/backbone/cnn/engine.ts';
import { CNN_KERNELS_FILE, ImageBatches, ParamMemory } from '../../src/backbone/cnn/kernels.ts';
import { buildGraphs, deriveFilters, describeNetwork } from '../../src/backbone/cnn/network.ts';
import { nchwcBlockSize } from '../../src/backbone/cnn/nchwc.ts';
import { createRng } from '../../src/rng.ts';
import { loadKernelModule } from '../../src/train/_internal/wasm-kernels.ts';
import { inspect, sections } from '../support/wasm-module.ts';

const bytes = new Uint8Array(readFileSync(fileURLToPath(CNN_KERNELS_FILE)));

describe('the CNN kernels module (assembly/cnn/, compiled into src/backbone/cnn/cnn-kernels.wasm)', () => {
  it('is what the AssemblyScript sources compile to now (npm run build:kernels writes it)', async () => {
    const fresh = await compileCnnKernels();
    expect(Buffer.from(fresh).equals(Buffer.from(bytes)), 'cnn-kernels.wasm differs from a fresh compile of assembly/cnn/: run npm run build:kernels').toBe(true);
  });

  it('imports one memory and writes nothing into it (no start, data or data-count section): the regions start at 0', () => {
    const module = loadKernelModule(fileURLToPath(CNN_KERNELS_FILE));
    expect(inspect.imports(module)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }]);
    expect(sections(bytes).map(([id]) => id).filter((id) => id === 0 || id === 8 || id === 11 || id === 12)).toEqual([]);
    expect(inspect.exports(module).map((e) => e.name).sort()).toEqual(['gather', 'images', 'sgd']);
  });
});

describe('ImageBatches', () => {
  /** What output (c, i, j) of an image shifted by (dy, dx) and mirrored when flip is, by definition. */
  function reference(image: Uint8Array, s: number, dy: number, dx: number, flip: boolean): Float32Array {
    const out = new Float32Array(3 * s * s);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < s; i++) {
        for (let j = 0; j < s; j++) {
          const si = i + dy;
          const sj = (flip ? s - 1 - j : j) + dx;
          const v = si >= 0 && si < s && sj >= 0 && sj < s ? image[(si * s + sj) * 3 + c]! : 0;
          out[(c * s + i) * s + j] = (v / 255 - 0.5) / 0.25;
        }
      }
    }
    return out;
  }

  it('normalises bytes to (v/255 - 0.5)/0.25, channels first', () => {
    const pixels = Uint8Array.from([0, 255, 51, 255, 0, 102, 0, 0, 0, 255, 255, 255]); // 2x2, HWC
    const x = new ImageBatches(2, 1).load(pixels, [0], null);
    expect(x.length).toBe(12);
    expect(x[0]).toBeCloseTo(-2, 6); // R of pixel (0,0) = 0
    expect(x[4]).toBeCloseTo(2, 6); // G of pixel (0,0) = 255
    expect(x[8]).toBeCloseTo((51 / 255 - 0.5) / 0.25, 6); // B of pixel (0,0)
    expect(x[1]).toBeCloseTo(2, 6); // R of pixel (0,1)
  });

  it('shifts and mirrors each image as its draws say (dy, dx, mirror per image, in order), zero outside', () => {
    const s = 7;
    const n = 40;
    const seeded = createRng(3);
    const pixels = Uint8Array.from({ length: n * 3 * s * s }, () => seeded.int(256));
    const indices = Int32Array.from({ length: 30 }, (_, r) => (r * 7) % n);
    const batches = new ImageBatches(s, 32);
    const x = batches.load(pixels, indices, { rng: createRng(9), padding: 3 });
    const draws = createRng(9);
    const seen = new Set<string>();
    indices.forEach((idx, r) => {
      const dy = draws.int(7) - 3;
      const dx = draws.int(7) - 3;
      const flip = draws.float() < 0.5;
      seen.add(`${Math.sign(dy)}${Math.sign(dx)}${flip}`);
      const want = reference(pixels.subarray(idx * 3 * s * s, (idx + 1) * 3 * s * s), s, dy, dx, flip);
      expect(Array.from(x.subarray(r * 3 * s * s, (r + 1) * 3 * s * s))).toEqual(Array.from(want));
    });
    // the draws cover shifts up and down, left and right, mirrored and not
    expect(seen.size).toBeGreaterThan(12);
    // shifts as wide as the image leave only zero padding
    const wide = batches.load(pixels, [0, 1, 2, 3, 4, 5, 6, 7], { rng: createRng(1), padding: 9 });
    const wideDraws = createRng(1);
    for (let r = 0; r < 8; r++) {
      const dy = wideDraws.int(19) - 9;
      const dx = wideDraws.int(19) - 9;
      const flip = wideDraws.float() < 0.5;
      expect(Array.from(wide.subarray(r * 3 * s * s, (r + 1) * 3 * s * s))).toEqual(Array.from(reference(pixels.subarray(r * 3 * s * s, (r + 1) * 3 * s * s), s, dy, dx, flip)));
    }
  });

  it('refuses more images than it has room for', () => {
    expect(() => new ImageBatches(2, 1).load(new Uint8Array(24), [0, 1], null)).toThrow('image batches: 2 images, room for 1');
  });
});

describe('ParamMemory', async () => {
  const arch = { size: 16, channels: [8, 16], outputs: 1 };
  const graphs = buildGraphs(arch, { nchwcBlock: await nchwcBlockSize() });
  const { params } = describeNetwork(arch);

  it('makes every derived filter as deriveFilters does, from its resident params or from others, which it leaves as they are', () => {
    expect(graphs.derived.length).toBeGreaterThan(0);
    const memory = new ParamMemory(params, graphs.derived);
    const a = initialWeights(arch, createRng(1)).params;
    const b = initialWeights(arch, createRng(2)).params;
    a.forEach((p, i) => memory.params[i]!.set(p));
    for (const values of [memory.params, b]) {
      memory.derive(values);
      const byName = new Map(params.map((p, i) => [p.name, values[i]!]));
      const want = deriveFilters(graphs.derived, (name) => byName.get(name)!);
      for (const d of graphs.derived) expect(Array.from(memory.filters.get(d.name)!), d.name).toEqual(Array.from(want.get(d.name)!));
    }
    memory.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(a[i]!)));
    // only the filters named
    const [first, second] = graphs.derived;
    memory.derive(a);
    memory.filters.get(second!.name)!.fill(7);
    memory.derive(b, [first!.name]);
    expect(memory.filters.get(second!.name)!.every((v) => v === 7)).toBe(true);
  });

  it('takes SGD steps as torch.optim.SGD does in float32 (g + wd p, then momentum, then p - lr v)', () => {
    const odd = [{ name: 'a', dims: [3, 5], init: 'zero' as const, fan: 1 }, { name: 'b', dims: [7], init: 'zero' as const, fan: 1 }];
    const memory = new ParamMemory(odd, []);
    const rng = createRng(4);
    const p = odd.map((s) => Float32Array.from({ length: s.dims.reduce((x, y) => x * y, 1) }, () => rng.normal()));
    const v = p.map((a) => new Float32Array(a.length));
    p.forEach((a, i) => memory.params[i]!.set(a));
    const f = Math.fround;
    for (let step = 0; step < 3; step++) {
      const [lr, m, wd] = [0.05, 0.9, 5e-4];
      memory.grads.forEach((g, i) => {
        for (let j = 0; j < g.length; j++) g[j] = rng.normal();
        for (let j = 0; j < g.length; j++) {
          const gj = f(g[j]! + f(f(wd) * p[i]![j]!));
          v[i]![j] = f(f(f(m) * v[i]![j]!) + gj);
          p[i]![j] = f(p[i]![j]! - f(f(lr) * v[i]![j]!));
        }
      });
      memory.sgd(lr, m, wd);
      memory.params.forEach((a, i) => expect(Array.from(a), `step ${step}, param ${i}`).toEqual(Array.from(p[i]!)));
    }
  });

  it('in the engine: a training step on the adopted (resident) weights gives the gradients of the same weights held elsewhere', async () => {
    const engine = await CnnEngine.create(arch, { training: true, threads: 1 });
    try {
      const rng = createRng(5);
      const plain = initialWeights(arch, rng);
      const n = 6;
      const x = Float32Array.from({ length: n * 3 * 16 * 16 }, () => rng.normal());
      const target = Float32Array.from({ length: n }, (_, i) => i % 2);
      const first = (await engine.trainStep(plain, x, target, n, 1 / n, 0)).grads.map((g) => Float32Array.from(g));
      const resident = engine.adopt(plain);
      expect(resident.params).not.toBe(plain.params);
      const second = (await engine.trainStep(resident, x, target, n, 1 / n, 0)).grads;
      second.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(first[i]!)));
      // the step moves the resident weights, not the plain ones
      const before = Float32Array.from(plain.params[0]!);
      engine.sgdStep(0.1, 0.9, 0);
      expect(Array.from(plain.params[0]!)).toEqual(Array.from(before));
      expect(resident.params[0]!.some((v, j) => v !== before[j])).toBe(true);
    } finally {
      await engine.release();
    }
  });
});
