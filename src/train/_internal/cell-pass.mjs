// One pass of a binary head's objective over one thread's rows, in plain JavaScript so that the WebAssembly worker
// (ops-worker-wasm.mjs) can import it without a TypeScript loader; range-runner.ts uses the same code on the
// calling thread. Types: cell-pass.d.mts. Internal.
//
// A binary head's objective, penalty included, depends on the rows only through per-(label, group) cell sums, and
// its gradient is  sum_c a_c A_c + b_c B_c  with  A_c = sum_{i in c} (p_i - y_i) x_i,  B_c = sum_{i in c} p_i (1 - p_i) x_i
// and scalars a_c, b_c known only once every row is seen. So one pass reads each row of X once: the logit (fwd
// kernel over a block of rows), p and the loss, then the row's two contributions to its cell (bwd2 kernel, the
// block still in cache). Two separate passes (forward, then backward with the per-row gradient) read X twice;
// where X stays in cache between them, cell-halves.mjs does that with two thirds of this pass's arithmetic.
//
// Output per thread and cell c: [A_c (d), B_c (d), rows, sum p, sum loss, sum (p - y), sum p (1 - p)], float64.

import { currentBuffer } from './memory-buffer.mjs';

/**
 * Rows of at least this many columns take the one-row-at-a-time forward kernel (fwd1): one sequential stream
 * through X, which the hardware prefetcher follows; fwd's 4 interleaved rows of 2 KiB each defeat it (80,000 x 512
 * from memory: 8 ms against 18 ms on this project's machine). Shorter rows: fwd (4 rows share each load of w).
 */
export const ONE_ROW_MIN_COLS = 128;

/** The forward kernel for rows of d columns (see ONE_ROW_MIN_COLS). */
export function forwardKernel(kernels, d) {
  return d >= ONE_ROW_MIN_COLS ? kernels.fwd1 : kernels.fwd;
}

/** The backward kernel for rows of d columns (see ONE_ROW_MIN_COLS): 80,000 x 512 in 8 ms instead of 19 ms. */
export function backwardKernel(kernels, d) {
  return d >= ONE_ROW_MIN_COLS ? kernels.bwd1 : kernels.bwd;
}

/** Rows per block: the fwd kernel's rows, then the bwd2 calls over the same rows while they are in cache. */
export const CELL_BLOCK_ROWS = 128;
/** Blocks whose float32 sums are added into the float64 totals at once (float32 sums over at most 512 rows). */
const FLUSH_BLOCKS = 4;
/** Scalars per cell after A_c and B_c. */
export const CELL_SCALARS = 5;

/** Float64 values per cell in the output. */
export function cellStride(d) {
  return 2 * d + CELL_SCALARS;
}

/**
 * Where each part of one thread's WebAssembly scratch for `cells` cells lies (bytes from its 16-byte aligned start):
 * the logits of a block; per cell its row list, g1, g2 (float32, `list` slots each) and two float32 accumulators of
 * d (acc1 of every cell, then acc2 of every cell); per cell 5 float64 scalars, a float64 product, two float64 totals
 * of d (in the accumulators' layout) and an int32 list length; then the thread's row codes (int32).
 */
function cellLayout(d, cells) {
  const list = CELL_BLOCK_ROWS + 4;
  const idx = 4 * CELL_BLOCK_ROWS;
  const g1 = idx + 4 * cells * list;
  const g2 = g1 + 4 * cells * list;
  const acc1 = g2 + 4 * cells * list;
  const scalars = 8 * Math.ceil((acc1 + 8 * cells * d) / 8);
  const product = scalars + 8 * cells * CELL_SCALARS;
  const tot = product + 8 * cells;
  const lengths = tot + 16 * cells * d;
  const codes = lengths + 4 * cells;
  return { list, idx, g1, g2, acc1, scalars, product, tot, lengths, codes };
}

/** Bytes of WebAssembly scratch one thread of at most `rows` rows needs for `cells` cells ({@link cellLayout}). */
export function cellScratchBytes(d, cells, rows) {
  return cellLayout(d, cells).codes + 4 * rows;
}

/**
 * The pass over rows start..end-1 of X (float32, n x d, row-major at byte `xOffset` of its buffer).
 * `codes[i]` = y_i * groups + group_i (read now: a new pass is made when they change); `w` (d) and `b` (1) are
 * read at each run; the result goes to out[outAt ...] (cells x cellStride(d)). `wasm`: { kernels, memory, wAt,
 * scratchAt, copyCodes? } (scratchAt 16-byte aligned, {@link cellScratchBytes} long; copyCodes false: the rows' codes
 * are already in the scratch) or null (plain loops).
 *
 * With wasm, per block of rows: fwd for the logits, `terms` for each row's p, loss and gradient terms and its
 * place in its cell's list (assembly/row-terms.ts: float64, as addCellRows), then bwd2 per cell, the rows still in cache.
 */
