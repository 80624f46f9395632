/**
 * An alternative CNN engine measured against onnxruntime (bench/cnn-engines.ts): one convolution layer, forward and
 * backward, as im2col + a register-blocked WebAssembly SIMD matrix product (f32x4), single-threaded. The module is
 * assembled here byte by byte (no build step), like src/train/_internal/wasm-kernels.ts.
 *
 *     gemm(a, b, c, m, n, k, lda, ldb, ldc):  C[m x n] = A[m x k] B[k x n]   (row-major float32, byte addresses,
 *                                             leading dimensions in elements; m % 4 == 0, n % 8 == 0)
 *
 * Each 4 x 8 block of C is 8 f32x4 accumulators over the whole k; the loop runs the 8-column panels of B in the
 * outer loop so that a panel (k x 32 bytes) stays in L1 while every 4-row block of A passes over it.
 *
 * A layer (batch B, channels cin -> cout, side h, kernel k, stride s, zero padding p), npix = B * ho * ho:
 * - forward: cols [cin k k, npix] = im2col(x); Y = W cols ([cout, npix]), then NCHW.
 * - dW = dY colsT ([cout, npix] x [npix, cin k k]), colsT = im2col laid out one output pixel per row.
 * - dx = col2im(W^T dY) ([cin k k, cout] x [cout, npix], then summed back onto the input pixels).
 *
 * Not the training engine: onnxruntime's kernels are faster on this machine (bench/results/cnn-engines.json).
 */
import { add, block, br, brIf, end, f32Load, f32x4Add, f32x4Mul, f32x4Splat, geU, get, i32, I32, loop, mul, name, section, set, simd, uleb, V128, v128Zero } from '../../wasm-assembler.ts';

/** Shape of one convolution layer (square images and kernels, NCHW). */
export interface ConvShape {
  readonly batch: number;
  readonly cin: number;
  readonly cout: number;
  readonly size: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
}

