/**
 * The MLP's passes as two ONNX graphs run by onnxruntime-node (its MLAS float32 GEMM), for wide networks where the
 * own float64 kernels (mlp-net.ts) are slow: a 512 x 512 network on Adult's 26,049 training rows is about 49 GFLOP
 * per epoch, which took 12x less CPU time here than on the own kernels (bench/backbones-mlp-wide.ts, one thread each).
 *
 *   forward:  a_0 = x;  z_l = a_l W_l + b_l;  a_{l+1} = relu(z_l) (hidden layers);  logits = z_{L-1}
 *   backward: given dz = d loss / d logits: for l = L-1 .. 0:
 *             dW_l = a_l^T dz_l,  db_l = sum over rows of dz_l,  dz_{l-1} = (dz_l W_l^T) * sign(a_l)
 *
 * sign(a_l) is 1 where the ReLU was active and 0 where it was not (its derivative at 0 taken as 0, as mlp-net.ts
 * does). The weights stay float64 in {@link MlpParams} (the optimiser's state); each pass feeds a float32 copy.
 */
import * as ort from 'onnxruntime-node';
import type { Matrix } from '../../data/matrix.ts';
import { OnnxBuilder } from '../cnn/onnx-builder.ts';
import type { MlpParams } from './mlp-net.ts';

/** The graphs of a network of layer sizes `sizes` ([inputs, ...hidden, outputs]); the backward one only with `training`. */
export function mlpGraphs(sizes: readonly number[], training: boolean): { forward: Uint8Array; backward: Uint8Array | null } {
  const L = sizes.length - 1;
  const f = new OnnxBuilder('mlp_forward');
  let a = f.input('x', ['N', sizes[0] as number]);
  for (let l = 0; l < L; l++) {
    const z = f.node('Gemm', [a, f.input(`w${l}`, [sizes[l] as number, sizes[l + 1] as number]), f.input(`b${l}`, [sizes[l + 1] as number])]);
    if (l + 1 < L) {
      a = f.node('Relu', [z], {}, [`h${l + 1}`]);
      f.output(a);
    } else {
      f.node('Identity', [z], {}, ['logits']);
      f.output('logits');
    }
  }
  if (!training) return { forward: f.toBytes(), backward: null };
  const b = new OnnxBuilder('mlp_backward');
  let dz = b.input('dz', ['N', sizes[L] as number]);
  for (let l = L - 1; l >= 0; l--) {
    const input = l === 0 ? b.input('x', ['N', sizes[0] as number]) : b.input(`h${l}`, ['N', sizes[l] as number]);
    b.node('Gemm', [input, dz], { transA: 1 }, [`grad_w${l}`]);
    b.output(`grad_w${l}`);
    b.node('ReduceSum', [dz, b.ints([0])], { keepdims: 0 }, [`grad_b${l}`]);
    b.output(`grad_b${l}`);
    if (l > 0) {
      const da = b.node('Gemm', [dz, b.input(`w${l}`, [sizes[l] as number, sizes[l + 1] as number])], { transB: 1 });
      dz = b.node('Mul', [da, b.node('Sign', [input])]);
    }
  }
  return { forward: f.toBytes(), backward: b.toBytes() };
}

/**
 * onnxruntime sessions of one MLP shape, with the float32 buffers of a batch. One instance serves one training run
 * (or one embedding pass); {@link release} closes it.
 *
 * @example
 * const engine = await MlpOnnxEngine.create([106, 512, 512, 1], 256, { training: true });
 * engine.load(x, 0, 128, order);
 * const logits = await engine.forward(params, 128); // 128 x 1, float32
 * await engine.backward(params, dz, 128, grad);      // grad.flat = d loss / d params
 */
export class MlpOnnxEngine {
  private readonly x: Float32Array;
  private readonly w: Float32Array[];
  private readonly b: Float32Array[];
  private hidden: ort.Tensor[] = [];

  private constructor(
    readonly sizes: readonly number[],
    readonly maxRows: number,
    private readonly forwardSession: ort.InferenceSession,
    private readonly backwardSession: ort.InferenceSession | null,
  ) {
    this.x = new Float32Array(maxRows * (sizes[0] as number));
    this.w = sizes.slice(1).map((out, l) => new Float32Array((sizes[l] as number) * out));
    this.b = sizes.slice(1).map((out) => new Float32Array(out));
  }

