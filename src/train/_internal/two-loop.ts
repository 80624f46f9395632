import { instantiateKernels, sharedWasmMemory, wasmKernelModule, type WasmKernels } from './wasm-kernels.ts';

const PAGE = 65536;

/**
 * L-BFGS's memory of (s, y) pairs and its two-loop recursion d = -H g (Nocedal & Wright 2006, Alg. 7.4), for
 * lbfgs.ts. With WebAssembly the pairs live in a wasm memory and the recursion runs there (assembly/two-loop.ts); else
 * plain loops. Both do the same float64 operations in the same order: the same direction to the last bit.
 * Internal.
 */
export class TwoLoop {
  /** The direction of the last {@link direction} call (n values). */
  readonly d: Float64Array;
  private readonly s: Float64Array[];
  private readonly y: Float64Array[];
  /** Slots of the pairs kept, oldest first, and their 1 / (s . y). */
  private readonly order: number[] = [];
  private readonly rho: number[] = [];
  private readonly wasm: {
    readonly kernels: WasmKernels;
    readonly g: Float64Array;
    readonly rho: Float64Array;
    readonly order: Int32Array;
    readonly at: { g: number; d: number; s: number; y: number; rho: number; alpha: number; order: number };
  } | null;
  private readonly alpha: Float64Array;

  /** Pairs of n values, at most `memory` of them. `wasm` false: the plain loops even where WebAssembly runs (tests). */
  constructor(
    private readonly n: number,
    private readonly memory: number,
    wasm = true,
  ) {
    const module = wasm ? wasmKernelModule() : undefined;
    if (module) {
      const vector = 8 * n;
      const at = { g: 0, d: vector, s: 2 * vector, y: (2 + memory) * vector, rho: (2 + 2 * memory) * vector, alpha: 0, order: 0 };
      at.alpha = at.rho + 8 * memory;
      at.order = at.alpha + 8 * memory;
      const bytes = at.order + 4 * memory;
      const mem = sharedWasmMemory(Math.max(1, Math.ceil(bytes / PAGE)));
      const buffer = mem.buffer as unknown as SharedArrayBuffer;
      this.wasm = {
        kernels: instantiateKernels(module, mem),
        g: new Float64Array(buffer, at.g, n),
        rho: new Float64Array(buffer, at.rho, memory),
        order: new Int32Array(buffer, at.order, memory),
        at,
      };
      this.d = new Float64Array(buffer, at.d, n);
      this.s = Array.from({ length: memory }, (_, k) => new Float64Array(buffer, at.s + k * vector, n));
      this.y = Array.from({ length: memory }, (_, k) => new Float64Array(buffer, at.y + k * vector, n));
      this.alpha = new Float64Array(buffer, at.alpha, memory);
    } else {
      this.wasm = null;
      this.d = new Float64Array(n);
      this.s = Array.from({ length: memory }, () => new Float64Array(n));
      this.y = Array.from({ length: memory }, () => new Float64Array(n));
      this.alpha = new Float64Array(memory);
    }
  }

  /** Pairs kept. */
  get count(): number {
    return this.order.length;
  }

  /** Forget every pair. */
  clear(): void {
    this.order.length = 0;
    this.rho.length = 0;
  }

  /** Keep the pair (s, y) with rho = 1 / (s . y), dropping the oldest when `memory` are kept. */
  push(s: Float64Array, y: Float64Array, rho: number): void {
    let slot: number;
    if (this.order.length === this.memory) {
      slot = this.order.shift() as number;
      this.rho.shift();
    } else {
      // the slot no kept pair uses
      slot = 0;
      while (this.order.includes(slot)) slot++;
    }
    (this.s[slot] as Float64Array).set(s);
    (this.y[slot] as Float64Array).set(y);
    this.order.push(slot);
    this.rho.push(rho);
  }

  /** d = -H g from the pairs kept (d = -g without any). */
  direction(g: Float64Array): Float64Array {
    const { n, order, rho, d } = this;
    const h = order.length;
    if (this.wasm) {
      const w = this.wasm;
      w.g.set(g);
      for (let t = 0; t < h; t++) {
        w.order[t] = order[t] as number;
        w.rho[t] = rho[t] as number;
      }
      w.kernels.twoLoop(w.at.g, w.at.d, w.at.s, w.at.y, w.at.rho, w.at.alpha, w.at.order, h, n);
      return d;
    }
    for (let j = 0; j < n; j++) d[j] = -(g[j] as number);
    for (let t = h - 1; t >= 0; t--) {
      const a = (rho[t] as number) * dot(this.s[order[t] as number] as Float64Array, d);
      this.alpha[t] = a;
      axpy(-a, this.y[order[t] as number] as Float64Array, d);
    }
    if (h > 0) {
      const yl = this.y[order[h - 1] as number] as Float64Array;
      const gamma = dot(this.s[order[h - 1] as number] as Float64Array, yl) / dot(yl, yl);
      for (let j = 0; j < n; j++) d[j] = (d[j] as number) * gamma;
    }
    for (let t = 0; t < h; t++) {
      const b = (rho[t] as number) * dot(this.y[order[t] as number] as Float64Array, d);
      axpy((this.alpha[t] as number) - b, this.s[order[t] as number] as Float64Array, d);
    }
    return d;
  }
}

/** sum_j a[j] b[j], j ascending (the order the wasm vdot keeps). */
function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j] as number) * (b[j] as number);
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let j = 0; j < y.length; j++) y[j] = (y[j] as number) + a * (x[j] as number);
}
