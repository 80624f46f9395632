/**
 * The CNN's architecture (a small ResNet) and its passes written as ONNX graphs:
 *
 *   stem:   conv3x3(3 -> c0) -> BN -> ReLU -> maxpool 2x2            (size -> size/2)
 *   stage s (one basic block, stride 1 for s = 0 else 2, c_{s-1} -> c_s):
 *           y = ReLU( BN(conv3x3(ReLU(BN(conv3x3_stride(x))))) + shortcut(x) ),
 *           shortcut = x when the shape is kept, else BN(conv1x1_stride(x))
 *   head:   global average pool -> embedding (c_last values) -> linear (1 logit for 2 classes, else K)
 *
 * Convolutions have no bias (BN follows). BN: batch statistics in training (biased variance, eps 1e-5), running
 * statistics at inference (momentum 0.1, unbiased variance), as PyTorch does. In training, the stem's conv, BN and
 * pool run as one stride-2 4x4 convolution whose outputs are the pool's windows (Emitter.pooledStem), and filters in
 * other layouts than the params' are made outside the graph and fed ({@link DerivedFilter}).
 *
 * Backward pass (reverse-mode, emitted by hand, one rule per layer):
 * - conv y = W * x (stride s, pad p): dx = ConvTranspose(dy, W); dW[o,i,a,b] = sum_{n,y,x} dy[n,o,y,x] xpad[n,i,sy+a,sx+b]
 *   = Conv(x^T, dy^T, dilation s) with batch and channel axes swapped, cropped to k x k.
 * - BN: dgamma = sum dy xhat, dbeta = sum dy, dx = inv_std (g - mean(g) - xhat mean(g xhat)) with g = gamma dy.
 * - ReLU: dx = dy sign(y); maxpool: dy goes to the first input holding its window's max; add: dy to both.
 * - GAP: dx = dz / (h w) broadcast; linear: dW = dlogits^T z, db = sum dlogits, dz = dlogits W.
 */
import { InputError } from '../../errors.ts';
import { OnnxBuilder } from './onnx-builder.ts';

/** The shape of a CNN: input side `size` (RGB), channels of each stage, and the number of logits. */
export interface CnnArchitecture {
  readonly size: number;
  readonly channels: readonly number[];
  readonly outputs: number;
}

/** One trained tensor: its name, dimensions, and how it is initialised. */
export interface ParamSpec {
  readonly name: string;
  readonly dims: readonly number[];
  readonly init: 'kaiming' | 'one' | 'zero' | 'linear';
  /** For 'kaiming': fan-out (cout * k * k); for 'linear': fan-in. */
  readonly fan: number;
}

/** A BN layer: running statistics `${name}_rm`, `${name}_rv` of `channels` values, over maps of `side x side`. */
export interface BnSpec {
  readonly name: string;
  readonly channels: number;
  readonly side: number;
}

/** Check that `channels` fits an input of `size`: every down-sampling step must halve an even side. */
export function checkArchitecture(size: number, channels: readonly number[]): void {
  if (!Number.isInteger(size) || size < 2) throw new InputError(`cnn option size: expected an integer >= 2 (image side in pixels), received ${String(size)}`);
  if (!Array.isArray(channels) || channels.length === 0 || !channels.every((c) => Number.isInteger(c) && c >= 1)) {
    throw new InputError(`cnn option channels: expected one or more stage widths (integers >= 1, e.g. 16,32,64,128), received ${JSON.stringify(channels)}`);
  }
  const halvings = channels.length; // the stem's maxpool + one stride-2 block per stage after the first
  const factor = 2 ** halvings;
  if (size % factor !== 0) {
    const examples = [1, 2, 3, 4].map((m) => m * factor).join(', ');
    throw new InputError(
      `cnn: input size ${size} does not fit channels [${channels.join(', ')}]: the stem pool and ${halvings - 1} stride-2 stages halve the side ${halvings} times, so it must be a multiple of ${factor} (e.g. ${examples}); resize the images or use fewer stages`,
    );
  }
}

/** The trained tensors and BN layers of `arch`, in a fixed order (the order of the JSON form). */
export function describeNetwork(arch: CnnArchitecture): { params: ParamSpec[]; bns: BnSpec[] } {
  const params: ParamSpec[] = [];
  const bns: BnSpec[] = [];
  const conv = (name: string, cin: number, cout: number, k: number): void => {
    params.push({ name, dims: [cout, cin, k, k], init: 'kaiming', fan: cout * k * k });
  };
  const bn = (name: string, c: number, side: number): void => {
    params.push({ name: `${name}_g`, dims: [1, c, 1, 1], init: 'one', fan: 0 });
    params.push({ name: `${name}_b`, dims: [1, c, 1, 1], init: 'zero', fan: 0 });
    bns.push({ name, channels: c, side });
  };
  const c0 = arch.channels[0] as number;
  conv('stem_conv', 3, c0, 3);
  bn('stem_bn', c0, arch.size);
  let cin = c0;
  let side = arch.size / 2;
  arch.channels.forEach((cout, s) => {
    const stride = s === 0 ? 1 : 2;
    side /= stride;
    conv(`s${s}_conv1`, cin, cout, 3);
    bn(`s${s}_bn1`, cout, side);
    conv(`s${s}_conv2`, cout, cout, 3);
    bn(`s${s}_bn2`, cout, side);
    if (stride !== 1 || cin !== cout) {
      conv(`s${s}_down`, cin, cout, 1);
      bn(`s${s}_downbn`, cout, side);
    }
    cin = cout;
  });
  params.push({ name: 'fc_w', dims: [arch.outputs, cin], init: 'linear', fan: cin });
  params.push({ name: 'fc_b', dims: [arch.outputs], init: 'linear', fan: cin });
  return { params, bns };
}

/** onnxruntime's operator domain of its NCHWc (channel-blocked) kernels. */
const NCHWC = 'com.microsoft.nchwc';