  /**
   * Sessions for a network of `sizes`, batches of up to `maxRows` rows: the forward one, and with `training` the
   * backward one too (an embedding pass never runs it). `threads`: onnxruntime intra-op threads.
   */
  static async create(sizes: readonly number[], maxRows: number, options: { training: boolean; threads?: number | undefined }): Promise<MlpOnnxEngine> {
    const graphs = mlpGraphs(sizes, options.training);
    const settings: ort.InferenceSession.SessionOptions = {
      executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'all',
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
    };
    const [forward, backward] = await Promise.all([
      ort.InferenceSession.create(graphs.forward, settings),
      graphs.backward ? ort.InferenceSession.create(graphs.backward, settings) : null,
    ]);
    return new MlpOnnxEngine(sizes, maxRows, forward, backward);
  }

  /** Copy `n` rows of `x` (rows `order[start..start+n)`, or `start..start+n` without `order`) into the batch. */
  load(x: Matrix, start: number, n: number, order?: Int32Array): void {
    const d = x.cols;
    if (!order) {
      this.x.set(x.data.subarray(start * d, (start + n) * d));
      return;
    }
    for (let r = 0; r < n; r++) {
      const src = (order[start + r] as number) * d;
      this.x.set(x.data.subarray(src, src + d), r * d);
    }
  }

  private weightFeeds(p: MlpParams, from: number): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    for (let l = from; l < this.w.length; l++) {
      const w = this.w[l] as Float32Array;
      w.set(p.weights[l] as Float64Array);
      feeds[`w${l}`] = new ort.Tensor('float32', w, [this.sizes[l] as number, this.sizes[l + 1] as number]);
      if (from === 0) {
        const b = this.b[l] as Float32Array;
        b.set(p.biases[l] as Float64Array);
        feeds[`b${l}`] = new ort.Tensor('float32', b, [this.sizes[l + 1] as number]);
      }
    }
    return feeds;
  }

  /**
   * Forward pass of the `n` loaded rows: the logits (`n x outputs`); the hidden activations are kept for
   * {@link backward}. `embedding`: also return the last hidden layer (`n x sizes[L-1]`).
   */
  async forward(p: MlpParams, n: number): Promise<{ logits: Float32Array; embedding: Float32Array }> {
    const d = this.sizes[0] as number;
    const out = await this.forwardSession.run({ x: new ort.Tensor('float32', this.x.subarray(0, n * d), [n, d]), ...this.weightFeeds(p, 0) });
    const L = this.sizes.length - 1;
    this.hidden = [];
    for (let l = 1; l < L; l++) this.hidden.push(out[`h${l}`] as ort.Tensor);
    return { logits: (out['logits'] as ort.Tensor).data as Float32Array, embedding: (out[`h${L - 1}`] as ort.Tensor).data as Float32Array };
  }

  /** Gradient of the loss whose d / d logits is `dz` (`n x outputs`) at the last {@link forward}, written into `g` (overwritten). */
  async backward(p: MlpParams, dz: Float64Array, n: number, g: MlpParams): Promise<void> {
    if (!this.backwardSession) throw new Error('mlp engine: created without the backward session');
    const L = this.sizes.length - 1;
    const d = this.sizes[0] as number;
    const k = this.sizes[L] as number;
    const feeds: Record<string, ort.Tensor> = {
      x: new ort.Tensor('float32', this.x.subarray(0, n * d), [n, d]),
      dz: new ort.Tensor('float32', Float32Array.from(dz.subarray(0, n * k)), [n, k]),
      ...this.weightFeeds(p, 1),
    };
    this.hidden.forEach((h, i) => {
      feeds[`h${i + 1}`] = h;
    });
    const out = await this.backwardSession.run(feeds);
    for (let l = 0; l < L; l++) {
      (g.weights[l] as Float64Array).set((out[`grad_w${l}`] as ort.Tensor).data as Float32Array);
      (g.biases[l] as Float64Array).set((out[`grad_b${l}`] as ort.Tensor).data as Float32Array);
    }
  }

  /** Close the sessions. */
  async release(): Promise<void> {
    await Promise.all([this.forwardSession.release(), this.backwardSession?.release()]);
  }
}