interface WasmMemoryLike {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface WasmApi {
  Memory: new (descriptor: { initial: number }) => WasmMemoryLike;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}

const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

const v128Load = (offset: number): number[] => simd(0x00, 4, ...uleb(offset));
const v128Store = (offset: number): number[] => simd(0x0b, 4, ...uleb(offset));

// params 0..8: a, b, c, m, n, k, lda, ldb, ldc; i32 locals 9..21; v128 locals 22..32
const A = 0, B = 1, C = 2, M = 3, N = 4, K = 5, LDA = 6, LDB = 7, LDC = 8;
const I = 9, J = 10, P = 11, A0 = 12, BP = 16, KB = 17, LDAB = 18, LDBB = 19, LDCB = 20, CP = 21;
const ACC = 22, B0 = 30, B1 = 31, S = 32;

function gemmBody(): number[] {
  const row = (r: number): number[] => [
    ...get(A0 + r), ...get(P), ...add, ...f32Load, ...f32x4Splat, ...set(S),
    ...get(ACC + 2 * r), ...get(S), ...get(B0), ...f32x4Mul, ...f32x4Add, ...set(ACC + 2 * r),
    ...get(ACC + 2 * r + 1), ...get(S), ...get(B1), ...f32x4Mul, ...f32x4Add, ...set(ACC + 2 * r + 1),
  ];
  const storeRow = (r: number): number[] => [
    ...get(CP), ...get(ACC + 2 * r), ...v128Store(0),
    ...get(CP), ...get(ACC + 2 * r + 1), ...v128Store(16),
    ...get(CP), ...get(LDCB), ...add, ...set(CP),
  ];
  return [
    ...get(LDA), ...i32(4), ...mul, ...set(LDAB),
    ...get(LDB), ...i32(4), ...mul, ...set(LDBB),
    ...get(LDC), ...i32(4), ...mul, ...set(LDCB),
    ...get(K), ...i32(4), ...mul, ...set(KB),
    ...i32(0), ...set(J),
    ...block, ...loop,
    ...get(J), ...get(N), ...geU, ...brIf(1),
    ...i32(0), ...set(I),
    ...block, ...loop,
    ...get(I), ...get(M), ...geU, ...brIf(1),
    ...get(A), ...get(I), ...get(LDAB), ...mul, ...add, ...set(A0),
    ...get(A0), ...get(LDAB), ...add, ...set(A0 + 1),
    ...get(A0 + 1), ...get(LDAB), ...add, ...set(A0 + 2),
    ...get(A0 + 2), ...get(LDAB), ...add, ...set(A0 + 3),
    ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((q) => [...v128Zero, ...set(ACC + q)]),
    ...get(B), ...get(J), ...i32(4), ...mul, ...add, ...set(BP),
    ...i32(0), ...set(P),
    ...block, ...loop,
    ...get(P), ...get(KB), ...geU, ...brIf(1),
    ...get(BP), ...v128Load(0), ...set(B0),
    ...get(BP), ...v128Load(16), ...set(B1),
    ...row(0), ...row(1), ...row(2), ...row(3),
    ...get(BP), ...get(LDBB), ...add, ...set(BP),
    ...get(P), ...i32(4), ...add, ...set(P),
    ...br(0), ...end, ...end,
    ...get(C), ...get(I), ...get(LDCB), ...mul, ...add, ...get(J), ...i32(4), ...mul, ...add, ...set(CP),
    ...storeRow(0), ...storeRow(1), ...storeRow(2), ...storeRow(3),
    ...get(I), ...i32(4), ...add, ...set(I),
    ...br(0), ...end, ...end,
    ...get(J), ...i32(8), ...add, ...set(J),
    ...br(0), ...end, ...end,
  ];
}


/** The module's bytes: imports env.mem, exports gemm. */
export function gemmModuleBytes(): Uint8Array {
  const I32T = I32;
  const V128T = V128;
  const body = [...uleb(2), ...uleb(13), I32T, ...uleb(11), V128T, ...gemmBody(), ...end];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 9, ...new Array<number>(9).fill(I32T), 0]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('gemm'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

type Gemm = (a: number, b: number, c: number, m: number, n: number, k: number, lda: number, ldb: number, ldc: number) => void;

const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * Convolution forward and backward on one thread with the WebAssembly GEMM. Buffers live in one growing wasm
 * memory; results are copied out.
 *
 * @example
 * const conv = new WasmConv();
 * const y = conv.forward(shape, x, w);            // NCHW, as onnxruntime's Conv (no bias)
 * const { dx, dw } = conv.backward(shape, x, w, dy);
 */
export class WasmConv {
  private readonly memory: WasmMemoryLike;
  private readonly gemmFn: Gemm;

  constructor() {
    if (!wasmApi) throw new Error('WebAssembly is not available');
    this.memory = new wasmApi.Memory({ initial: 1 });
    const instance = new wasmApi.Instance(new wasmApi.Module(gemmModuleBytes()), { env: { mem: this.memory } });
    this.gemmFn = instance.exports['gemm'] as Gemm;
  }

  /** Float32 views of consecutive regions of the given lengths (grows the memory when needed). */
  private regions(lengths: readonly number[]): { views: Float32Array[]; offsets: number[] } {
    const offsets: number[] = [];
    let bytes = 0;
    for (const l of lengths) {
      offsets.push(bytes);
      bytes += roundUp(l * 4, 64);
    }
    const need = bytes - this.memory.buffer.byteLength;
    if (need > 0) this.memory.grow(Math.ceil(need / 65536));
    return { views: lengths.map((l, i) => new Float32Array(this.memory.buffer, offsets[i] as number, l)), offsets };
  }

  /** C = A B with A m x k (lda), B k x n (ldb), C m x n (ldc); m % 4 == 0, n % 8 == 0. */
  gemm(a: number, b: number, c: number, m: number, n: number, k: number, lda: number, ldb: number, ldc: number): void {
    if (m % 4 !== 0 || n % 8 !== 0) throw new Error(`wasm gemm: m must be a multiple of 4 and n of 8, received ${m} x ${n}`);
    this.gemmFn(a, b, c, m, n, k, lda, ldb, ldc);
  }

  /** y = conv(x, w): x [batch, cin, size, size], w [cout, cin, k, k] -> [batch, cout, ho, ho]. */
  forward(s: ConvShape, x: Float32Array, w: Float32Array): Float32Array {
    const { batch, cin, cout, kernel: k } = s;
    const ho = outSide(s);
    const rows = cin * k * k;
    const npix = batch * ho * ho;
    const ld = roundUp(npix, 8);
    const m = roundUp(cout, 4);
    const { views, offsets } = this.regions([m * rows, rows * ld, m * ld]);
    const [wa, cols, y2] = views as [Float32Array, Float32Array, Float32Array];
    wa.fill(0);
    wa.set(w);
    im2col(s, x, cols, ld);
    this.gemm(offsets[0] as number, offsets[1] as number, offsets[2] as number, m, ld, rows, rows, ld, ld);
    const y = new Float32Array(batch * cout * ho * ho);
    const plane = ho * ho;
    for (let o = 0; o < cout; o++) {
      for (let n = 0; n < batch; n++) y.set(y2.subarray(o * ld + n * plane, o * ld + (n + 1) * plane), (n * cout + o) * plane);
    }
    return y;
  }

  /** dx (when `needDx`) and dw of the layer given dy [batch, cout, ho, ho]. */
  backward(s: ConvShape, x: Float32Array, w: Float32Array, dy: Float32Array, needDx = true): { dx: Float32Array | null; dw: Float32Array } {
    const { batch, cin, cout, kernel: k } = s;
    const ho = outSide(s);
    const rows = cin * k * k;
    const rowsPad = roundUp(rows, 8);
    const npix = batch * ho * ho;
    const ld = roundUp(npix, 8);
    const m = roundUp(cout, 4);
    const mRows = roundUp(rows, 4);
    const { views, offsets } = this.regions([m * ld, npix * rowsPad, m * rowsPad, mRows * m, needDx ? mRows * ld : 0]);
    const [dy2, colsT, dw2, wt, dcols] = views as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    dy2.fill(0);
    const plane = ho * ho;
    for (let o = 0; o < cout; o++) {
      for (let n = 0; n < batch; n++) dy2.set(dy.subarray((n * cout + o) * plane, (n * cout + o + 1) * plane), o * ld + n * plane);
    }
    im2colT(s, x, colsT, rowsPad);
    this.gemm(offsets[0] as number, offsets[1] as number, offsets[2] as number, m, rowsPad, npix, ld, rowsPad, rowsPad);
    const dw = new Float32Array(cout * rows);
    for (let o = 0; o < cout; o++) dw.set(dw2.subarray(o * rowsPad, o * rowsPad + rows), o * rows);
    if (!needDx) return { dx: null, dw };
    wt.fill(0);
    for (let o = 0; o < cout; o++) for (let r = 0; r < rows; r++) wt[r * m + o] = w[o * rows + r] as number;
    this.gemm(offsets[3] as number, offsets[0] as number, offsets[4] as number, mRows, ld, m, m, ld, ld);
    const dx = new Float32Array(batch * cin * s.size * s.size);
    col2im(s, dcols, ld, dx);
    return { dx, dw };
  }
}

function outSide(s: ConvShape): number {
  return Math.floor((s.size + 2 * s.pad - s.kernel) / s.stride) + 1;
}

/** cols[(c k + a) k + b][(n ho + y) ho + x] = x[n, c, s y + a - p, s x + b - p] (0 outside), row stride `ld`. */
function im2col(s: ConvShape, x: Float32Array, cols: Float32Array, ld: number): void {
  const { batch, cin, size, kernel: k, stride, pad } = s;
  const ho = outSide(s);
  for (let c = 0; c < cin; c++) {
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        const row = ((c * k + a) * k + b) * ld;
        for (let n = 0; n < batch; n++) {
          const src = (n * cin + c) * size * size;
          for (let yy = 0; yy < ho; yy++) {
            const iy = stride * yy + a - pad;
            const dst = row + (n * ho + yy) * ho;
            if (iy < 0 || iy >= size) {
              cols.fill(0, dst, dst + ho);
              continue;
            }
            const srcRow = src + iy * size;
            for (let xx = 0; xx < ho; xx++) {
              const ix = stride * xx + b - pad;
              cols[dst + xx] = ix >= 0 && ix < size ? (x[srcRow + ix] as number) : 0;
            }
          }
        }
      }
    }
  }
}