/**
 * A filter the graph takes as an input, made from a param before each run: value[i] = param[map[i]], 0 where
 * map[i] < 0 ({@link deriveFilters}; the engine's WebAssembly `gather`, ./kernels.ts). Reordering a filter in the graph cost a Transpose per filter per
 * step, which onnxruntime runs on one thread and slowly (6-d permutations, about 1 GB/s: 2.3 ms of a 2-thread step).
 */
export interface DerivedFilter {
  /** The graph input's name. */
  readonly name: string;
  /** The param it is made from. */
  readonly source: string;
  readonly dims: readonly number[];
  readonly map: Int32Array;
}

/** A conv filter [cout, cin, k, k]: a param of the graph, or made from one (`map` into the param, -1 for a zero). */
export interface FilterRef {
  readonly name: string;
  readonly source?: { readonly param: string; readonly map: Int32Array };
}

/** Feeds for `derived` filters from the params' values (`values[source]`), into `out` when given (reused). */
export function deriveFilters(derived: readonly DerivedFilter[], values: (param: string) => Float32Array, out?: Map<string, Float32Array>): Map<string, Float32Array> {
  const result = out ?? new Map<string, Float32Array>();
  for (const d of derived) {
    let v = result.get(d.name);
    if (!v || v.length !== d.map.length) {
      v = new Float32Array(d.map.length);
      result.set(d.name, v);
    }
    const src = values(d.source);
    const map = d.map;
    for (let i = 0; i < map.length; i++) {
      const j = map[i] as number;
      v[i] = j < 0 ? 0 : (src[j] as number);
    }
  }
  return result;
}

/** The param index behind each value of a filter made by `ref` (identity for a param itself). */
function sourceIndex(ref: FilterRef, i: number): number {
  return ref.source ? (ref.source.map[i] as number) : i;
}

/**
 * y = Conv(x, w) (no bias; w: [cout, cin, k, k], an input of the graph, not a constant). With `block` > 0 and a
 * 3x3 (or larger) kernel whose channels fit the block (cout a multiple of it, cin too or smaller than it), the
 * convolution runs on onnxruntime's NCHWc kernel: onnxruntime does this itself for constant filters only, so the
 * filter is fed in the layout that kernel reads (OIHWBiBo: [cout/B, cin/B, k, k, B_in, B_out]; OIHWBo: [cout/B,
 * cin, k, k, B_out] for an NCHW input of fewer than B channels), made in TypeScript ({@link DerivedFilter}), and x
 * and y are reordered to and from NCHWc around it. See ./nchwc.ts for how the block size is found and checked. A
 * filter made from a param (`w.source`) is fed the same way. `derive` records the filters the graph takes.
 */
function convNode(g: OnnxBuilder, x: string, w: FilterRef, cin: number, cout: number, k: number, stride: number, pad: number, block: number, derive: (d: DerivedFilter) => void): string {
  const attributes = { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad] };
  const blocked = block > 0 && k > 1 && cout % block === 0 && (cin % block === 0 || cin < block);
  const input = (d: DerivedFilter): string => {
    derive(d);
    return g.input(d.name, d.dims);
  };
  const dims = [cout, cin, k, k];
  const param = w.source ? w.source.param : w.name;
  if (!blocked) {
    const filter = w.source ? input({ name: w.name, source: param, dims, map: w.source.map }) : w.name;
    return g.node('Conv', [x, filter], attributes);
  }
  const kk = k * k;
  const map = new Int32Array(cout * cin * kk);
  if (cin < block) {
    // [cout/B, cin, k, k, B]
    for (let i = 0; i < map.length; i++) {
      const bo = i % block;
      const uv = Math.floor(i / block) % kk;
      const ci = Math.floor(i / (block * kk)) % cin;
      const ob = Math.floor(i / (block * kk * cin));
      map[i] = sourceIndex(w, ((ob * block + bo) * cin + ci) * kk + uv);
    }
  } else {
    // [cout/B, cin/B, k, k, B_in, B_out]
    for (let i = 0; i < map.length; i++) {
      const bo = i % block;
      const bi = Math.floor(i / block) % block;
      const uv = Math.floor(i / (block * block)) % kk;
      const ib = Math.floor(i / (block * block * kk)) % (cin / block);
      const ob = Math.floor(i / (block * block * kk * (cin / block)));
      map[i] = sourceIndex(w, ((ob * block + bo) * cin + ib * block + bi) * kk + uv);
    }
  }
  const filter = input({ name: `${w.name}__nchwc${block}`, source: param, dims, map });
  const y = g.nodeIn(NCHWC, 'Conv', [cin < block ? x : g.nodeIn(NCHWC, 'ReorderInput', [x]), filter], attributes);
  return g.nodeIn(NCHWC, 'ReorderOutput', [y], { channels: cout });
}

/** The filter of dx = conv(dy, .) for a stride-1 conv with filter `w` [cout, cin, k, k]: w flipped in space, in and out channels swapped. */
function flippedFilter(w: string, cout: number, cin: number, k: number): FilterRef {
  const kk = k * k;
  const map = new Int32Array(cout * cin * kk);
  for (let i = 0; i < map.length; i++) {
    const uv = i % kk;
    const o = Math.floor(i / kk) % cout;
    const ci = Math.floor(i / (kk * cout));
    map[i] = (o * cin + ci) * kk + (kk - 1 - uv); // (u, v) -> (k-1-u, k-1-v) is uv -> kk-1-uv
  }
  return { name: `${w}__flipped`, source: { param: w, map } };
}

/** Emits forward nodes into F and, in training mode, records how to emit their backward nodes into B. */
class Emitter {
  private readonly tape: (() => void)[] = [];
  private readonly grads = new Map<string, string[]>();
  private readonly summed = new Map<string, string>();
  /** Forward tensors the backward pass reads. */
  readonly saved = new Set<string>();
  /** The int64 ones among them (maxpool indices); the others are float. */
  readonly int64 = new Set<string>();
  /** The tensor holding the logits (set by {@link emit}). */
  logitsTensor = '';
  /** BN batch statistics (train) as [mean, var] output names per BN layer. */
  readonly stats: { name: string; mean: string; variance: string }[] = [];

