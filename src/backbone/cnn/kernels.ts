/**
 * The CNN trainer's WebAssembly kernels (assembly/cnn/, compiled by scripts/build-kernels.mjs into cnn-kernels.wasm
 * beside this file) and the two memories they work in:
 *
 *     ParamMemory     a network's params, their gradients and SGD velocity, and the filters made from the params
 *                     (DerivedFilter): sgd, gather
 *     ImageBatches    batches of images as the network reads them (crop, mirror, normalise): images
 *
 * The memories are not shared and never grow, so the arrays handed out are views that stay valid: onnxruntime reads
 * the params, filters and images from them and writes the gradients into them, with no copy. Between two runs of a
 * training step this is all the work left to JavaScript; in JavaScript loops it took 4.4 ms of a 95 ms step, here
 * 0.7 ms (docs/performance.md).
 */
import { fileURLToPath } from 'node:url';
import type { Rng } from '../../rng.ts';
import { fixedWasmMemory, instantiateModule, loadKernelModule, type WasmMemory, type WasmModule } from '../../train/_internal/wasm-kernels.ts';
import type { DerivedFilter, ParamSpec } from './network.ts';

interface CnnKernels {
  sgd(p: number, g: number, v: number, n: number, lr: number, momentum: number, wd: number): void;
  gather(dst: number, src: number, map: number, n: number): void;
  images(x: number, pixels: number, crops: number, count: number, size: number, table: number): void;
}

/** The compiled module file (src/backbone/cnn/ in a clone, dist/backbone/cnn/ in the package). */
export const CNN_KERNELS_FILE = new URL('./cnn-kernels.wasm', import.meta.url);

let compiled: WasmModule | undefined;

function kernels(memory: WasmMemory): CnnKernels {
  compiled ??= loadKernelModule(fileURLToPath(CNN_KERNELS_FILE));
  return instantiateModule(compiled, memory) as CnnKernels;
}

/** Byte addresses of consecutive 16-byte-aligned regions. */
function layout(sizes: readonly number[]): { at: number[]; bytes: number } {
  const at: number[] = [];
  let bytes = 0;
  for (const s of sizes) {
    at.push(bytes);
    bytes += 16 * Math.ceil(s / 16);
  }
  return { at, bytes };
}

const count = (p: ParamSpec): number => p.dims.reduce((a, b) => a * b, 1);

/**
 * A network's training state in WebAssembly memory: the params (flat, in {@link ParamSpec} order; `params` are
 * views of them), the gradients a run writes (`grads`), SGD's velocity, and the derived filters (`filters`, made by
 * {@link derive} from the resident params or from any others, which are copied in first).
 */
export class ParamMemory {
  /** The resident params, one view per param. */
  readonly params: Float32Array[];
  /** Gradients, one view per param: the training graphs' outputs are written here. */
  readonly grads: Float32Array[];
  /** All the gradients, param after param: one view over {@link grads}. */
  readonly flatGrads: Float32Array;
  /** The derived filters by name (views), as of the last {@link derive}. */
  readonly filters: ReadonlyMap<string, Float32Array>;
  private readonly k: CnnKernels;
  private readonly total: number;
  private readonly at: { params: number; scratch: number; velocity: number; grads: number };
  private readonly scratch: Float32Array[];
  private readonly gathers: ReadonlyMap<string, { dst: number; map: number; n: number }>;

  constructor(specs: readonly ParamSpec[], derived: readonly DerivedFilter[]) {
    const total = specs.reduce((s, p) => s + count(p), 0);
    const filterValues = derived.reduce((s, d) => s + d.map.length, 0);
    const { at, bytes } = layout([4 * total, 4 * total, 4 * total, 4 * total, 4 * filterValues, 4 * filterValues]);
    const [params, scratch, velocity, grads, filters, maps] = at as [number, number, number, number, number, number];
    const memory = fixedWasmMemory(bytes);
    this.k = kernels(memory);
    this.total = total;
    this.at = { params, scratch, velocity, grads };
    const views = (base: number): Float32Array[] => {
      let offset = base;
      return specs.map((p) => {
        const v = new Float32Array(memory.buffer, offset, count(p));
        offset += 4 * v.length;
        return v;
      });
    };
    this.params = views(params);
    this.scratch = views(scratch);
    this.grads = views(grads);
    this.flatGrads = new Float32Array(memory.buffer, grads, total);
    // each filter's map as indices into the flat params (the same for the resident params and the scratch copy)
    const start = new Map<string, number>();
    let offset = 0;
    for (const p of specs) {
      start.set(p.name, offset);
      offset += count(p);
    }
    const filterViews = new Map<string, Float32Array>();
    const gathers = new Map<string, { dst: number; map: number; n: number }>();
    let f = 0;
    for (const d of derived) {
      const base = start.get(d.source);
      if (base === undefined) throw new Error(`cnn kernels: filter ${d.name} is made from ${d.source}, not a param`);
      const flat = new Int32Array(memory.buffer, maps + 4 * f, d.map.length);
      for (let i = 0; i < flat.length; i++) {
        const j = d.map[i] as number;
        flat[i] = j < 0 ? -1 : base + j;
      }
      filterViews.set(d.name, new Float32Array(memory.buffer, filters + 4 * f, d.map.length));
      gathers.set(d.name, { dst: filters + 4 * f, map: maps + 4 * f, n: d.map.length });
      f += d.map.length;
    }
    this.filters = filterViews;
    this.gathers = gathers;
  }