/** The transpose of {@link im2col}: one row per output pixel (n, y, x), `ld` values per row (zero beyond cin k k). */
function im2colT(s: ConvShape, x: Float32Array, colsT: Float32Array, ld: number): void {
  const { batch, cin, size, kernel: k, stride, pad } = s;
  const ho = outSide(s);
  colsT.fill(0);
  for (let n = 0; n < batch; n++) {
    for (let yy = 0; yy < ho; yy++) {
      for (let xx = 0; xx < ho; xx++) {
        const dst = ((n * ho + yy) * ho + xx) * ld;
        for (let c = 0; c < cin; c++) {
          const src = (n * cin + c) * size * size;
          for (let a = 0; a < k; a++) {
            const iy = stride * yy + a - pad;
            if (iy < 0 || iy >= size) continue;
            for (let b = 0; b < k; b++) {
              const ix = stride * xx + b - pad;
              if (ix >= 0 && ix < size) colsT[dst + (c * k + a) * k + b] = x[src + iy * size + ix] as number;
            }
          }
        }
      }
    }
  }
}

/** dx[n, c, s y + a - p, s x + b - p] += dcols[(c k + a) k + b][(n ho + y) ho + x]. */
function col2im(s: ConvShape, dcols: Float32Array, ld: number, dx: Float32Array): void {
  const { batch, cin, size, kernel: k, stride, pad } = s;
  const ho = outSide(s);
  for (let c = 0; c < cin; c++) {
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        const row = ((c * k + a) * k + b) * ld;
        for (let n = 0; n < batch; n++) {
          const dst = (n * cin + c) * size * size;
          for (let yy = 0; yy < ho; yy++) {
            const iy = stride * yy + a - pad;
            if (iy < 0 || iy >= size) continue;
            const src = row + (n * ho + yy) * ho;
            const dstRow = dst + iy * size;
            for (let xx = 0; xx < ho; xx++) {
              const ix = stride * xx + b - pad;
              if (ix >= 0 && ix < size) dx[dstRow + ix] = (dx[dstRow + ix] as number) + (dcols[src + xx] as number);
            }
          }
        }
      }
    }
  }
}
