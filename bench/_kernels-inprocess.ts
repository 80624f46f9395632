/**
 * Once, for the port of the head kernels to AssemblyScript: their speed against the hand-assembled module on one
 * thread, both instantiated over the same shared memory (the same X: bench/head.ts's 160,000 x 512 train split,
 * and its first 6,100 rows, an M2 set's size), their calls alternated (hand, as / as, hand, ...) so that the
 * machine's load falls on both alike. Timed: the one-pass objective (cell-pass.mjs), the two-half pass
 * (cell-halves.mjs), and the products fwd1 + bwd1. Prints one JSON line per measure (medians, and the median of
 * the pairs' as / hand ratios) and checks that both give the same sums.
 *
 *     npx tsx bench/_kernels-inprocess.ts [MODULE.wasm]     (after npm run bench -- head has cached the data)
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import os from 'node:os';
import { CELL_SCALARS, cellScratchBytes, cellStride, createCellPass } from '../src/train/_internal/cell-pass.mjs';
import { CellHalves, halvesScratchBytes } from '../src/train/_internal/cell-halves.mjs';
import { MAX_PAGES, type WasmKernels, type WasmMemory } from '../src/train/_internal/wasm-kernels.ts';
import { wasmKernelBytes } from '../src/train/_internal/wasm-kernels-hand.ts';
import { createRng } from '../src/train/rng.ts';

const W = (globalThis as unknown as { WebAssembly: {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: WasmKernels };
} }).WebAssembly;
const file = process.argv[2] ?? new URL('../src/train/_internal/head-kernels.wasm', import.meta.url).pathname;
const dir = new URL('./work/head-synth/', import.meta.url).pathname;
const d = 512;
const n = 160_000;
const xBytes = n * d * 4;
const SCRATCH = 64 << 20;
const memory = new W.Memory({ initial: Math.ceil((xBytes + 2 * SCRATCH) / 65536), maximum: MAX_PAGES, shared: true });
const buffer = memory.buffer as ArrayBuffer;
const view = new Uint8Array(buffer, 0, xBytes);
const fd = openSync(`${dir}train.bin`, 'r');
for (let at = 0; at < xBytes; ) at += readSync(fd, view, at, Math.min(1 << 26, xBytes - at), at);
closeSync(fd);
const labels = new Int32Array(readFileSync(`${dir}train.labels`).buffer.slice(0));
const codes = new Int32Array(n);
for (let i = 0; i < n; i++) codes[i] = labels[i]! * 2 + labels[n + i]!;
type Variant = 'hand' | 'as';
const kernels: Record<Variant, WasmKernels> = {
  hand: new W.Instance(new W.Module(wasmKernelBytes(MAX_PAGES)), { env: { mem: memory } }).exports,
  as: new W.Instance(new W.Module(readFileSync(file)), { env: { memory } }).exports,
};
const rng = createRng(1);
const w = Float64Array.from({ length: d }, () => 0.01 * rng.normal());
const b = Float64Array.of(0.1);
const groups = 2;
const cells = 4;

/** Each variant's three measures over the first `rows` rows, in scratch of its own after X. */
function measures(rows: number) {
  const out = { hand: new Float64Array(cells * cellStride(d)), as: new Float64Array(cells * cellStride(d)) };
  const halvesOut = { hand: new Float64Array(cells * CELL_SCALARS + d), as: new Float64Array(cells * CELL_SCALARS + d) };
  const of = (v: Variant) => {
    const wAt = v === 'hand' ? xBytes : xBytes + SCRATCH;
    const scratchAt = wAt + 4096;
    const halvesAt = scratchAt + 16 * Math.ceil(cellScratchBytes(d, cells, rows) / 16);
    const coefAt = halvesAt + 16 * Math.ceil(halvesScratchBytes(d, cells, rows) / 16);
    new Float64Array(buffer, coefAt, 2 * cells).set([0.3, -0.2, 0.1, 0.4, -0.5, 0.2, 0.25, -0.1]);
    const wasm = { kernels: kernels[v], memory, wAt };
    const one = createCellPass({ x: null as unknown as Float32Array, xOffset: 0, d, start: 0, end: rows, codes, groups, w, b, out: out[v], outAt: 0, wasm: { ...wasm, scratchAt } });
    const halves = new CellHalves({ xOffset: 0, d, start: 0, end: rows, codes, groups, w, b, out: halvesOut[v], outAt: 0, wasm: { ...wasm, scratchAt: halvesAt, coefAt } });
    const accAt = scratchAt + 4 * rows;
    return {
      one,
      halves: (): void => {
        halves.scalars();
        halves.gradient();
      },
      products: (): void => {
        new Float32Array(buffer, wAt, d).set(w);
        kernels[v].fwd1(0, d, rows, wAt, scratchAt);
        new Float32Array(buffer, accAt, d).fill(0);
        for (let r0 = 0; r0 < rows; r0 += 256) kernels[v].bwd1(r0 * d * 4, d, Math.min(256, rows - r0), scratchAt, accAt);
      },
    };
  };
  return { hand: of('hand'), as: of('as'), out, halvesOut };
}

const median = (v: number[]): number => {
  const s = [...v].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
process.stdout.write(`${JSON.stringify({ loadAvg: os.loadavg()[0] })}\n`);
for (const [rows, reps] of [[160_000, 41], [6_100, 401]] as const) {
  const m = measures(rows);
  for (const what of ['one', 'halves', 'products'] as const) {
    const times: Record<Variant, number[]> = { hand: [], as: [] };
    const ratios: number[] = [];
    for (let r = 0; r < reps; r++) {
      const got = { hand: 0, as: 0 };
      for (const v of r % 2 ? (['as', 'hand'] as const) : (['hand', 'as'] as const)) {
        const t = performance.now();
        m[v][what]();
        got[v] = performance.now() - t;
      }
      if (r === 0) continue; // the first calls run before V8 has optimised them
      times.hand.push(got.hand);
      times.as.push(got.as);
      ratios.push(got.as / got.hand);
    }
    const sameSums = what === 'products' || (what === 'one' ? m.out : m.halvesOut).hand.every((x, i) => Object.is(x, (what === 'one' ? m.out : m.halvesOut).as[i]));
    process.stdout.write(`${JSON.stringify({ rows, what, handMs: median(times.hand), asMs: median(times.as), asOverHand: median(ratios), sameSums, pairs: reps - 1, loadAvg: os.loadavg()[0] })}\n`);
  }
}