  constructor(
    readonly f: OnnxBuilder,
    readonly b: OnnxBuilder | null,
    readonly dims: ReadonlyMap<string, readonly number[]>,
    /** onnxruntime's NCHWc block size for the blocked convolutions ({@link convNode}); 0: plain Conv only. */
    readonly nchwcBlock = 0,
  ) {}

  private use(name: string): string {
    this.saved.add(name);
    return name;
  }

  private addGrad(t: string, g: string): void {
    const list = this.grads.get(t);
    if (list) list.push(g);
    else this.grads.set(t, [g]);
  }

  /** The gradient of forward tensor `t` (summed over its consumers), or undefined when nothing flows to it. */
  grad(t: string): string | undefined {
    const done = this.summed.get(t);
    if (done) return done;
    const list = this.grads.get(t);
    if (!list || list.length === 0 || !this.b) return undefined;
    // two terms by Add, which onnxruntime runs on all threads (its Sum runs on one)
    const g = list.length === 1 ? (list[0] as string) : this.b.node(list.length === 2 ? 'Add' : 'Sum', list);
    this.summed.set(t, g);
    return g;
  }

  /** Set the gradient of `t` from outside (dlogits). */
  seed(t: string, g: string): void {
    this.addGrad(t, g);
    this.batchTensor ??= g;
  }

  /** A backward tensor whose first dimension is the batch size N (the seed). */
  private batchTensor: string | undefined;
  private readonly inverseCounts = new Map<number, string>();

  /** -1 / m for m = N * `perImage` values (a BN channel's count), once per `perImage` in the backward graph. */
  private negativeInverseCount(perImage: number): string {
    const b = this.b as OnnxBuilder;
    let t = this.inverseCounts.get(perImage);
    if (!t) {
      this.batchSize ??= b.node('Cast', [this.batchShape()], { to: 1 });
      t = b.node('Div', [b.scalar(-1 / perImage), this.batchSize]);
      this.inverseCounts.set(perImage, t);
    }
    return t;
  }

  private batchSize: string | undefined;

  /** Run the recorded backward rules, last layer first. */
  backward(): void {
    for (let i = this.tape.length - 1; i >= 0; i--) (this.tape[i] as () => void)();
  }

  /** Name `grad_${param}` for the gradient of param `p` in B. */
  paramGrad(p: string): void {
    const g = this.grad(p);
    if (!this.b || !g) return;
    this.b.node('Identity', [g], {}, [`grad_${p}`]);
    this.b.output(`grad_${p}`);
  }

  /** The filters this emitter's graphs take as inputs, made from params ({@link DerivedFilter}). */
  readonly derived = new Map<string, DerivedFilter>();
  private readonly record = (d: DerivedFilter): void => {
    this.derived.set(d.name, d);
  };

