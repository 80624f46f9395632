/**
 * `npm run bench -- cnn-engines` (also run by `npm run bench -- cnn`): the engine choice of the cnn backbone, measured.
 * Every convolution layer of the network (batch 64, 64x64 input, channels 16-32-64-128), forward and backward (y, dx,
 * dw), by
 * - onnxruntime-node: the layer graph with the network's own backward rules (buildConvLayerGraph), 2 and 1 intra-op
 *   threads;
 * - our own kernels: im2col + the WebAssembly SIMD GEMM of bench/_wasm-conv.ts, bench/assembly/conv-gemm.ts (1 thread).
 * Runs alternate (engine A, B, C, A, B, C, ...), the median of `CNN_ENGINE_REPS` (default 5) runs per layer and
 * engine is kept. Both sides take and give NCHW float32 arrays in JavaScript memory (copies included).
 * Writes bench/results/cnn-engines.json.
 */
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { nchwcBlockSize } from '../src/backbone/cnn/nchwc.ts';
import { withDerivedFilters } from '../src/backbone/cnn/filter-feeds.ts';
import { buildConvLayerGraph } from '../src/backbone/cnn/network.ts';
import { WasmConv, type ConvShape } from './_wasm-conv.ts';
import { createRng } from '../src/rng.ts';
import { writeResult } from './machine.ts';

