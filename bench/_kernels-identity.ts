/**
 * Once, for the port of the head kernels to AssemblyScript: the hand-assembled module and the compiled one
 * (src/train/_internal/head-kernels.wasm, or the file given), each over its own shared memory filled with the same
 * bytes, called with the same arguments: every export, many shapes. Throws at the first call after which the two
 * memories or results differ; exp is compared on 200,000 values (x = 1 aside: V8's special case, which only the new
 * module has).
 *
 *     npx tsx bench/_kernels-identity.ts [MODULE.wasm]
 */
import { readFileSync } from 'node:fs';
import { MAX_PAGES } from '../src/train/_internal/wasm-kernels.ts';
import { wasmKernelBytes } from '../src/train/_internal/wasm-kernels-hand.ts';
import { createRng } from '../src/train/rng.ts';

type Exports = Record<string, (...args: number[]) => number | undefined>;
interface Memory { readonly buffer: ArrayBuffer }
const W = (globalThis as unknown as { WebAssembly: {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => Memory;
  Module: new (b: Uint8Array) => object;
  Instance: new (m: object, i: object) => { exports: Exports };
} }).WebAssembly;
const file = process.argv[2] ?? new URL('../src/train/_internal/head-kernels.wasm', import.meta.url).pathname;
const mk = (): Memory => new W.Memory({ initial: 64, maximum: MAX_PAGES, shared: true });
const memA = mk();
const memB = mk();
const hand = new W.Instance(new W.Module(wasmKernelBytes(MAX_PAGES)), { env: { mem: memA } }).exports;
const asm = new W.Instance(new W.Module(readFileSync(file)), { env: { memory: memB } }).exports;
const rng = createRng(7);
let checks = 0;

/** Random float32 normals everywhere, then `setup`'s values, the same in both memories. */
function fill(setup: (f32: Float32Array, i32: Int32Array, f64: Float64Array) => void = () => {}): void {
  const view = new DataView(memA.buffer);
  for (let i = 0; i < memA.buffer.byteLength; i += 4) view.setFloat32(i, rng.normal(), true);
  setup(new Float32Array(memA.buffer), new Int32Array(memA.buffer), new Float64Array(memA.buffer));
  new Uint8Array(memB.buffer).set(new Uint8Array(memA.buffer));
}
function same(name: string, ra: unknown, rb: unknown): void {
  checks++;
  if (!Object.is(ra, rb)) throw new Error(`${name}: returns ${String(ra)} vs ${String(rb)}`);
  const a = new Uint8Array(memA.buffer);
  const b = new Uint8Array(memB.buffer);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`${name}: memory differs at byte ${i}`);
}
function call(name: string, ...args: number[]): void {
  same(`${name}(${args.join(', ')})`, hand[name]!(...args), asm[name]!(...args));
}