  /** y = conv(x, w), w a param or a filter made from one (`wDims`: its dims, when it is not a param). */
  conv(x: string, w: string | FilterRef, hIn: number, k: number, stride: number, pad: number, needDx: boolean, wDims?: readonly number[]): string {
    const ref = typeof w === 'string' ? { name: w } : w;
    const [cout, cin] = (wDims ?? this.dims.get(ref.name)) as readonly number[] as [number, number];
    const y = convNode(this.f, x, ref, cin, cout, k, stride, pad, this.nchwcBlock, this.record);
    const hOut = Math.floor((hIn + 2 * pad - k) / stride) + 1;
    const b = this.b;
    if (b) {
      this.tape.push(() => {
        const dy = this.grad(y);
        if (!dy) return;
        if (needDx && ref.source) throw new Error(`cnn graph: dx through the made filter ${ref.name} is not written`);
        if (needDx && stride === 1) {
          // dx = the full correlation of dy with W flipped in space, in- and output channels swapped (a plain Conv:
          // onnxruntime runs it faster than ConvTranspose)
          const q = k - 1 - pad;
          this.addGrad(x, convNode(b, dy, flippedFilter(ref.name, cout, cin, k), cout, cin, k, 1, q, this.nchwcBlock, this.record));
        } else if (needDx) {
          const op = hIn - ((hOut - 1) * stride - 2 * pad + k);
          const dx = b.node('ConvTranspose', [dy, this.use(ref.name)], {
            kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], output_padding: [op, op],
          });
          this.addGrad(x, dx);
        }
        // the fastest of three ways per shape, measured layer by layer on one thread (bench/results/cnn-engines.json)
        let dw: string;
        if (stride === 1 && k > 1 && cin >= 8 && hIn >= 8) dw = this.dwShifted(x, dy, cin, cout, k, pad, hOut);
        else if (hIn >= 16 || k === 1) dw = this.dwBatched(x, dy, cin, cout, hIn, k, stride, pad, hOut);
        else dw = this.dwGemm(x, dy, cin, cout, k, stride, pad, hOut);
        this.addGrad(ref.name, b.node('Reshape', [dw, b.ints([cout, cin, k, k])]));
      });
    }
    return y;
  }

  /**
   * dW[:, :, a, c] = sum_n dy_c[n] x_a[n]^T for each kernel offset (a, c): k * k batched MatMuls over [cout, L] x
   * [L, cin], no im2col tensor of k * k times x's size. Both operands are windows of flattened maps (L = hOut rows
   * of the padded width), so each is one contiguous run per channel, a copy onnxruntime makes several times faster
   * than a 2-d window: x_a = rows a.. of the padded x (a Gather of whole rows), dy_c = dy moved c columns right
   * (between zero columns, a Concat). k windows of x and k of dy serve the k * k offsets. Stride 1 only. Faster than
   * {@link dwBatched} and {@link dwGemm} on 3x3 layers of 8 to 32 px with 8 or more input channels.
   */
  private dwShifted(x: string, dy: string, cin: number, cout: number, k: number, pad: number, hOut: number): string {
    const b = this.b as OnnxBuilder;
    const wp = hOut + k - 1; // the padded width hIn + 2 pad
    const hIn = wp - 2 * pad;
    const length = hOut * wp;
    // The zero padding is made by Concat with zeros, which onnxruntime copies on all threads, where its Pad, 3x
    // slower on these maps, runs on one. In rows of wp values, a row's left padding is the row before's right
    // padding, so x gets 2 pad zero columns on the right, and pad rows (+ pad values) of zeros before and after:
    // then index Y wp + X holds xpad[Y, X], and rows[a][n, i, y wp + x] = xpad[n, i, y + a, x].
    const xr = b.node('Reshape', [b.node('Concat', [this.use(x), this.zeros([cin, hIn, 2 * pad])], { axis: 3 }), b.ints([0, cin, hIn * wp])]);
    // (after the data, wp - pad more zeros: whole rows, so that the windows of x are whole rows, which a Gather
    // copies on all threads, 2-3x faster here than a Slice)
    const xq = b.node('Reshape', [
      b.node('Concat', [this.zeros([cin, pad * wp + pad]), xr, this.zeros([cin, pad * wp + wp - pad])], { axis: 2 }),
      b.ints([0, cin, hIn + 2 * pad + 1, wp]),
    ]);
    const rows = Array.from({ length: k }, (_, a) => b.node('Reshape', [
      b.node('Gather', [xq, b.ints(Array.from({ length: hOut }, (_, y) => a + y))], { axis: 2 }), b.ints([0, cin, length]),
    ]));
    // moved[c][n, o, y wp + x] = dy[n, o, y, x - c], 0 outside (so that every product of a window's x with a
    // column x - c outside dy is 0): dy between c and k - 1 - c zero columns, by Concat
    const moved = Array.from({ length: k }, (_, c) => {
      const parts = [...(c > 0 ? [this.zeros([cout, hOut, c])] : []), dy, ...(c < k - 1 ? [this.zeros([cout, hOut, k - 1 - c])] : [])];
      return b.node('Reshape', [b.node('Concat', parts, { axis: 3 }), b.ints([0, cout, length])]);
    });
    const parts: string[] = [];
    for (let a = 0; a < k; a++) {
      for (let c = 0; c < k; c++) {
        const cols = b.node('Transpose', [rows[a] as string], { perm: [0, 2, 1] });
        parts.push(b.node('Unsqueeze', [b.node('MatMul', [moved[c] as string, cols]), b.ints([3])])); // [N, cout, cin, 1]
      }
    }
    return b.node('ReduceSum', [b.node('Concat', parts, { axis: 3 }), b.ints([0])], { keepdims: 0 });
  }

  /** Zeros [N, ...dims] in the backward graph (N: the batch size), one tensor per shape. */
  private zeros(dims: readonly number[]): string {
    const b = this.b as OnnxBuilder;
    const key = dims.join(',');
    let t = this.zeroTensors.get(key);
    if (!t) {
      t = b.node('ConstantOfShape', [b.node('Concat', [this.batchShape(), b.ints(dims)], { axis: 0 })]);
      this.zeroTensors.set(key, t);
    }
    return t;
  }

  private readonly zeroTensors = new Map<string, string>();

  /** [N] (int64) in the backward graph: the batch size, from the seed's shape, one node for the whole graph. */
  private batchShape(): string {
    this.batchShapeNode ??= (this.b as OnnxBuilder).node('Shape', [this.batchTensor as string], { start: 0, end: 1 });
    return this.batchShapeNode;
  }

  private batchShapeNode: string | undefined;

  /**
   * dW = sum_n dy[n] cols[n]^T as one batched MatMul: dy[n] as [cout, hOut*hOut]; cols[n] (im2col) = [cin*k*k,
   * hOut*hOut], row (i, a, b) holding xpad[n, i, stride*y + a, stride*x + b] over (y, x), made by a grouped Conv of
   * every input channel with the k*k one-hot kernels (exact: one product by 1 per value). Faster than
   * {@link dwGemm} on maps of 16 px and more (measured layer by layer, one thread).
   */
  private dwBatched(x: string, dy: string, cin: number, cout: number, hIn: number, k: number, stride: number, pad: number, hOut: number): string {
    const b = this.b as OnnxBuilder;
    const eye = b.floats([cin * k * k, 1, k, k], Array.from({ length: cin * k ** 4 }, (_, i) => (i % (k * k * k * k) % (k * k + 1) === 0 ? 1 : 0)));
    const cols = b.node('Conv', [this.use(x), eye], { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group: cin });
    const colsT = b.node('Transpose', [b.node('Reshape', [cols, b.ints([-1, cin * k * k, hOut * hOut])])], { perm: [0, 2, 1] });
    const products = b.node('MatMul', [b.node('Reshape', [dy, b.ints([-1, cout, hOut * hOut])]), colsT]);
    return b.node('ReduceSum', [products, b.ints([0])], { keepdims: 0 });
  }

  /**
   * dW = dy2 cols^T as one Gemm: dy2 = dy as [cout, N*hOut*hOut]; cols (im2col) = [cin*k*k, N*hOut*hOut], row
   * (i, a, b) holding xpad[n, i, stride*y + a, stride*x + b] over (n, y, x), made of k*k strided Slices.
   */
  private dwGemm(x: string, dy: string, cin: number, cout: number, k: number, stride: number, pad: number, hOut: number): string {
    const b = this.b as OnnxBuilder;
    const xt = b.node('Transpose', [this.use(x)], { perm: [1, 0, 2, 3] });
    const xp = pad > 0 ? b.node('Pad', [xt, b.ints([0, 0, pad, pad, 0, 0, pad, pad])]) : xt;
    const slices: string[] = [];
    const end = (hOut - 1) * stride + 1;
    for (let a = 0; a < k; a++) {
      for (let c = 0; c < k; c++) {
        slices.push(k === 1 && stride === 1 ? xp : b.node('Slice', [xp, b.ints([a, c]), b.ints([a + end, c + end]), b.ints([2, 3]), b.ints([stride, stride])]));
      }
    }
    const stacked = slices.length === 1 ? (slices[0] as string) : b.node('Concat', slices, { axis: 1 });
    const cols = b.node('Reshape', [stacked, b.ints([cin * k * k, -1])]);
    const dy2 = b.node('Reshape', [b.node('Transpose', [dy], { perm: [1, 0, 2, 3] }), b.ints([cout, -1])]);
    return b.node('Gemm', [dy2, cols], { transB: 1 });
  }

  /**
   * BN on batch statistics of x (maps of `side` x `side`; the stem's are 4 per image, so its side is the input's).
   * `dense` false: no backward rule is recorded here; the caller writes it from {@link bnFactors} (the stem, whose
   * output gradient is zero but at the pool's maxima).
   */
  bnTrain(x: string, name: string, side: number, dense = true): { y: string; mean: string; variance: string } {
    const f = this.f;
    const gamma = `${name}_g`;
    const beta = `${name}_b`;
    const c = this.bnChannels(name);
    // onnxruntime's BatchNormalization in training mode (opset 15) normalises with the batch statistics in one kernel;
    // with momentum 0 its "running" outputs are the batch mean and biased variance themselves
    const y = f.fresh('bn');
    const mean = f.fresh('bn_mean');
    const variance = f.fresh('bn_var');
    const flat = (t: string): string => f.node('Reshape', [t, f.ints([c])]);
    f.node('BatchNormalization', [x, flat(gamma), flat(beta), f.floats([c], new Array<number>(c).fill(0)), f.floats([c], new Array<number>(c).fill(1))], {
      epsilon: { float: 1e-5 }, momentum: { float: 0 }, training_mode: 1,
    }, [y, mean, variance]);
    this.stats.push({ name, mean, variance });
    const b = this.b;
    if (b && dense) {
      this.tape.push(() => {
        const dy = this.grad(y);
        if (!dy) return;
        // xc = x - mean, centred here from the saved x and mean (a sum of dy x minus mean sum(dy) would cancel digits
        // when |mean| >> std)
        const axes = b.ints([0, 2, 3]);
        const xc = b.node('Sub', [this.use(x), b.node('Reshape', [this.use(mean), b.ints([1, c, 1, 1])])]);
        const s1 = b.node('ReduceSum', [dy, axes], { keepdims: 1 });
        const p = b.node('ReduceSum', [b.node('Mul', [dy, xc]), axes], { keepdims: 1 });
        const { a, cx, d } = this.bnFactors(name, variance, side, s1, p);
        this.addGrad(x, b.node('Add', [b.node('Add', [b.node('Mul', [dy, a]), b.node('Mul', [xc, cx])]), d]));
      });
    }
    return { y, mean, variance };
  }

  private bnChannels(name: string): number {
    return (this.dims.get(`${name}_g`) as readonly number[])[1] as number;
  }

  /**
   * BN's backward, the per-channel part, from s1 = sum(dy) and p = sum(dy xc) over the m = N side^2 values of a
   * channel (xc = x - mean, inv = 1 / sqrt(var + eps), all [1, c, 1, 1]): records dgamma = inv p and dbeta = s1, and
   * returns the factors of dx = gamma inv (dy - s1 / m - xc inv^2 p / m) = a dy + cx xc + d, with a = gamma inv,
   * k = -a / m, cx = k inv dgamma, d = k s1 (in as few nodes as they take: each costs a kernel launch).
   */
  private bnFactors(name: string, variance: string, side: number, s1: string, p: string): { a: string; cx: string; d: string } {
    const b = this.b as OnnxBuilder;
    const gamma = `${name}_g`;
    const inv = b.node('Reciprocal', [b.node('Sqrt', [b.node('Add', [b.node('Reshape', [this.use(variance), b.ints([1, this.bnChannels(name), 1, 1])]), b.scalar(1e-5)])])]);
    const dgamma = b.node('Mul', [p, inv]);
    this.addGrad(gamma, dgamma);
    this.addGrad(`${name}_b`, s1);
    const a = b.node('Mul', [this.use(gamma), inv]);
    const k = b.node('Mul', [a, this.negativeInverseCount(side * side)]);
    return { a, cx: b.node('Mul', [k, b.node('Mul', [inv, dgamma])]), d: b.node('Mul', [k, s1]) };
  }

  bnInfer(x: string, name: string): string {
    const f = this.f;
    const inv = f.node('Reciprocal', [f.node('Sqrt', [f.node('Add', [`${name}_rv`, f.scalar(1e-5)])])]);
    const scale = f.node('Mul', [`${name}_g`, inv]);
    return f.node('Add', [f.node('Mul', [f.node('Sub', [x, `${name}_rm`]), scale]), `${name}_b`]);
  }

  relu(x: string): string {
    const y = this.f.node('Relu', [x]);
    const b = this.b;
    if (b) {
      this.tape.push(() => {
        const dy = this.grad(y);
        if (dy) this.addGrad(x, b.node('Mul', [dy, b.node('Cast', [b.node('Greater', [this.use(y), b.scalar(0)])], { to: 1 })]));
      });
    }
    return y;
  }

  add(a: string, c: string): string {
    const y = this.f.node('Add', [a, c]);
    if (this.b) {
      this.tape.push(() => {
        const dy = this.grad(y);
        if (!dy) return;
        this.addGrad(a, dy);
        this.addGrad(c, dy);
      });
    }
    return y;
  }

  /**
   * The stem in training: conv3x3 (stride 1, pad 1) -> BN -> maxpool 2x2, returning the pooled (pre-ReLU) map
   * [N, c, size/2, size/2]. The convolution runs as a stride-2 4x4 convolution with 4c filters, filter (r, s, o) =
   * w[o] placed at offset (r, s) of the 4x4, so that its output block (r, s) holds the 3x3 convolution at (2i + r,
   * 2j + s): the maps come out already split into the pool's 4 window positions (a SpaceToDepth of the 3x3 output
   * took 3.5 ms of a 2-thread step, on one thread). BN normalises the 4 blocks as one batch of 4N maps (the same
   * values, so the same statistics). The pool is the maximum over the blocks and the first block holding it (ties
   * included, as PyTorch's); its gradient goes back to that block (MaxUnpool at the flat index), dw is the sum of the
   * 4x4 filters' gradients at their offsets.
   */
  pooledStem(x: string, w: string, size: number): string {
    const f = this.f;
    const [c, cin, k] = this.dims.get(w) as readonly number[] as [number, number, number];
    const h = size / 2;
    const phases = [[0, 0], [0, 1], [1, 0], [1, 1]] as const;
    // w4[(p, o), i, u, v] = w[o, i, u - r, v - s] for phase p = (r, s), 0 outside
    const k4 = k + 1;
    const map = new Int32Array(4 * c * cin * k4 * k4).fill(-1);
    phases.forEach(([r, s], p) => {
      for (let o = 0; o < c; o++) {
        for (let i = 0; i < cin; i++) {
          for (let u = 0; u < k; u++) {
            for (let v = 0; v < k; v++) map[(((p * c + o) * cin + i) * k4 + u + r) * k4 + v + s] = ((o * cin + i) * k + u) * k + v;
          }
        }
      }
    });
    const w4: FilterRef = { name: `${w}__phases`, source: { param: w, map } };
    const b = this.b;
    if (b) {
      this.tape.push(() => {
        const d4 = this.grad(w4.name);
        if (!d4) return;
        const parts = phases.map(([r, s], p) => b.node('Slice', [d4, b.ints([p * c, r, s]), b.ints([(p + 1) * c, r + k, s + k]), b.ints([0, 2, 3])]));
        this.addGrad(w, b.node('Sum', parts));
      });
    }
    const y4 = this.conv(x, w4, size, k4, 2, 1, false, [4 * c, cin, k4, k4]);
    const maps = f.node('Reshape', [y4, f.ints([-1, c, h, h])]); // [4N, c, h, h]: block p of image n at 4n + p
    this.reshapeGrad(maps, y4, [-1, 4 * c, h, h]);
    const { y: normalised, mean, variance } = this.bnTrain(maps, 'stem_bn', size, false);
    const windows = f.node('Reshape', [normalised, f.ints([-1, 4, c, h, h])]);
    const y = f.node('Reshape', [f.node('ReduceMax', [windows], { axes: [1], keepdims: 1 }), f.ints([-1, c, h, h])]);
    const position = f.node('ArgMax', [windows], { axis: 1, keepdims: 1 }); // [N, 1, c, h, h]
    this.int64.add(position);
    if (b) {
      this.tape.push(() => {
        const dy = this.grad(y);
        if (!dy) return;
        // The gradient reaching BN's output is dy at each window's maximum and 0 at its 3 other positions, so BN's
        // sums over it (s1 = sum(dy), p = sum(dy xc)) are sums over the pooled maps, with xc taken at the maxima;
        // the map-sized passes left are dx = a dy + cx xc + d: the affine part cx xc + d over all positions, plus
        // a dy scattered to the maxima. (The dense rule would take 8 passes over maps 4x the pooled size.)
        const axes = b.ints([0, 2, 3]);
        const s1 = b.node('ReduceSum', [dy, axes], { keepdims: 1 });
        const mean4 = b.node('Reshape', [this.use(mean), b.ints([1, c, 1, 1])]);
        const atMax = b.node('GatherElements', [b.node('Reshape', [this.use(maps), b.ints([-1, 4, c, h, h])]), this.use(position)], { axis: 1 });
        const xcAtMax = b.node('Sub', [b.node('Reshape', [atMax, b.ints([-1, c, h, h])]), mean4]);
        const p = b.node('ReduceSum', [b.node('Mul', [dy, xcAtMax]), axes], { keepdims: 1 });
        const { a, cx, d } = this.bnFactors('stem_bn', variance, size, s1, p);
        // cx (x - mean) + d in one pass: BatchNormalization in inference mode with scale cx, bias d, the batch mean
        // and variance 1 - eps (so that 1 / sqrt(var + eps) = 1; onnxruntime does not take epsilon 0). Two bytes
        // moved per value where Sub, Mul and Add on two threads move six: the same kernel time on a quiet machine
        const flat = (t: string): string => b.node('Reshape', [t, b.ints([c])]);
        const affine = b.node('BatchNormalization', [this.use(maps), flat(cx), flat(d), flat(mean4), b.floats([c], new Array<number>(c).fill(1 - 1e-5))], { epsilon: { float: 1e-5 } });
        // a dy to the maxima: the flat index in [N, 4, c, h, h] is n 4 c h h + position c h h + (ch h + i) h + j
        const block = c * h * h;
        const batch = b.node('Range', [b.node('Squeeze', [b.ints([0])]), b.node('Squeeze', [this.batchShape()]), b.node('Squeeze', [b.ints([1])])]);
        const first = b.node('Mul', [b.node('Reshape', [batch, b.ints([-1, 1, 1, 1])]), b.ints([4 * block])]);
        const within = b.node('Reshape', [b.ints(Array.from({ length: block }, (_, i) => i)), b.ints([1, c, h, h])]);
        const index = b.node('Add', [b.node('Add', [first, within]), b.node('Mul', [b.node('Reshape', [position, b.ints([-1, c, h, h])]), b.ints([block])])]);
        const unpooled = b.node('MaxUnpool', [b.node('Mul', [dy, a]), index], { kernel_shape: [2, 2], strides: [2, 2] }); // [N, c, 2h, 2h], 4 N c h h values
        this.addGrad(maps, b.node('Add', [affine, b.node('Reshape', [unpooled, b.ints([-1, c, h, h])])]));
      });
    }
    return y;
  }

  /** Record that `from` = Reshape(`to`): the gradient of `to` is that of `from` reshaped to `dims`. */
  private reshapeGrad(from: string, to: string, dims: readonly number[]): void {
    const b = this.b;
    if (!b) return;
    this.tape.push(() => {
      const g = this.grad(from);
      if (g) this.addGrad(to, b.node('Reshape', [g, b.ints(dims)]));
    });
  }

  globalAveragePool(x: string, channels: number, h: number): string {
    const z = this.f.node('Flatten', [this.f.node('GlobalAveragePool', [x])], { axis: 1 });
    const b = this.b;
    if (b) {
      this.tape.push(() => {
        const dz = this.grad(z);
        if (!dz) return;
        const r = b.node('Reshape', [b.node('Mul', [dz, b.scalar(1 / (h * h))]), b.ints([-1, channels, 1, 1])]);
        this.addGrad(x, b.node('Expand', [r, b.ints([1, 1, h, h])]));
      });
    }
    return z;
  }

  linear(z: string, w: string, bias: string): string {
    const y = this.f.node('Gemm', [z, w, bias], { transB: 1 });
    const b = this.b;
    if (b) {
      this.tape.push(() => {
        const dy = this.grad(y);
        if (!dy) return;
        this.addGrad(w, b.node('Gemm', [dy, this.use(z)], { transA: 1 }));
        this.addGrad(bias, b.node('ReduceSum', [dy, b.ints([0])], { keepdims: 0 }));
        this.addGrad(z, b.node('MatMul', [dy, this.use(w)]));
      });
    }
    return y;
  }
}

