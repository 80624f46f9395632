/**
 * The CNN engine: the ONNX graphs of src/backbone/cnn/network.ts run by onnxruntime-node (its MLAS convolution
 * kernels), with the weights held outside the graphs (float32) and fed to every run.
 *
 * Training runs one graph per step (forward, loss gradient and backward together, so that no activation crosses to
 * JavaScript); the separate forward and backward graphs serve a loss computed in JavaScript. The params being
 * trained, their gradients, SGD's velocity and the filters made from the params live in WebAssembly memory
 * (./kernels.ts ParamMemory), which onnxruntime reads and writes in place.
 *
 * Chosen by measurement over our own kernels (im2col + a WebAssembly SIMD GEMM, bench/_wasm-conv.ts): see
 * bench/cnn-engines.ts and bench/results/cnn-engines.json (also `engineComparison` in bench/results/cnn.json).
 */
import * as ort from 'onnxruntime-node';
import type { Rng } from '../../rng.ts';
import { nchwcBlockSize } from './nchwc.ts';
import { ParamMemory } from './kernels.ts';
import { buildGraphs, describeNetwork, type BnSpec, type CnnArchitecture, type CnnGraphs, type ParamSpec } from './network.ts';

/** The weights of a CNN: one float32 array per {@link ParamSpec} and running mean/variance per BN layer. */
export interface CnnWeights {
  readonly params: Float32Array[];
  readonly runningMean: Float32Array[];
  readonly runningVar: Float32Array[];
}

/** Fresh weights: convolutions Kaiming-normal (fan-out, std sqrt(2 / fan)), BN gamma 1 beta 0, linear U(+-1/sqrt(fan-in)). */
export function initialWeights(arch: CnnArchitecture, rng: Rng): CnnWeights {
  const { params, bns } = describeNetwork(arch);
  return {
    params: params.map((p) => {
      const a = new Float32Array(p.dims.reduce((x, y) => x * y, 1));
      if (p.init === 'one') a.fill(1);
      else if (p.init === 'kaiming') {
        const std = Math.sqrt(2 / p.fan);
        for (let i = 0; i < a.length; i++) a[i] = rng.normal() * std;
      } else if (p.init === 'linear') {
        const bound = 1 / Math.sqrt(p.fan);
        for (let i = 0; i < a.length; i++) a[i] = (2 * rng.float() - 1) * bound;
      }
      return a;
    }),
    runningMean: bns.map((b) => new Float32Array(b.channels)),
    runningVar: bns.map((b) => new Float32Array(b.channels).fill(1)),
  };
}

/** A deep copy of `w`. */
export function cloneWeights(w: CnnWeights): CnnWeights {
  return {
    params: w.params.map((a) => Float32Array.from(a)),
    runningMean: w.runningMean.map((a) => Float32Array.from(a)),
    runningVar: w.runningVar.map((a) => Float32Array.from(a)),
  };
}

/** onnxruntime sessions of one architecture. */
export class CnnEngine {
  readonly params: readonly ParamSpec[];
  readonly bns: readonly BnSpec[];
  private forwardSession: Promise<ort.InferenceSession> | null = null;
  private backwardSession: Promise<ort.InferenceSession> | null = null;

  private constructor(
    readonly arch: CnnArchitecture,
    private readonly graphs: CnnGraphs,
    private readonly settings: ort.InferenceSession.SessionOptions,
    private readonly trainSession: ort.InferenceSession | null,
    private readonly inferenceSession: ort.InferenceSession,
  ) {
    const d = describeNetwork(arch);
    this.params = d.params;
    this.bns = d.bns;
    this.memory = new ParamMemory(d.params, graphs.derived);
  }

  /** The resident params, gradients, velocity and derived filters. */
  private readonly memory: ParamMemory;

  /**
   * Sessions for `arch`: with `training`, the fused training step too (the separate forward and backward sessions
   * are created on first use). `threads`: intra-op threads.
   */
  static async create(arch: CnnArchitecture, options: { training: boolean; threads?: number | undefined }): Promise<CnnEngine> {
    const graphs = buildGraphs(arch, { nchwcBlock: await nchwcBlockSize() });
    const settings: ort.InferenceSession.SessionOptions = {
      executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'all',
    };
    if (options.threads !== undefined) settings.intraOpNumThreads = options.threads;
    const [train, inference] = await Promise.all([
      options.training ? ort.InferenceSession.create(graphs.train, settings) : null,
      ort.InferenceSession.create(graphs.inference, settings),
    ]);
    return new CnnEngine(arch, graphs, settings, train, inference);
  }

