// The binary head's objective pass in two halves over one part's rows, for a matrix X small enough to stay in the
// processor's cache between them. Plain JavaScript, as cell-pass.mjs, so that the WebAssembly worker imports it
// without a TypeScript loader. Types: cell-halves.d.mts. Internal.
//
// The one pass (cell-pass.mjs) reads each row once but does three multiply-adds per value: the logit, then the
// row's two contributions A_c += (p - y) x and B_c += p (1 - p) x, whose weights a_c, b_c are known only once every
// row is seen. In two halves, the forward half computes the logits (one multiply-add per value) and each row's
// p - y and p (1 - p) with the cells' scalar sums; the calling thread then computes a_c and b_c from the sums, and
// the backward half adds each row once, weighted by a_c (p - y) + b_c p (1 - p) (one multiply-add per value):
// two reads of X but two thirds of the arithmetic, which wins when the second read comes from cache
// (6,100 x 512 on one thread: 0.59 ms against 0.81 ms for the one pass, bench/work).
import { CELL_SCALARS, logProducts } from './cell-pass.mjs';
import { currentBuffer } from './memory-buffer.mjs';

/** Rows of the backward half summed in float32 before the sum is added into float64. */
export const HALVES_BLOCK_ROWS = 256;
/** Rows of the forward half between the logs of the cells' products of (1 + e) (at most 2^512 each). */
const TERMS_ROWS = 512;

/**
 * Where one part's scratch for the halves lies (bytes from its 16-byte aligned start), for `rows` rows, `cells`
 * cells, d columns: the logits (float32), each row's p - y and p (1 - p) (float64), a block's row weights
 * (float32), a float32 accumulator and a float64 total of d, the cells' scalars and products (float64), the
 * rows' codes (int32).
 */
function halvesLayout(d, cells, rows) {
  const align = (v) => 16 * Math.ceil(v / 16);
  const g1 = align(4 * rows);
  const g2 = g1 + 8 * rows;
  const weights = align(g2 + 8 * rows);
  const acc = align(weights + 4 * HALVES_BLOCK_ROWS);
  const tot = align(acc + 4 * d);
  const scalars = tot + 8 * d;
  const product = scalars + 8 * cells * CELL_SCALARS;
  const codes = product + 8 * cells;
  return { g1, g2, weights, acc, tot, scalars, product, codes, bytes: codes + 4 * rows };
}

/** Bytes of scratch one part of at most `rows` rows needs for the halves with `cells` cells. */
export function halvesScratchBytes(d, cells, rows) {
  return halvesLayout(d, cells, rows).bytes;
}

/**
 * The two halves over rows start..end-1 of X (float32 n x d at byte `xOffset` of the wasm memory): `scalars()`
 * writes the cells' [rows, sum p, sum loss, sum (p - y), sum p (1 - p)] (cells x CELL_SCALARS float64) to
 * out[outAt ...]; `gradient()` then writes sum_i (coef[2c] (p_i - y_i) + coef[2c + 1] p_i (1 - p_i)) x_i (d
 * float64) to out[outAt + cells x CELL_SCALARS ...], for the rows' values of the last scalars() and the float64
 * coefficients at byte `coefAt`. `w` (d) and `b` (1) are read at each scalars(); the row codes at construction
 * (copied into the scratch unless `copyCodes` is false: another thread did). The scalars are the one pass's float64
 * operations in the same order; the gradient's float32 sums run over 256-row blocks.
 */
export class CellHalves {
  constructor({ xOffset, d, start, end, codes, groups, w, b, out, outAt, wasm }) {
    const cells = 2 * groups;
    const { kernels, memory, wAt, scratchAt, coefAt } = wasm;
    const buffer = currentBuffer(memory);
    const rows = end - start;
    const at = halvesLayout(d, cells, rows);
    this.kernels = kernels;
    this.d = d;
    this.rows = rows;
    this.groups = groups;
    this.cells = cells;
    this.rowBytes = 4 * d;
    this.xAt = xOffset + start * this.rowBytes;
    this.w = w;
    this.b = b;
    this.wAt = wAt;
    this.coefAt = coefAt;
    this.zAt = scratchAt;
    this.g1At = scratchAt + at.g1;
    this.g2At = scratchAt + at.g2;
    this.weightsAt = scratchAt + at.weights;
    this.accAt = scratchAt + at.acc;
    this.totAt = scratchAt + at.tot;
    this.scalarsAt = scratchAt + at.scalars;
    this.productAt = scratchAt + at.product;
    this.codesAt = scratchAt + at.codes;
    this.w32 = new Float32Array(buffer, wAt, d);
    this.acc = new Float32Array(buffer, this.accAt, d);
    this.tot = new Float64Array(buffer, this.totAt, d);
    this.scalarSums = new Float64Array(buffer, this.scalarsAt, cells * CELL_SCALARS);
    this.product = new Float64Array(buffer, this.productAt, cells);
    this.scalarsOut = out.subarray(outAt, outAt + cells * CELL_SCALARS);
    this.gradientOut = out.subarray(outAt + cells * CELL_SCALARS, outAt + cells * CELL_SCALARS + d);
    if (wasm.copyCodes !== false) new Int32Array(buffer, this.codesAt, rows).set(codes.subarray(start, end));
  }

  /** The forward half: logits, each row's p - y and p (1 - p), the cells' scalar sums. */
  scalars() {
    const { kernels, d, rows, scalarSums, product, cells } = this;
    scalarSums.fill(0);
    product.fill(1);
    this.w32.set(this.w);
    const bias = this.b[0];
    kernels.fwd1(this.xAt, d, rows, this.wAt, this.zAt);
    for (let r0 = 0; r0 < rows; r0 += TERMS_ROWS) {
      kernels.rowTerms(
        this.zAt + 4 * r0, this.codesAt + 4 * r0, Math.min(TERMS_ROWS, rows - r0), this.groups, bias, 0, 0, 0,
        this.g1At + 8 * r0, this.g2At + 8 * r0, 0, 0, this.scalarsAt, this.productAt,
      );
      // as the one pass after every 512 rows
      logProducts(cells, product, scalarSums);
    }
    this.scalarsOut.set(scalarSums);
  }

  /** The backward half: the rows weighted by their cells' coefficients, summed. */
  gradient() {
    const { kernels, d, rows } = this;
    this.acc.fill(0);
    this.tot.fill(0);
    for (let r0 = 0; r0 < rows; r0 += HALVES_BLOCK_ROWS) {
      const count = Math.min(HALVES_BLOCK_ROWS, rows - r0);
      kernels.rowWeights(this.codesAt + 4 * r0, this.g1At + 8 * r0, this.g2At + 8 * r0, this.coefAt, count, this.weightsAt);
      kernels.bwd1(this.xAt + r0 * this.rowBytes, d, count, this.weightsAt, this.accAt);
      kernels.flush(this.accAt, this.totAt, d);
    }
    this.gradientOut.set(this.tot);
  }
}