/** The ONNX graphs of one architecture, and the names that connect them. */
export interface CnnGraphs {
  /**
   * One training step, forward and backward in one run (nothing crosses to JavaScript but the results): inputs x,
   * params, `target` (N x outputs: the label for one logit, one-hot rows for K) and `scale` (a scalar, e.g. 1 / N);
   * d loss / d logits = scale (act(logits) - target), act = sigmoid (one logit) or softmax, i.e. the gradient of
   * scale x the summed cross-entropy. Outputs logits, BN batch statistics and grad_<param> for every param.
   */
  readonly train: Uint8Array;
  /** Training forward: inputs x + params; outputs logits, BN batch statistics, tensors saved for backward. */
  readonly forward: Uint8Array;
  /** Backward: inputs dlogits + saved tensors (+ params); outputs grad_<param> for every param. */
  readonly backward: Uint8Array;
  /** BN layer name -> forward output names of its batch mean and (biased) variance, shape 1 x C x 1 x 1. */
  readonly stats: readonly { name: string; mean: string; variance: string }[];
  /** The same for the fused `train` graph. */
  readonly trainStats: readonly { name: string; mean: string; variance: string }[];
  /** Inference: inputs x + params + running stats; outputs `embedding` (N x c_last) and `logits`. */
  readonly inference: Uint8Array;
  /** The filters the graphs take as inputs besides the params, made from them before each run ({@link deriveFilters}). */
  readonly derived: readonly DerivedFilter[];
}