// the linear products
for (const d of [4, 8, 12, 36, 64, 512, 516]) {
  for (const rows of [4, 8, 36, 256]) {
    const w = rows * d * 4;
    const out = w + d * 4 + 64;
    for (const f of ['fwd', 'fwd1', 'bwd', 'bwd1']) {
      fill();
      call(f, 0, d, rows, w, out);
    }
    fill((_, i32) => {
      const perm = rng.permutation(rows);
      for (let r = 0; r < rows; r++) i32[(out + 4096) / 4 + r] = perm[r]! * d * 4;
    });
    call('bwd2', d, rows, out + 4096, out + 8192, out + 12288, out + 16384, out + 16384 + d * 4);
  }
}
// exp
for (let i = 0; i < 200_000; i++) {
  const u = rng.float();
  const x = i % 4 === 0 ? -800 * u : i % 4 === 1 ? 6 * (u - 0.5) : i % 4 === 2 ? 1500 * (u - 0.5) : -Math.exp(-60 * u);
  if (x !== 1 && !Object.is(hand.exp!(x), asm.exp!(x))) throw new Error(`exp(${x})`);
}
for (const x of [0, -0, Infinity, -Infinity, NaN, 1e-300, -1e-300, 2 ** -28, -(2 ** -29), 709.782712893384, 709.79, -745.1332191019411, -745.14, -708.4, 2, -1, 0.5]) {
  if (!Object.is(hand.exp!(x), asm.exp!(x))) throw new Error(`exp(${x})`);
}
// terms, rowTerms, rowWeights, flush
for (const groups of [1, 2, 3, 7]) {
  const count = 128;
  const cells = 2 * groups;
  const list = 132;
  const [zAt, codesAt, listsAt] = [0, 1024, 2048];
  const g1At = listsAt + cells * list * 4;
  const g2At = g1At + cells * list * 8;
  const lengthsAt = g2At + cells * list * 8;
  const scalarsAt = lengthsAt + 256;
  const productAt = scalarsAt + cells * 40;
  for (const f of ['terms', 'rowTerms']) {
    fill((f32, i32, f64) => {
      for (let r = 0; r < count; r++) {
        f32[zAt / 4 + r] = r === 3 ? 0 : r === 4 ? -90 : r === 5 ? 800 : 8 * (rng.float() - 0.5);
        i32[codesAt / 4 + r] = rng.int(cells);
      }
      for (let j = 0; j < cells * 5; j++) f64[scalarsAt / 8 + j] = rng.float();
      for (let j = 0; j < cells; j++) f64[productAt / 8 + j] = 1 + rng.float();
    });
    call(f, zAt, codesAt, count, groups, 0.125, 1 << 16, 2048, listsAt, g1At, g2At, list, lengthsAt, scalarsAt, productAt);
  }
  fill((_, i32) => {
    for (let r = 0; r < count; r++) i32[codesAt / 4 + r] = rng.int(cells);
  });
  call('rowWeights', codesAt, g1At, g2At, productAt, count, listsAt);
  fill();
  call('flush', g1At, productAt, 200);
}
// chunk, with fwd and with fwd1, twice over the same sums
for (const [d, rows, groups, oneRow] of [[16, 512, 2, 0], [16, 512, 2, 1], [36, 300, 3, 0], [512, 256, 1, 1], [8, 4, 2, 0]] as const) {
  const cells = 2 * groups;
  const list = 132;
  const w = 1024 * 516 * 4;
  const z = w + d * 4;
  const codes = z + 4096;
  const idx = codes + rows * 4 + 64;
  const g1 = idx + cells * list * 4;
  const g2 = g1 + cells * list * 4;
  const lengths = g2 + cells * list * 4;
  const scalars = lengths + 256;
  const product = scalars + cells * 40;
  const acc1 = product + cells * 8 + 64;
  const tot = acc1 + 2 * cells * d * 4 + 64;
  fill((f32, i32, f64) => {
    for (let r = 0; r < rows; r++) i32[codes / 4 + r] = rng.int(cells);
    f64.fill(0, scalars / 8, scalars / 8 + cells * 5);
    f64.fill(1, product / 8, product / 8 + cells);
    f32.fill(0, acc1 / 4, acc1 / 4 + 2 * cells * d);
  });
  for (let rep = 0; rep < 2; rep++) call('chunk', 0, rows, d, oneRow, w, z, codes, groups, 0.25, idx, g1, g2, list, lengths, scalars, product, acc1, tot);
}
// vdot, vaxpy, twoLoop
for (const n of [1, 5, 100, 1025]) {
  fill();
  same('vdot', hand.vdot!(0, 16384, n), asm.vdot!(0, 16384, n));
  call('vaxpy', 0.37, 0, 16384, n);
  for (const h of [0, 1, 3, 10]) {
    const dd = 8 * n + 64;
    const s = dd + 8 * n + 64;
    const y = s + 8 * 10 * n + 64;
    const rho = y + 8 * 10 * n + 64;
    const alpha = rho + 128;
    const order = alpha + 128;
    fill((_, i32, f64) => {
      const p = rng.permutation(10);
      for (let t = 0; t < 10; t++) i32[order / 4 + t] = p[t]!;
      for (let t = 0; t < 10; t++) f64[rho / 8 + t] = 1 / (0.5 + rng.float());
    });
    call('twoLoop', 0, dd, s, y, rho, alpha, order, h, n);
  }
}
// cellCounts, cellPlace, rowCells, binaryTable (rows in range, then rows out of range)
for (const [n, classes, groups] of [[1000, 2, 2], [777, 3, 5], [50, 2, 1]] as const) {
  const y = 0;
  const grp = 4 * n + 64;
  const next = grp + 4 * n + 64;
  const out = next + 256;
  const codes = out + 4 * n + 64;
  const size = codes + 4 * n + 64;
  const z = size + 256;
  const cells = classes * groups;
  const labels = (bad: boolean) => (_: Float32Array, i32: Int32Array): void => {
    for (let i = 0; i < n; i++) {
      i32[y / 4 + i] = bad && i === n - 7 ? classes : rng.int(classes);
      i32[grp / 4 + i] = bad && i === n - 3 ? -1 : rng.int(groups);
    }
    i32.fill(0, next / 4, next / 4 + 64);
    i32.fill(0, size / 4, size / 4 + 64);
  };
  fill(labels(false));
  call('cellCounts', y, grp, n, groups, cells, size);
  call('cellPlace', y, grp, n, groups, cells, next, out);
  call('rowCells', y, grp, n, classes, groups, codes, size);
  call('binaryTable', z, codes, n, next);
  fill(labels(true));
  call('rowCells', y, grp, n, classes, groups, codes, size);
  call('cellCounts', y, grp, n, groups, cells - 1, size);
}
// balancedDraw
for (const [cells, m] of [[4, 10], [6, 100], [2, 1], [3, 0]] as const) {
  const first = 65536;
  const state = first + 256;
  const table = state + 64;
  const out = table + 65536;
  fill((_, i32) => {
    let at = 0;
    for (let c = 0; c <= cells; c++) {
      i32[first / 4 + c] = at;
      at += m + rng.int(3000);
    }
    for (let i = 0; i < Math.min(at, 16000); i++) i32[i] = rng.int(1 << 30);
    for (let k = 0; k < 4; k++) i32[state / 4 + k] = rng.int(2 ** 31);
  });
  call('balancedDraw', 0, first, cells, m, state, table, out);
}
process.stdout.write(`the same results and memory in ${checks} calls, and exp on 200,000 values\n`);
