import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/rng.ts';
import { instantiateKernels, sharedWasmMemory, wasmKernelModule } from '../../src/train/_internal/wasm-kernels.ts';

const module = wasmKernelModule();

describe('the per-row terms of the one-pass binary objective (assembly/row-terms.ts, exp.ts)', () => {
  const memory = sharedWasmMemory(4);
  const kernels = instantiateKernels(module, memory);

  it('exp is Math.exp bit for bit (fdlibm), over the whole float64 range and its edge cases', () => {
    const rng = createRng(3);
    const values = [
      0, -0, Infinity, -Infinity, NaN, 1e-300, -1e-300, 2 ** -28, -(2 ** -29), 0.3465735902799726, -0.3465735902799727,
      1.0397207708399179, -1.0397207708399179, 709.782712893384, 709.79, -745.1332191019411, -745.14, -708.4, -708.3,
      1, -1, 1 + 2 ** -52, 1 - 2 ** -53, 2, 0.5,
    ];
    // every multiple of 2^-10 in -4..4 (1 among them)
    for (let i = -4096; i <= 4096; i++) values.push(i / 1024);
    for (let i = 0; i < 200_000; i++) {
      const u = rng.float();
      values.push(i % 4 === 0 ? -800 * u : i % 4 === 1 ? 6 * (u - 0.5) : i % 4 === 2 ? 1500 * (u - 0.5) : -Math.exp(-60 * u));
    }
    const mismatches = values.filter((x) => !Object.is(kernels.exp(x), Math.exp(x)));
    expect(mismatches).toEqual([]);
  });

  it('exp(1) is E, as V8 special-cases it (fdlibm alone gives 2.7182818284590455, one bit above)', () => {
    expect(kernels.exp(1)).toBe(Math.E);
    expect(kernels.exp(1)).toBe(Math.exp(1));
    // the next float64 on either side takes fdlibm's path, as in V8
    expect(kernels.exp(1 + 2 ** -52)).toBe(Math.exp(1 + 2 ** -52));
    expect(kernels.exp(1 - 2 ** -53)).toBe(Math.exp(1 - 2 ** -53));
  });

  it("terms gives each row's float64 terms and float32 list entries exactly as the JavaScript loop would", () => {
    const count = 40;
    const groups = 3;
    const cells = 2 * groups;
    const list = 44;
    const rowBytes = 2048;
    const [zAt, codesAt, listsAt, g1At, g2At, lengthsAt, scalarsAt, productAt] = [0, 256, 512, 1600, 2700, 3800, 3840, 4096];
    const heap = new Float32Array(memory.buffer);
    const ints = new Int32Array(memory.buffer);
    const rng = createRng(5);
    const z = new Float32Array(count);
    const codes = new Int32Array(count);
    for (let r = 0; r < count; r++) {
      z[r] = r === 3 ? 0 : r === 4 ? -90 : r === 5 ? 800 : 8 * (rng.float() - 0.5);
      codes[r] = Math.floor(rng.float() * cells);
    }
    heap.set(z, zAt / 4);
    ints.set(codes, codesAt / 4);
    new Float64Array(memory.buffer, scalarsAt, cells * 5).fill(0.25);
    new Float64Array(memory.buffer, productAt, cells).fill(1);
    const bias = 0.125;
    const rowAt = 1 << 16;
    kernels.terms(zAt, codesAt, count, groups, bias, rowAt, rowBytes, listsAt, g1At, g2At, list, lengthsAt, scalarsAt, productAt);

    // the loop the kernel replaced (cell-pass.mjs before it), in float64 with Math.exp
    const scalars = new Float64Array(cells * 5).fill(0.25);
    const product = new Float64Array(cells).fill(1);
    const length = new Int32Array(cells);
    const lists = new Int32Array(cells * list);
    const g1 = new Float32Array(cells * list);
    const g2 = new Float32Array(cells * list);
    for (let r = 0; r < count; r++) {
      const code = codes[r]!;
      const zr = z[r]! + bias;
      const e = Math.exp(zr >= 0 ? -zr : zr);
      const p = zr >= 0 ? 1 / (1 + e) : e / (1 + e);
      const y = code >= groups ? 1 : 0;
      const t = y === 1 ? -zr : zr;
      const s = code * 5;
      scalars[s] = scalars[s]! + 1;
      scalars[s + 1] = scalars[s + 1]! + p;
      scalars[s + 2] = scalars[s + 2]! + (t > 0 ? t : 0);
      product[code] = product[code]! * (1 + e);
      scalars[s + 3] = scalars[s + 3]! + (p - y);
      scalars[s + 4] = scalars[s + 4]! + p * (1 - p);
      const slot = code * list + length[code]!++;
      lists[slot] = rowAt + r * rowBytes;
      g1[slot] = p - y;
      g2[slot] = p * (1 - p);
    }
    expect(Array.from(new Float64Array(memory.buffer, scalarsAt, cells * 5))).toEqual(Array.from(scalars));
    expect(Array.from(new Float64Array(memory.buffer, productAt, cells))).toEqual(Array.from(product));
    expect(Array.from(ints.subarray(lengthsAt / 4, lengthsAt / 4 + cells))).toEqual(Array.from(length));
    for (let c = 0; c < cells; c++) {
      const from = c * list;
      const to = from + length[c]!;
      expect(Array.from(ints.subarray(listsAt / 4 + from, listsAt / 4 + to))).toEqual(Array.from(lists.subarray(from, to)));
      expect(Array.from(heap.subarray(g1At / 4 + from, g1At / 4 + to))).toEqual(Array.from(g1.subarray(from, to)));
      expect(Array.from(heap.subarray(g2At / 4 + from, g2At / 4 + to))).toEqual(Array.from(g2.subarray(from, to)));
    }
    expect(length.reduce((a, b) => a + b, 0)).toBe(count);
  });

  it('flush adds float32 block sums into float64 totals and clears them', () => {
    const count = 37;
    const [accAt, totAt] = [8192, 16384];
    const acc = new Float32Array(memory.buffer, accAt, count);
    const tot = new Float64Array(memory.buffer, totAt, count);
    const rng = createRng(9);
    const a = Float32Array.from({ length: count }, () => rng.normal());
    const t = Float64Array.from({ length: count }, () => rng.normal());
    acc.set(a);
    tot.set(t);
    kernels.flush(accAt, totAt, count);
    expect(Array.from(tot)).toEqual(Array.from(t, (v, j) => v + a[j]!));
    expect(acc.every((v) => v === 0)).toBe(true);
  });
});