/** Opset of the training graphs: 15 for BatchNormalization's training mode. */
const TRAIN_OPSET = 15;

/** Emit the network; `train` adds BN batch statistics and the backward graph. */
function emit(arch: CnnArchitecture, f: OnnxBuilder, b: OnnxBuilder | null, nchwcBlock: number): Emitter {
  const { params, bns } = describeNetwork(arch);
  const dims = new Map(params.map((p) => [p.name, p.dims]));
  const e = new Emitter(f, b, dims, nchwcBlock);
  f.input('x', ['N', 3, arch.size, arch.size]);
  for (const p of params) f.input(p.name, p.dims);
  if (!b) for (const bn of bns) for (const s of ['rm', 'rv']) f.input(`${bn.name}_${s}`, [1, bn.channels, 1, 1]);
  const bn = (x: string, name: string, side: number): string => (b ? e.bnTrain(x, name, side).y : e.bnInfer(x, name));
  const c0 = arch.channels[0] as number;
  let h = arch.size;
  // relu(maxpool(.)) = maxpool(relu(.)), and the gradients are the same too (a window whose maximum is <= 0 passes
  // none either way): the ReLU then runs on a quarter of the values
  const pooled = b
    ? e.pooledStem('x', 'stem_conv', h)
    : f.node('MaxPool', [e.bnInfer(e.conv('x', 'stem_conv', h, 3, 1, 1, false), 'stem_bn')], { kernel_shape: [2, 2], strides: [2, 2] });
  let x = e.relu(pooled);
  h /= 2;
  let cin = c0;
  arch.channels.forEach((cout, s) => {
    const stride = s === 0 ? 1 : 2;
    const hOut = h / stride;
    let y = e.relu(bn(e.conv(x, `s${s}_conv1`, h, 3, stride, 1, true), `s${s}_bn1`, hOut));
    y = bn(e.conv(y, `s${s}_conv2`, hOut, 3, 1, 1, true), `s${s}_bn2`, hOut);
    const shortcut = stride !== 1 || cin !== cout ? bn(e.conv(x, `s${s}_down`, h, 1, stride, 0, true), `s${s}_downbn`, hOut) : x;
    x = e.relu(e.add(y, shortcut));
    h = hOut;
    cin = cout;
  });
  const z = e.globalAveragePool(x, cin, h);
  f.node('Identity', [z], {}, ['embedding']);
  f.output('embedding');
  const logits = e.linear(z, 'fc_w', 'fc_b');
  e.logitsTensor = logits;
  f.node('Identity', [logits], {}, ['logits']);
  f.output('logits');
  return e;
}

