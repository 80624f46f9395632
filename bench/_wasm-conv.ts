/**
 * An alternative CNN engine measured against onnxruntime (bench/cnn-engines.ts): one convolution layer, forward and
 * backward, as im2col + a register-blocked WebAssembly SIMD matrix product (f32x4), single-threaded. The product is
 * AssemblyScript (bench/assembly/conv-gemm.ts), compiled in memory when a WasmConv is created. Not fairhead's
 * engine: onnxruntime's kernels are faster on this machine (bench/results/cnn-engines.json), so this lives with
 * the benchmarks.
 *
 *     gemm(a, b, c, m, n, k, lda, ldb, ldc):  C[m x n] = A[m x k] B[k x n]   (row-major float32, byte addresses,
 *                                             leading dimensions in elements; m % 4 == 0, n % 8 == 0)
 *
 * A layer (batch B, channels cin -> cout, side h, kernel k, stride s, zero padding p), npix = B * ho * ho:
 * - forward: cols [cin k k, npix] = im2col(x); Y = W cols ([cout, npix]), then NCHW.
 * - dW = dY colsT ([cout, npix] x [npix, cin k k]), colsT = im2col laid out one output pixel per row.
 * - dx = col2im(W^T dY) ([cin k k, cout] x [cout, npix], then summed back onto the input pixels).
 */
import { compileAssemblyScript } from '../scripts/build-kernels.mjs';

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

/** The GEMM's flags: as the head kernels', with an imported memory that is neither shared nor bounded. */
const GEMM_FLAGS = ['-O3', '--runtime', 'stub', '--noAssert', '--importMemory', '--noExportMemory', '--enable', 'simd'];

/** The compiled GEMM, once per process. */
let gemmBytes: Promise<Uint8Array> | undefined;

type Gemm = (a: number, b: number, c: number, m: number, n: number, k: number, lda: number, ldb: number, ldc: number) => void;

const roundUp = (v: number, m: number): number => Math.ceil(v / m) * m;

/**
 * Convolution forward and backward on one thread with the WebAssembly GEMM. Buffers live in one growing wasm
 * memory; results are copied out.
 *
 * @example
 * const conv = await WasmConv.create();
 * const y = conv.forward(shape, x, w);            // NCHW, as onnxruntime's Conv (no bias)
 * const { dx, dw } = conv.backward(shape, x, w, dy);
 */
export class WasmConv {
  private constructor(
    private readonly memory: WasmMemoryLike,
    private readonly gemmFn: Gemm,
  ) {}

  /** Compile bench/assembly/conv-gemm.ts (once per process) and instantiate it over a new memory. */
  static async create(): Promise<WasmConv> {
    if (!wasmApi) throw new Error('WebAssembly is not available');
    const memory = new wasmApi.Memory({ initial: 1 });
    gemmBytes ??= compileAssemblyScript('bench/assembly/conv-gemm.ts', GEMM_FLAGS);
    const bytes = await gemmBytes;
    const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
    return new WasmConv(memory, instance.exports['gemm'] as Gemm);
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