export function createCellPass(setup) {
  if (!setup.wasm) {
    const { x, d, start, end, codes, groups, w, b, out, outAt } = setup;
    const sub = out.subarray(outAt, outAt + 2 * groups * cellStride(d));
    return function run() {
      sub.fill(0);
      addCellRows(x, d, start, end - start, codes, start, groups, w, b, sub);
    };
  }
  const pass = new WasmCellPass(setup);
  return () => pass.run();
}

/**
 * The WebAssembly pass of {@link createCellPass}, a class rather than closures: V8 optimises its methods once per
 * process, not once for each new pass (each fit makes one), whose loops would otherwise run unoptimised at first.
 */
class WasmCellPass {
  constructor({ x, xOffset, d, start, end, codes, groups, w, b, out, outAt, wasm }) {
    const cells = 2 * groups;
    const { kernels, memory, wAt, scratchAt } = wasm;
    const buffer = currentBuffer(memory);
    this.x = x;
    this.xOffset = xOffset;
    this.d = d;
    this.start = start;
    this.end = end;
    this.rows4 = start + Math.floor((end - start) / 4) * 4;
    this.codes = codes;
    this.groups = groups;
    this.cells = cells;
    this.stride = cellStride(d);
    this.w = w;
    this.b = b;
    this.sub = out.subarray(outAt, outAt + cells * this.stride);
    this.kernels = kernels;
    const at = cellLayout(d, cells);
    this.list = at.list;
    this.wAt = wAt;
    this.zAt = scratchAt;
    this.idxAt = scratchAt + at.idx;
    this.g1At = scratchAt + at.g1;
    this.g2At = scratchAt + at.g2;
    this.acc1At = scratchAt + at.acc1;
    this.scalarsAt = scratchAt + at.scalars;
    this.productAt = scratchAt + at.product;
    this.totAt = scratchAt + at.tot;
    this.lengthsAt = scratchAt + at.lengths;
    this.codesAt = scratchAt + at.codes;
    const heap = new Float32Array(buffer);
    this.w32 = heap.subarray(wAt / 4, wAt / 4 + d);
    // per cell: rows, sum p, sum of max(t, 0), sum (p - y), sum p (1 - p), added to by terms
    this.scalars = new Float64Array(buffer, this.scalarsAt, cells * CELL_SCALARS);
    // per cell: the product of (1 + e) since the last flush, at most 2^512 over the 512 rows between flushes; its
    // log is the cell's sum of log(1 + e), the rest of the loss max(t, 0) + log(1 + e)
    this.product = new Float64Array(buffer, this.productAt, cells);
    this.acc = heap.subarray(this.acc1At / 4, this.acc1At / 4 + 2 * cells * d);
    this.tot = new Float64Array(buffer, this.totAt, 2 * cells * d);
    // the part's row codes, copied once (wasm.copyCodes: by the thread that sets the pass up first)
    if (wasm.copyCodes !== false) new Int32Array(buffer).set(codes.subarray(start, end), this.codesAt >> 2);
  }

  /** Add each cell's log of its product of (1 + e) into its loss sum, after each chunk of blocks. */
  logProducts() {
    logProducts(this.cells, this.product, this.scalars);
  }

  run() {
    const { kernels, d, cells, stride, sub, scalars, xOffset, start, rows4, w, tot } = this;
    const rowBytes = 4 * d;
    const oneRow = d >= ONE_ROW_MIN_COLS ? 1 : 0;
    scalars.fill(0);
    this.product.fill(1);
    this.acc.fill(0);
    tot.fill(0);
    this.w32.set(w);
    const bias = this.b[0];
    // FLUSH_BLOCKS blocks per call (float32 sums over at most 512 rows), then the logs of the products
    const chunkRows = FLUSH_BLOCKS * CELL_BLOCK_ROWS;
    for (let r0 = start; r0 < rows4; r0 += chunkRows) {
      kernels.chunk(
        xOffset + r0 * rowBytes, Math.min(chunkRows, rows4 - r0), d, oneRow, this.wAt, this.zAt, this.codesAt + 4 * (r0 - start),
        this.groups, bias, this.idxAt, this.g1At, this.g2At, this.list, this.lengthsAt, this.scalarsAt, this.productAt, this.acc1At, this.totAt,
      );
      this.logProducts();
    }
    for (let c = 0; c < cells; c++) {
      sub.set(tot.subarray(c * d, c * d + d), c * stride);
      sub.set(tot.subarray((cells + c) * d, (cells + c + 1) * d), c * stride + d);
      for (let f = 0; f < CELL_SCALARS; f++) sub[c * stride + 2 * d + f] = scalars[c * CELL_SCALARS + f];
    }
    addCellRows(this.x, d, rows4, this.end - rows4, this.codes, rows4, this.groups, w, this.b, sub);
  }

}