/** How {@link buildGraphs} writes the graphs. */
export interface GraphOptions {
  /**
   * Run the 3x3 convolutions (forward, and backward to the input) on onnxruntime's NCHWc kernels with this block
   * size (what ./nchwc.ts's nchwcBlockSize finds on this machine); 0 or absent: plain ONNX Conv only (any runtime).
   */
  readonly nchwcBlock?: number;
}

/** Build the training (fused step; forward, backward) and inference graphs of `arch`. */
export function buildGraphs(arch: CnnArchitecture, options: GraphOptions = {}): CnnGraphs {
  const block = options.nchwcBlock ?? 0;
  checkArchitecture(arch.size, arch.channels);
  const { params } = describeNetwork(arch);
  const f = new OnnxBuilder('cnn_forward', TRAIN_OPSET);
  const b = new OnnxBuilder('cnn_backward', TRAIN_OPSET);
  const e = emit(arch, f, b, block);
  b.input('dlogits', ['N', arch.outputs]);
  e.seed(e.logitsTensor, 'dlogits');
  e.backward();
  for (const p of params) e.paramGrad(p.name);
  for (const s of e.stats) {
    f.output(s.mean);
    f.output(s.variance);
  }
  const dims = new Map(params.map((p) => [p.name, p.dims]));
  for (const name of e.saved) {
    const d = dims.get(name);
    if (d) b.input(name, d);
    else {
      const type = e.int64.has(name) ? 'int64' : 'float';
      f.output(name, type);
      b.input(name, undefined, type);
    }
  }

  // the fused step: the same rules, forward and backward nodes in one graph
  const t = new OnnxBuilder('cnn_train', TRAIN_OPSET);
  const te = emit(arch, t, t, block);
  t.input('target', ['N', arch.outputs]);
  t.input('scale', []);
  const act = arch.outputs === 1 ? t.node('Sigmoid', [te.logitsTensor]) : t.node('Softmax', [te.logitsTensor], { axis: 1 });
  te.seed(te.logitsTensor, t.node('Mul', [t.node('Sub', [act, 'target']), 'scale']));
  te.backward();
  for (const p of params) te.paramGrad(p.name);
  for (const s of te.stats) {
    t.output(s.mean);
    t.output(s.variance);
  }

  const g = new OnnxBuilder('cnn_inference');
  const ge = emit(arch, g, null, block);
  const derived = new Map([...e.derived, ...te.derived, ...ge.derived]);
  return {
    train: t.toBytes(), forward: f.toBytes(), backward: b.toBytes(), stats: e.stats, inference: g.toBytes(),
    trainStats: te.stats, derived: [...derived.values()],
  };
}