  /**
   * The params, and the filters made from them that `session` takes (reordered, flipped: DerivedFilter in
   * ./network.ts), made in WebAssembly memory.
   */
  private paramFeeds(w: CnnWeights, session: ort.InferenceSession): Record<string, ort.Tensor> {
    const feeds: Record<string, ort.Tensor> = {};
    this.params.forEach((p, i) => {
      feeds[p.name] = new ort.Tensor('float32', w.params[i] as Float32Array, p.dims as number[]);
    });
    let wanted = this.wanted.get(session);
    if (!wanted) {
      wanted = this.graphs.derived.filter((d) => session.inputNames.includes(d.name));
      this.wanted.set(session, wanted);
    }
    this.memory.derive(w.params, wanted.map((d) => d.name));
    for (const d of wanted) feeds[d.name] = new ort.Tensor('float32', this.memory.filters.get(d.name) as Float32Array, [...d.dims]);
    return feeds;
  }

  /** The derived filters each session takes. */
  private readonly wanted = new Map<ort.InferenceSession, CnnGraphs['derived']>();

  /**
   * Weights whose params are the engine's resident params, set to `w`'s values (BN statistics: `w`'s arrays): the
   * weights {@link sgdStep} trains. Runs with them read the params in place.
   */
  adopt(w: CnnWeights): CnnWeights {
    w.params.forEach((p, i) => (this.memory.params[i] as Float32Array).set(p));
    return { params: this.memory.params, runningMean: w.runningMean, runningVar: w.runningVar };
  }

  /**
   * One SGD step with momentum and coupled weight decay on the weights of {@link adopt}, with the gradients of the
   * last {@link trainStep} or {@link backward} (PyTorch's torch.optim.SGD in float32, dampening 0, no Nesterov; the
   * velocity starts at 0).
   */
  sgdStep(lr: number, momentum: number, weightDecay: number): void {
    this.memory.sgd(lr, momentum, weightDecay);
  }

  private input(x: Float32Array, n: number): ort.Tensor {
    const s = this.arch.size;
    return new ort.Tensor('float32', x.subarray(0, n * 3 * s * s), [n, 3, s, s]);
  }

  /** PyTorch's running-statistics rule: r <- (1 - m) r + m batch, the variance unbiased (m = momentum). */
  private updateRunning(w: CnnWeights, out: ort.InferenceSession.OnnxValueMapType, stats: CnnGraphs['stats'], n: number, momentum: number): void {
    if (!(momentum > 0)) return;
    stats.forEach((s, i) => {
      const bn = this.bns[i] as BnSpec;
      const m = n * bn.side * bn.side;
      const mean = (out[s.mean] as ort.Tensor).data as Float32Array;
      const variance = (out[s.variance] as ort.Tensor).data as Float32Array;
      const rm = w.runningMean[i] as Float32Array;
      const rv = w.runningVar[i] as Float32Array;
      const unbias = m > 1 ? m / (m - 1) : 1;
      for (let c = 0; c < rm.length; c++) {
        rm[c] = (1 - momentum) * (rm[c] as number) + momentum * (mean[c] as number);
        rv[c] = (1 - momentum) * (rv[c] as number) + momentum * (variance[c] as number) * unbias;
      }
    });
  }

  /**
   * One training step of `n` images (`x`: NCHW float32) in one run: BN on batch statistics, and the gradients of
   * `scale` x the summed cross-entropy against `target` (n x outputs: 0/1 labels for one logit, one-hot rows for
   * K logits). Returns the logits and the gradients (one float32 array per param, in {@link params} order, valid
   * until the next run: {@link sgdStep} applies them); updates the running BN statistics of `w` when `momentum` > 0
   * (see {@link forward}).
   */
  async trainStep(w: CnnWeights, x: Float32Array, target: Float32Array, n: number, scale: number, momentum: number): Promise<{ logits: Float32Array; grads: Float32Array[] }> {
    if (!this.trainSession) throw new Error('cnn engine: created without training sessions');
    const k = this.arch.outputs;
    const fetches = this.trainFetches(n);
    await this.trainSession.run({
      x: this.input(x, n), ...this.paramFeeds(w, this.trainSession),
      target: new ort.Tensor('float32', target.subarray(0, n * k), [n, k]),
      scale: new ort.Tensor('float32', Float32Array.of(scale), []),
    }, fetches);
    this.updateRunning(w, fetches, this.graphs.trainStats, n, momentum);
    return {
      logits: (fetches['logits'] as ort.Tensor).data as Float32Array,
      grads: this.params.map((p) => (fetches[`grad_${p.name}`] as ort.Tensor).data as Float32Array),
    };
  }

