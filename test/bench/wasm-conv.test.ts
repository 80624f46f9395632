import { describe, it, expect } from 'vitest';
import * as ort from 'onnxruntime-node';
import { WasmConv, type ConvShape } from '../../bench/_wasm-conv.ts';
import { withDerivedFilters } from '../../src/backbone/cnn/filter-feeds.ts';
import { buildConvLayerGraph } from '../../src/backbone/cnn/network.ts';
import { nchwcBlockSize } from '../../src/backbone/cnn/nchwc.ts';
import { createRng } from '../../src/rng.ts';

/**
 * The WebAssembly im2col + GEMM convolution (the engine measured against onnxruntime in bench/cnn-engines.ts) gives
 * onnxruntime's results: y from its Conv, dx and dw from the network's backward rules (buildConvLayerGraph).
 */
async function compare(s: ConvShape, seed: number, nchwcBlock = 0): Promise<{ y: number; dx: number; dw: number }> {
  const rng = createRng(seed);
  const ho = Math.floor((s.size + 2 * s.pad - s.kernel) / s.stride) + 1;
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
  const x = rand(s.batch * s.cin * s.size * s.size);
  const w = rand(s.cout * s.cin * s.kernel * s.kernel);
  const dy = rand(s.batch * s.cout * ho * ho);
  const graph = buildConvLayerGraph(s.cin, s.cout, s.size, s.kernel, s.stride, s.pad, nchwcBlock);
  const session = await ort.InferenceSession.create(graph.bytes, { intraOpNumThreads: 1 });
  const out = await session.run(withDerivedFilters({
    x: new ort.Tensor('float32', x, [s.batch, s.cin, s.size, s.size]),
    w: new ort.Tensor('float32', w, [s.cout, s.cin, s.kernel, s.kernel]),
    dy: new ort.Tensor('float32', dy, [s.batch, s.cout, ho, ho]),
  }, graph.derived));
  await session.release();
  const conv = await WasmConv.create();
  const y = conv.forward(s, x, w);
  const { dx, dw } = conv.backward(s, x, w, dy);
  const maxDiff = (a: Float32Array, b: Float32Array): number => {
    expect(a.length).toBe(b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)) / (1 + Math.abs(b[i] as number)));
    return m;
  };
  return {
    y: maxDiff(y, out['y']!.data as Float32Array),
    dx: maxDiff(dx as Float32Array, out['dx']!.data as Float32Array),
    dw: maxDiff(dw, out['dw']!.data as Float32Array),
  };
}

describe('WasmConv (im2col + WebAssembly SIMD GEMM)', () => {
  it('matches onnxruntime on a 3x3 stride-1 layer (forward, dx, dw)', async () => {
    const d = await compare({ batch: 3, cin: 5, cout: 6, size: 7, kernel: 3, stride: 1, pad: 1 }, 1);
    expect(d.y).toBeLessThan(1e-5);
    expect(d.dx).toBeLessThan(1e-5);
    expect(d.dw).toBeLessThan(1e-5);
  });

  it('matches onnxruntime on a 3x3 stride-2 layer and a 1x1 stride-2 shortcut (odd sizes: padded GEMM edges)', async () => {
    for (const s of [{ batch: 2, cin: 3, cout: 8, size: 8, kernel: 3, stride: 2, pad: 1 }, { batch: 2, cin: 4, cout: 5, size: 6, kernel: 1, stride: 2, pad: 0 }]) {
      const d = await compare(s, 2);
      expect(d.y, JSON.stringify(s)).toBeLessThan(1e-5);
      expect(d.dx, JSON.stringify(s)).toBeLessThan(1e-5);
      expect(d.dw, JSON.stringify(s)).toBeLessThan(1e-5);
    }
  });

  it('matches onnxruntime on 16x16 maps (the batched im2col form of the weight gradient), stride 1 and 2', async () => {
    for (const s of [{ batch: 2, cin: 3, cout: 4, size: 16, kernel: 3, stride: 1, pad: 1 }, { batch: 2, cin: 3, cout: 4, size: 16, kernel: 3, stride: 2, pad: 1 }, { batch: 2, cin: 3, cout: 4, size: 16, kernel: 1, stride: 2, pad: 0 }]) {
      const d = await compare(s, 3);
      expect(d.y, JSON.stringify(s)).toBeLessThan(1e-5);
      expect(d.dx, JSON.stringify(s)).toBeLessThan(1e-5);
      expect(d.dw, JSON.stringify(s)).toBeLessThan(1e-5);
    }
  });

  it('matches onnxruntime on 3x3 stride-1 layers of 8 channels and more (the shifted-slice form of the weight gradient)', async () => {
    // sums of 100 to 600 float32 products: rounding differences up to a few 1e-5 relative
    for (const s of [{ batch: 3, cin: 8, cout: 6, size: 8, kernel: 3, stride: 1, pad: 1 }, { batch: 2, cin: 12, cout: 8, size: 16, kernel: 3, stride: 1, pad: 1 }]) {
      const d = await compare(s, 4);
      expect(d.y, JSON.stringify(s)).toBeLessThan(5e-5);
      expect(d.dx, JSON.stringify(s)).toBeLessThan(5e-5);
      expect(d.dw, JSON.stringify(s)).toBeLessThan(5e-5);
    }
  });

  it("matches onnxruntime's NCHWc convolutions (forward and dx; the filter reordered in the graph), where this machine has them", async () => {
    const block = await nchwcBlockSize();
    expect([0, 8, 16]).toContain(block);
    const b = Math.max(block, 8);
    // sums of up to 600 float32 products (a few 1e-5 relative); an NCHW input of 3 channels (filter layout OIHWBo), then block-aligned channels, stride 1 and 2 (OIHWBiBo)
    for (const s of [{ batch: 2, cin: 3, cout: 2 * b, size: 8, kernel: 3, stride: 1, pad: 1 }, { batch: 2, cin: b, cout: 2 * b, size: 8, kernel: 3, stride: 1, pad: 1 }, { batch: 2, cin: 2 * b, cout: b, size: 9, kernel: 3, stride: 2, pad: 1 }]) {
      const d = await compare(s, 5, block);
      expect(d.y, JSON.stringify(s)).toBeLessThan(5e-5);
      expect(d.dx, JSON.stringify(s)).toBeLessThan(5e-5);
      expect(d.dw, JSON.stringify(s)).toBeLessThan(5e-5);
    }
  });

  it('rejects a GEMM whose rows are not a multiple of 4', async () => {
    const conv = await WasmConv.create();
    expect(() => conv.gemm(0, 0, 0, 3, 8, 1, 1, 8, 8)).toThrow('m must be a multiple of 4 and n of 8, received 3 x 8');
  });
});