/**
 * One convolution layer alone, with the backward rules of the network (for tests and bench/cnn-engines.ts): inputs
 * x [N, cin, size, size], w [cout, cin, k, k] and dy [N, cout, ho, ho]; outputs y (the forward Conv), dx (d/dx of
 * sum(y dy)) and dw (d/dw). `nchwcBlock`: as {@link GraphOptions}.
 */
export function buildConvLayerGraph(cin: number, cout: number, size: number, k: number, stride: number, pad: number, nchwcBlock = 0): { bytes: Uint8Array; derived: DerivedFilter[] } {
  const g = new OnnxBuilder(`conv_${cin}_${cout}_${size}_${k}_${stride}`, TRAIN_OPSET);
  const ho = Math.floor((size + 2 * pad - k) / stride) + 1;
  g.input('x', ['N', cin, size, size]);
  g.input('w', [cout, cin, k, k]);
  g.input('dy', ['N', cout, ho, ho]);
  const e = new Emitter(g, g, new Map([['w', [cout, cin, k, k]]]), nchwcBlock);
  const y = e.conv('x', 'w', size, k, stride, pad, true);
  g.node('Identity', [y], {}, ['y']);
  g.output('y');
  e.seed(y, 'dy');
  e.backward();
  g.node('Identity', [e.grad('x') as string], {}, ['dx']);
  g.output('dx');
  g.node('Identity', [e.grad('w') as string], {}, ['dw']);
  g.output('dw');
  return { bytes: g.toBytes(), derived: [...e.derived.values()] };
}

/**
 * The training stem alone (for tests): conv3x3 (3 -> c) -> BN (batch statistics) -> maxpool 2x2, the backward rules
 * of {@link Emitter.pooledStem}: inputs x [N, 3, size, size], stem_conv, stem_bn_g, stem_bn_b and dy [N, c, size/2,
 * size/2]; outputs y (the pooled map) and the gradients grad_stem_conv, grad_stem_bn_g, grad_stem_bn_b of sum(y dy).
 */
export function buildStemGraph(c: number, size: number, nchwcBlock = 0): { bytes: Uint8Array; derived: DerivedFilter[] } {
  const g = new OnnxBuilder(`stem_${c}_${size}`, TRAIN_OPSET);
  const dims = new Map<string, readonly number[]>([['stem_conv', [c, 3, 3, 3]], ['stem_bn_g', [1, c, 1, 1]], ['stem_bn_b', [1, c, 1, 1]]]);
  g.input('x', ['N', 3, size, size]);
  for (const [name, d] of dims) g.input(name, d);
  g.input('dy', ['N', c, size / 2, size / 2]);
  const e = new Emitter(g, g, dims, nchwcBlock);
  const y = e.pooledStem('x', 'stem_conv', size);
  g.node('Identity', [y], {}, ['y']);
  g.output('y');
  e.seed(y, 'dy');
  e.backward();
  for (const name of dims.keys()) e.paramGrad(name);
  return { bytes: g.toBytes(), derived: [...e.derived.values()] };
}

/**
 * The graph ./nchwc.ts checks a block size with: two 3x3 convolutions computed both plainly and blocked
 * ({@link convNode}): `plain1`/`blocked1` on x1 [2, 3, 6, 6] (an NCHW input of fewer channels than the block) with
 * w1 [2B, 3, 3, 3], `plain2`/`blocked2` on x2 [2, 2B, 5, 5] with w2 [2B, 2B, 3, 3], stride 2.
 */
export function buildConvProbe(block: number): { bytes: Uint8Array; inputs: Record<string, number[]>; derived: DerivedFilter[] } {
  const c = 2 * block;
  const inputs: Record<string, number[]> = { x1: [2, 3, 6, 6], w1: [c, 3, 3, 3], x2: [2, c, 5, 5], w2: [c, c, 3, 3] };
  const g = new OnnxBuilder(`nchwc_probe_${block}`, TRAIN_OPSET);
  for (const [name, dims] of Object.entries(inputs)) g.input(name, dims);
  const derived: DerivedFilter[] = [];
  const pairs: [string, string, number, number][] = [['x1', 'w1', 3, 1], ['x2', 'w2', c, 2]];
  pairs.forEach(([x, w, cin, stride], i) => {
    g.node('Identity', [convNode(g, x, { name: w }, cin, c, 3, stride, 1, 0, (d) => derived.push(d))], {}, [`plain${i + 1}`]);
    g.node('Identity', [convNode(g, x, { name: w }, cin, c, 3, stride, 1, block, (d) => derived.push(d))], {}, [`blocked${i + 1}`]);
    g.output(`plain${i + 1}`);
    g.output(`blocked${i + 1}`);
  });
  return { bytes: g.toBytes(), inputs, derived };
}