  /**
   * The training step's outputs, allocated once and written by onnxruntime in place at every step (no allocation,
   * no copy, nothing for the garbage collector): trainStep's results are valid until the next trainStep.
   */
  private trainFetches(n: number): Record<string, ort.Tensor> {
    if (this.fetches?.n !== n) {
      const tensors: Record<string, ort.Tensor> = { logits: new ort.Tensor('float32', new Float32Array(n * this.arch.outputs), [n, this.arch.outputs]), ...this.gradFetches };
      this.graphs.trainStats.forEach((s, i) => {
        const c = (this.bns[i] as BnSpec).channels;
        tensors[s.mean] = new ort.Tensor('float32', new Float32Array(c), [c]);
        tensors[s.variance] = new ort.Tensor('float32', new Float32Array(c), [c]);
      });
      this.fetches = { n, tensors };
    }
    return this.fetches.tensors;
  }

  private fetches: { n: number; tensors: Record<string, ort.Tensor> } | null = null;

  /** The gradient outputs (`grad_NAME`) of the training and backward graphs: tensors over the resident gradients. */
  private get gradFetches(): Record<string, ort.Tensor> {
    this.grads ??= Object.fromEntries(this.params.map((p, i) => [`grad_${p.name}`, new ort.Tensor('float32', this.memory.grads[i] as Float32Array, p.dims as number[])]));
    return this.grads;
  }

  private grads: Record<string, ort.Tensor> | undefined;

  /**
   * Training forward pass of `n` images (`x`: NCHW float32) with BN on batch statistics. Returns the logits
   * (`n x outputs`) and the tensors {@link backward} needs. Updates the running BN statistics of `w` when
   * `momentum` > 0 (PyTorch's rule: r <- (1 - m) r + m batch, the variance unbiased). For a loss computed in
   * JavaScript (e.g. a fairness term on the probabilities); {@link trainStep} does both passes in one run.
   */
  async forward(w: CnnWeights, x: Float32Array, n: number, momentum: number): Promise<{ logits: Float32Array; saved: ort.InferenceSession.OnnxValueMapType }> {
    if (!this.trainSession) throw new Error('cnn engine: created without training sessions');
    this.forwardSession ??= ort.InferenceSession.create(this.graphs.forward, this.settings);
    const session = await this.forwardSession;
    const out = await session.run({ x: this.input(x, n), ...this.paramFeeds(w, session) });
    this.updateRunning(w, out, this.graphs.stats, n, momentum);
    return { logits: (out['logits'] as ort.Tensor).data as Float32Array, saved: out };
  }

  /**
   * Gradients (one float32 array per param, in {@link params} order, valid until the next run: {@link sgdStep}
   * applies them) given d loss / d logits (`n x outputs`).
   */
  async backward(w: CnnWeights, saved: ort.InferenceSession.OnnxValueMapType, dlogits: Float32Array, n: number): Promise<Float32Array[]> {
    if (!this.trainSession) throw new Error('cnn engine: created without training sessions');
    this.backwardSession ??= ort.InferenceSession.create(this.graphs.backward, this.settings);
    const session = await this.backwardSession;
    const params = this.paramFeeds(w, session);
    const feeds: Record<string, ort.Tensor> = { dlogits: new ort.Tensor('float32', dlogits.subarray(0, n * this.arch.outputs), [n, this.arch.outputs]) };
    for (const name of session.inputNames) if (name !== 'dlogits') feeds[name] = (params[name] ?? saved[name]) as ort.Tensor;
    await session.run(feeds, this.gradFetches);
    return this.memory.grads;
  }

  /** Inference (BN on running statistics): embeddings (`n x c_last`) and logits (`n x outputs`). */
  async infer(w: CnnWeights, x: Float32Array, n: number): Promise<{ embedding: Float32Array; logits: Float32Array }> {
    const feeds: Record<string, ort.Tensor> = { x: this.input(x, n), ...this.paramFeeds(w, this.inferenceSession) };
    this.bns.forEach((b, i) => {
      feeds[`${b.name}_rm`] = new ort.Tensor('float32', w.runningMean[i] as Float32Array, [1, b.channels, 1, 1]);
      feeds[`${b.name}_rv`] = new ort.Tensor('float32', w.runningVar[i] as Float32Array, [1, b.channels, 1, 1]);
    });
    const out = await this.inferenceSession.run(feeds);
    return { embedding: (out['embedding'] as ort.Tensor).data as Float32Array, logits: (out['logits'] as ort.Tensor).data as Float32Array };
  }

  /** Close the sessions. */
  async release(): Promise<void> {
    const split = await Promise.all([this.forwardSession, this.backwardSession]);
    await Promise.all([...split.map((session) => session?.release()), this.trainSession?.release(), this.inferenceSession.release()]);
  }
}