const reps = Number(process.env['CNN_ENGINE_REPS'] ?? 5);
const batch = 64;
// the network's convolutions: stem, then per stage conv1 (stride 1 | 2), conv2, and the 1x1 shortcut when the shape changes
const layers: (ConvShape & { name: string })[] = [{ name: 'stem', batch, cin: 3, cout: 16, size: 64, kernel: 3, stride: 1, pad: 1 }];
let cin = 16;
let size = 32;
[16, 32, 64, 128].forEach((cout, s) => {
  const stride = s === 0 ? 1 : 2;
  layers.push({ name: `s${s}_conv1`, batch, cin, cout, size, kernel: 3, stride, pad: 1 });
  layers.push({ name: `s${s}_conv2`, batch, cin: cout, cout, size: size / stride, kernel: 3, stride: 1, pad: 1 });
  if (stride !== 1 || cin !== cout) layers.push({ name: `s${s}_down`, batch, cin, cout, size, kernel: 1, stride, pad: 0 });
  cin = cout;
  size /= stride;
});

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const rng = createRng(0);
const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal());
const wasm = await WasmConv.create();
/** The cnn engine's convolutions: onnxruntime's NCHWc kernels where the machine has them (src/backbone/cnn/nchwc.ts). */
const nchwcBlock = await nchwcBlockSize();
process.stdout.write(`conv layers forward + backward, batch ${batch}, load ${os.loadavg()[0]!.toFixed(1)}\n`);
interface LayerRow {
  layer: string; shape: string; multiplyAdds: number; ortTwoThreadsMs: number; ortOneThreadMs: number; wasmOneThreadMs: number; maxRelativeDifference: number;
}
const rows: LayerRow[] = [];
for (const l of layers) {
  const ho = Math.floor((l.size + 2 * l.pad - l.kernel) / l.stride) + 1;
  const x = rand(l.batch * l.cin * l.size * l.size);
  const w = rand(l.cout * l.cin * l.kernel * l.kernel);
  const dy = rand(l.batch * l.cout * ho * ho);
  const graph = buildConvLayerGraph(l.cin, l.cout, l.size, l.kernel, l.stride, l.pad, nchwcBlock);
  const sessions = await Promise.all([2, 1].map((t) => ort.InferenceSession.create(graph.bytes, {
    executionMode: 'sequential', interOpNumThreads: 1, intraOpNumThreads: t, graphOptimizationLevel: 'all', logSeverityLevel: 3,
  })));
  const feeds = withDerivedFilters({
    x: new ort.Tensor('float32', x, [l.batch, l.cin, l.size, l.size]),
    w: new ort.Tensor('float32', w, [l.cout, l.cin, l.kernel, l.kernel]),
    dy: new ort.Tensor('float32', dy, [l.batch, l.cout, ho, ho]),
  }, graph.derived);
  const times: Record<'ort2' | 'ort1' | 'wasm1', number[]> = { ort2: [], ort1: [], wasm1: [] };
  let maxDiff = 0;
  for (let r = 0; r <= reps; r++) {
    let t = performance.now();
    const out = await (sessions[0] as ort.InferenceSession).run(feeds);
    if (r > 0) times.ort2.push(performance.now() - t);
    t = performance.now();
    await (sessions[1] as ort.InferenceSession).run(feeds);
    if (r > 0) times.ort1.push(performance.now() - t);
    t = performance.now();
    const y = wasm.forward(l, x, w);
    const { dx, dw } = wasm.backward(l, x, w, dy);
    if (r > 0) times.wasm1.push(performance.now() - t);
    if (r === 0) {
      for (const [name, ours] of [['y', y], ['dx', dx], ['dw', dw]] as const) {
        const ref = out[name]!.data as Float32Array;
        for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs((ours as Float32Array)[i]! - ref[i]!) / (1 + Math.abs(ref[i]!)));
      }
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  const macs = l.batch * ho * ho * l.cout * l.cin * l.kernel * l.kernel;
  const row: LayerRow = {
    layer: l.name, shape: `${l.cin}->${l.cout}, ${l.size}x${l.size}, k${l.kernel} s${l.stride}`, multiplyAdds: 3 * macs,
    ortTwoThreadsMs: median(times.ort2), ortOneThreadMs: median(times.ort1), wasmOneThreadMs: median(times.wasm1), maxRelativeDifference: maxDiff,
  };
  rows.push(row);
  process.stdout.write(`  ${row.layer.padEnd(20)} ${row.shape.padEnd(28)} ort 2 thr ${row.ortTwoThreadsMs.toFixed(1)} ms, 1 thr ${row.ortOneThreadMs.toFixed(1)} ms | wasm 1 thr ${row.wasmOneThreadMs.toFixed(1)} ms (max rel diff ${maxDiff.toExponential(1)})\n`);
}
// the wasm GEMM alone (no im2col), on the shape of the s0 forward product (16 x 144 times 144 x 65,536): its ceiling
const gemmShape = { m: 16, n: 65536, k: 144 };
const gemmTimes: number[] = [];
for (let r = 0; r <= reps; r++) {
  const t = performance.now();
  wasm.gemm(0, gemmShape.m * gemmShape.k * 4, (gemmShape.m + gemmShape.n) * gemmShape.k * 4, gemmShape.m, gemmShape.n, gemmShape.k, gemmShape.k, gemmShape.n, gemmShape.n);
  if (r > 0) gemmTimes.push(performance.now() - t);
}
const wasmGemmGflops = (2 * gemmShape.m * gemmShape.n * gemmShape.k) / (median(gemmTimes) * 1e6);
const sum = (k: 'ortTwoThreadsMs' | 'ortOneThreadMs' | 'wasmOneThreadMs'): number => rows.reduce((s, r) => s + r[k], 0);
const gflops = (ms: number): number => (2 * rows.reduce((s, r) => s + r.multiplyAdds, 0)) / (ms * 1e6);
const result = {
  command: 'npm run bench -- cnn-engines',
  what: 'every convolution of the cnn backbone (batch 64, 64x64 input): forward + backward (y, dx, dw) from and to JavaScript arrays, median of runs that alternate between engines',
  engines: {
    onnxruntime: `onnxruntime-node 1.30 CPU (MLAS) running the layer graph with the network's backward rules (buildConvLayerGraph)${nchwcBlock ? `, 3x3 convolutions on its NCHWc kernels (block ${nchwcBlock})` : ''}`,
    wasm: 'own kernels: im2col / col2im in TypeScript + a 4x8 register-blocked WebAssembly SIMD (f32x4) GEMM, one thread (bench/_wasm-conv.ts, bench/assembly/conv-gemm.ts)',
  },
  totalMs: { ortTwoThreads: sum('ortTwoThreadsMs'), ortOneThread: sum('ortOneThreadMs'), wasmOneThread: sum('wasmOneThreadMs') },
  gflops: { ortTwoThreads: gflops(sum('ortTwoThreadsMs')), ortOneThread: gflops(sum('ortOneThreadMs')), wasmOneThread: gflops(sum('wasmOneThreadMs')) },
  wasmGemmOnlyGflops: wasmGemmGflops,
  why: 'WebAssembly SIMD has 128-bit vectors and no fused multiply-add (relaxed SIMD is off in Node 20), MLAS uses 256-bit AVX2 FMA; the TypeScript im2col / col2im copies add to that',
  wasmOverOrtSameThreads: sum('wasmOneThreadMs') / sum('ortOneThreadMs'),
  wasmOverOrtTwoThreads: sum('wasmOneThreadMs') / sum('ortTwoThreadsMs'),
  chosen: 'onnxruntime',
  layers: rows,
  loadAverage: os.loadavg()[0],
};
writeResult('cnn-engines', result);
process.stdout.write(`total: ort 2 threads ${result.totalMs.ortTwoThreads.toFixed(0)} ms, 1 thread ${result.totalMs.ortOneThread.toFixed(0)} ms | wasm 1 thread ${result.totalMs.wasmOneThread.toFixed(0)} ms -> wasm / ort (1 thread each) ${result.wasmOverOrtSameThreads.toFixed(2)}\n`);