  /** True when `params` are the resident params' views. */
  isResident(params: readonly Float32Array[]): boolean {
    return params.length === this.params.length && params.every((p, i) => p === this.params[i]);
  }

  /**
   * Make the filters named in `names` (all when absent) from `params`: the resident params, or any others of the
   * same sizes (copied in first, leaving the resident params as they are).
   */
  derive(params: readonly Float32Array[], names?: Iterable<string>): void {
    let src = this.at.params;
    if (!this.isResident(params)) {
      params.forEach((p, i) => (this.scratch[i] as Float32Array).set(p));
      src = this.at.scratch;
    }
    for (const name of names ?? this.gathers.keys()) {
      const g = this.gathers.get(name);
      if (g) this.k.gather(g.dst, src, g.map, g.n);
    }
  }

  /**
   * One step of SGD with momentum and coupled weight decay on the resident params with `grads` (PyTorch's
   * torch.optim.SGD, dampening 0, no Nesterov, in float32 as its CPU kernel: g' = g + wd p; v = momentum v + g';
   * p = p - lr v; the velocity starts at 0).
   */
  sgd(lr: number, momentum: number, weightDecay: number): void {
    this.k.sgd(this.at.params, this.at.grads, this.at.velocity, this.total, lr, momentum, weightDecay);
  }
}

/** How a training batch is augmented: a random shift of up to `padding` pixels each way, and a random mirror. */
export interface Augment {
  readonly rng: Rng;
  readonly padding: number;
}

/**
 * Batches of up to `capacity` images of `size x size` RGB bytes (HWC) made into what the network reads: float32
 * NCHW, each byte v as (v / 255 - 0.5) / 0.25. With {@link Augment}, each image is shifted by (dy, dx) drawn
 * uniformly in [-padding, padding] (the rows and columns it leaves are zero padding: -2 after normalising), and
 * mirrored left-right with probability 1/2; the draws per image, in order: dy, dx, mirror.
 *
 * @example
 * const batches = new ImageBatches(64, 256);
 * const x = batches.load(pixels, [0, 5, 7], null); // 3 x 3 x 64 x 64, valid until the next load
 */
export class ImageBatches {
  private readonly k: CnnKernels;
  private readonly x: Float32Array;
  private readonly pixels: Uint8Array;
  private readonly crops: Int32Array;
  private readonly at: { x: number; pixels: number; crops: number; table: number };

  constructor(readonly size: number, readonly capacity: number) {
    const image = 3 * size * size;
    const { at, bytes } = layout([4 * 257, 12 * capacity, image * capacity, 4 * image * capacity]);
    const [table, crops, pixels, x] = at as [number, number, number, number];
    const memory = fixedWasmMemory(bytes);
    this.k = kernels(memory);
    const t = new Float32Array(memory.buffer, table, 257);
    for (let v = 0; v < 256; v++) t[v] = (v / 255 - 0.5) / 0.25;
    t[256] = t[0] as number;
    this.crops = new Int32Array(memory.buffer, crops, 3 * capacity);
    this.pixels = new Uint8Array(memory.buffer, pixels, image * capacity);
    this.x = new Float32Array(memory.buffer, x, image * capacity);
    this.at = { x, pixels, crops, table };
  }

  /**
   * The images `indices` of `pixels` (images of `size x size x 3` bytes, one after another), augmented or not: a
   * view of `indices.length x 3 x size x size` float32, valid until the next load.
   */
  load(pixels: Uint8Array, indices: ArrayLike<number>, augment: Augment | null): Float32Array {
    const n = indices.length;
    if (n > this.capacity) throw new RangeError(`image batches: ${n} images, room for ${this.capacity}`);
    const image = 3 * this.size * this.size;
    for (let r = 0; r < n; r++) {
      const src = (indices[r] as number) * image;
      this.pixels.set(pixels.subarray(src, src + image), r * image);
      let dy = 0;
      let dx = 0;
      let flip = 0;
      if (augment) {
        dy = augment.rng.int(2 * augment.padding + 1) - augment.padding;
        dx = augment.rng.int(2 * augment.padding + 1) - augment.padding;
        flip = augment.rng.float() < 0.5 ? 1 : 0;
      }
      this.crops[3 * r] = dy;
      this.crops[3 * r + 1] = dx;
      this.crops[3 * r + 2] = flip;
    }
    this.k.images(this.at.x, this.at.pixels, this.at.crops, n, this.size, this.at.table);
    return this.x.subarray(0, n * image);
  }
}