/**
 * Add each of `cells` cells' log of its product of (1 + e) (float64 `product`, reset to 1) into its loss sum
 * (`scalars`, CELL_SCALARS per cell): the rest of the loss max(t, 0) + log(1 + e), one log per cell and chunk.
 */
export function logProducts(cells, product, scalars) {
  for (let c = 0; c < cells; c++) {
    if (product[c] !== 1) {
      scalars[c * CELL_SCALARS + 2] += Math.log(product[c]);
      product[c] = 1;
    }
  }
}

/** Row lists per cell and logits of addCellRows, grown as needed (one set per thread: modules are per thread). */
let plainScratch = { z: new Float64Array(0), idx: new Int32Array(0), gA: new Float64Array(0), gB: new Float64Array(0) };

/**
 * Plain float64 loops: add the cell sums of `count` rows of `rows` (row r at r * d, starting at row `from`) whose
 * codes are codes[codeAt ...] into `sub` (cells x cellStride(d), not cleared). The pass without WebAssembly, the
 * last 1-3 rows of the wasm one, and the chunks of the streaming ops. As the wasm pass: the logits 4 rows at a
 * time, then each cell's rows 4 at a time into its two accumulators.
 */
export function addCellRows(rows, d, from, count, codes, codeAt, groups, w, b, sub) {
  const stride = cellStride(d);
  const cells = 2 * groups;
  if (plainScratch.z.length < count) {
    plainScratch = { z: new Float64Array(count), idx: new Int32Array(count), gA: new Float64Array(count), gB: new Float64Array(count) };
  }
  const { z, idx, gA, gB } = plainScratch;
  const bias = b[0];
  let r = 0;
  for (; r + 4 <= count; r += 4) {
    const o0 = (from + r) * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < d; j++) {
      const wj = w[j];
      s0 += rows[o0 + j] * wj;
      s1 += rows[o1 + j] * wj;
      s2 += rows[o2 + j] * wj;
      s3 += rows[o3 + j] * wj;
    }
    z[r] = s0;
    z[r + 1] = s1;
    z[r + 2] = s2;
    z[r + 3] = s3;
  }
  for (; r < count; r++) {
    const o = (from + r) * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += rows[o + j] * w[j];
    z[r] = s;
  }
  // each cell's rows as one slice of idx / gA / gB (counting sort by cell)
  const next = new Int32Array(cells + 1);
  for (r = 0; r < count; r++) next[codes[codeAt + r] + 1]++;
  for (let c = 0; c < cells; c++) next[c + 1] += next[c];
  const first = next.slice(0, cells);
  for (r = 0; r < count; r++) {
    const code = codes[codeAt + r];
    const zr = z[r] + bias;
    const e = Math.exp(zr >= 0 ? -zr : zr);
    const p = zr >= 0 ? 1 / (1 + e) : e / (1 + e);
    const y = code >= groups ? 1 : 0;
    const t = y === 1 ? -zr : zr;
    const a = p - y;
    const q = p * (1 - p);
    const s = code * stride + 2 * d;
    sub[s] += 1;
    sub[s + 1] += p;
    sub[s + 2] += (t > 0 ? t : 0) + Math.log1p(e);
    sub[s + 3] += a;
    sub[s + 4] += q;
    const slot = next[code]++;
    idx[slot] = (from + r) * d;
    gA[slot] = a;
    gB[slot] = q;
  }
  for (let c = 0; c < cells; c++) {
    const start = first[c];
    const m = next[c] - start;
    const oa = c * stride;
    const ob = oa + d;
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const x0 = idx[start + i];
      const x1 = idx[start + i + 1];
      const x2 = idx[start + i + 2];
      const x3 = idx[start + i + 3];
      const a0 = gA[start + i], a1 = gA[start + i + 1], a2 = gA[start + i + 2], a3 = gA[start + i + 3];
      const b0 = gB[start + i], b1 = gB[start + i + 1], b2 = gB[start + i + 2], b3 = gB[start + i + 3];
      for (let j = 0; j < d; j++) {
        const v0 = rows[x0 + j];
        const v1 = rows[x1 + j];
        const v2 = rows[x2 + j];
        const v3 = rows[x3 + j];
        sub[oa + j] += v0 * a0 + v1 * a1 + v2 * a2 + v3 * a3;
        sub[ob + j] += v0 * b0 + v1 * b1 + v2 * b2 + v3 * b3;
      }
    }
    for (; i < m; i++) {
      const xi = idx[start + i];
      const ai = gA[start + i];
      const bi = gB[start + i];
      for (let j = 0; j < d; j++) {
        const v = rows[xi + j];
        sub[oa + j] += v * ai;
        sub[ob + j] += v * bi;
      }
    }
  }
}
