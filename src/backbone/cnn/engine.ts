/**
 * The CNN engine: the ONNX graphs of src/backbone/cnn/network.ts run by onnxruntime-node (its MLAS convolution
 * kernels), with the weights held outside the graphs (float32) and fed to every run.
 *
 * Training runs one graph per step (forward, loss gradient and backward together, so that no activation crosses to
 * JavaScript); the separate forward and backward graphs serve a loss computed in JavaScript. The params being
 * trained, their gradients, SGD's velocity and the filters made from the params live in WebAssembly memory
 * (./kernels.ts ParamMemory), which onnxruntime reads and writes in place.
 *
 * A training batch is normalised in BN groups (`bnRows`: groups of that many images or more, near-equal; a batch
 * of fewer than twice as many is one group), each group with its own batch statistics, as data-parallel training
 * normalises each device's share (ghost batch normalisation); the gradients are those of the whole batch's loss and
 * the running statistics those of the whole batch. With `replicas` > 1 the groups are shared out among copies of
 * the network that run at the same time (./replicas.ts): the first here, the others in worker threads. The network
 * trained depends on `bnRows`, not on the replicas or threads. Inference is cut into shares the same way and gives
 * what one engine gives.
 *
 * Chosen by measurement over our own kernels (im2col + a WebAssembly SIMD GEMM, bench/_wasm-conv.ts): see
 * bench/cnn-engines.ts and bench/results/cnn-engines.json (also `engineComparison` in bench/results/cnn.json).
 */
import * as ort from 'onnxruntime-node';
import type { Rng } from '../../rng.ts';
import { nchwcBlockSize } from './nchwc.ts';
import { ParamMemory } from './kernels.ts';
import { buildGraphs, describeNetwork, type BnSpec, type CnnArchitecture, type CnnGraphs, type ParamSpec } from './network.ts';
import { packInto } from './replica-memory.ts';
import { bnGroups, mergeStats, ReplicaWorkers, sharesOf, totalThreads } from './replicas.ts';

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

/** Weights of `arch` that are all zero (running variances too): room to copy weights into. */
export function emptyWeights(arch: CnnArchitecture): CnnWeights {
  const { params, bns } = describeNetwork(arch);
  return {
    params: params.map((p) => new Float32Array(p.dims.reduce((x, y) => x * y, 1))),
    runningMean: bns.map((b) => new Float32Array(b.channels)),
    runningVar: bns.map((b) => new Float32Array(b.channels)),
  };
}

/** BN batch statistics of a training run: per BN layer, the mean and the biased variance of each channel. */
export interface BatchStats {
  readonly mean: readonly Float32Array[];
  readonly variance: readonly Float32Array[];
}

/** A deep copy of `w`. */
export function cloneWeights(w: CnnWeights): CnnWeights {
  return {
    params: w.params.map((a) => Float32Array.from(a)),
    runningMean: w.runningMean.map((a) => Float32Array.from(a)),
    runningVar: w.runningVar.map((a) => Float32Array.from(a)),
  };
}

/** The tensors of a training forward pass that {@link CnnEngine.backward} needs, and how its rows were run. */
export interface SavedForward {
  /** The BN groups (rows of each) each replica ran, replica 0 first. */
  readonly plan: readonly (readonly number[])[];
  /** Replica 0's saved tensors, one map per group. */
  readonly tensors: readonly ort.InferenceSession.OnnxValueMapType[];
}

/** Where a run of BN groups writes: its logits (rows in order) and its merged BN statistics (all layers, flat). */
export interface GroupsOut {
  readonly logits: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
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
    private readonly workers: ReplicaWorkers | null,
    /** Images per BN group of a training batch (at least; Infinity: the whole batch). */
    readonly bnRows: number,
  ) {
    const d = describeNetwork(arch);
    this.params = d.params;
    this.bns = d.bns;
    this.memory = new ParamMemory(d.params, graphs.derived);
    this.replicas = workers ? workers.slots.length + 1 : 1;
    this.channels = d.bns.reduce((sum, b) => sum + b.channels, 0);
  }

  /** Copies of the network that share every run (1: this engine alone). */
  readonly replicas: number;

  /** BN channels of all layers: the length of a flat mean or variance. */
  readonly channels: number;

  /** The resident params, gradients, velocity and derived filters. */
  private readonly memory: ParamMemory;

  /** The gradients of the last training run, param after param (a view of the resident gradients). */
  get flatGrads(): Float32Array {
    return this.memory.flatGrads;
  }

  /**
   * Sessions for `arch`: with `training`, the fused training step too (the separate forward and backward sessions
   * are created on first use). `threads`: intra-op threads in all (default: onnxruntime's choice; with replicas,
   * one per CPU), shared out among `replicas` (default 1), which have room for runs of `maxRows` rows (default
   * 256). `bnRows`: images per BN group of a training batch (default: the whole batch).
   */
  static async create(
    arch: CnnArchitecture,
    options: { training: boolean; threads?: number | undefined; replicas?: number | undefined; maxRows?: number | undefined; bnRows?: number | undefined },
  ): Promise<CnnEngine> {
    const replicas = options.replicas ?? 1;
    if (!(Number.isInteger(replicas) && replicas >= 1)) throw new RangeError(`cnn engine: replicas must be an integer >= 1, received ${replicas}`);
    const bnRows = options.bnRows ?? Infinity;
    if (!(bnRows >= 1)) throw new RangeError(`cnn engine: bnRows must be >= 1, received ${bnRows}`);
    const threads = replicas > 1 ? Math.max(1, Math.floor(totalThreads(options.threads) / replicas)) : options.threads;
    const maxRows = options.maxRows ?? 256;
    // a replica's rows: its share of an inference run, or of a batch's groups (at most one group more than even)
    const rowsPerSlot = Math.ceil(maxRows / replicas) + (Number.isFinite(bnRows) ? Math.min(maxRows, 2 * bnRows) : maxRows);
    const workers = replicas > 1 ? new ReplicaWorkers(arch, { replicas, threads: threads as number, training: options.training, rowsPerSlot, bnRows }) : null;
    try {
      const graphs = buildGraphs(arch, { nchwcBlock: await nchwcBlockSize() });
      const settings: ort.InferenceSession.SessionOptions = {
        executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'all',
      };
      if (threads !== undefined) settings.intraOpNumThreads = threads;
      const [train, inference] = await Promise.all([
        options.training ? ort.InferenceSession.create(graphs.train, settings) : null,
        ort.InferenceSession.create(graphs.inference, settings),
        workers?.ready,
      ]);
      return new CnnEngine(arch, graphs, settings, train, inference, workers, bnRows);
    } catch (error) {
      await workers?.close();
      throw error;
    }
  }

  /**
   * The BN groups of a training batch of `n` rows, shared out among the replicas: contiguous runs of groups, as
   * even as they go (replica 0 first; fewer entries than replicas when there are fewer groups).
   */
  private plan(n: number): number[][] {
    const groups = bnGroups(n, this.bnRows);
    const counts = sharesOf(groups.length, this.replicas);
    const plan: number[][] = [];
    let at = 0;
    for (const c of counts) {
      plan.push(groups.slice(at, at + c));
      at += c;
    }
    if (this.workers) this.checkRoom(plan.map(sum));
    return plan;
  }

  /** Throw when a replica's rows would not fit its slot. */
  private checkRoom(rows: readonly number[]): void {
    const room = (this.workers as ReplicaWorkers).rowsPerSlot;
    if (rows.some((r) => r > room)) throw new RangeError(`cnn engine: a run of ${sum(rows)} rows, room for ${room} per replica (maxRows)`);
  }

  /** Rows of logits and embeddings put together from the replicas' shares, reused from run to run. */
  private rowsOut(kind: 'logits' | 'embedding', values: number): Float32Array {
    let a = this.outs[kind];
    if (a.length < values) {
      a = new Float32Array(values);
      this.outs[kind] = a;
    }
    return a.subarray(0, values);
  }

  private readonly outs = { logits: new Float32Array(0), embedding: new Float32Array(0) };

  /** Flat BN statistics buffers by use (all layers, channel after channel), made once. */
  private flatStats(use: 'own' | 'whole' | number): { mean: Float32Array; variance: Float32Array } {
    let f = this.stats.get(use);
    if (!f) {
      f = { mean: new Float32Array(this.channels), variance: new Float32Array(this.channels) };
      this.stats.set(use, f);
    }
    return f;
  }

  private readonly stats = new Map<'own' | 'whole' | number, { mean: Float32Array; variance: Float32Array }>();

  /** Views of `flat` (values of all BN channels, layer after layer), one per BN layer. */
  private layerViews(flat: Float32Array): Float32Array[] {
    let at = 0;
    return this.bns.map((b) => {
      at += b.channels;
      return flat.subarray(at - b.channels, at);
    });
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
  private updateRunning(w: CnnWeights, stats: BatchStats, n: number, momentum: number): void {
    if (!(momentum > 0)) return;
    this.bns.forEach((bn, i) => {
      const m = n * bn.side * bn.side;
      const mean = stats.mean[i] as Float32Array;
      const variance = stats.variance[i] as Float32Array;
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
   * One training step of `n` images (`x`: NCHW float32): BN on the statistics of each BN group, and the gradients
   * of `scale` x the summed cross-entropy against `target` (n x outputs: 0/1 labels for one logit, one-hot rows for
   * K logits). Returns the logits, the gradients (one float32 array per param, in {@link params} order) and the
   * whole batch's BN statistics, all valid until the next run ({@link sgdStep} applies the gradients); updates the
   * running BN statistics of `w` when `momentum` > 0 (see {@link forward}).
   */
  async trainStep(w: CnnWeights, x: Float32Array, target: Float32Array, n: number, scale: number, momentum: number): Promise<{ logits: Float32Array; grads: Float32Array[]; stats: BatchStats }> {
    const k = this.arch.outputs;
    const plan = this.plan(n);
    const logits = this.rowsOut('logits', n * k);
    const own = this.flatStats('own');
    const first = this.trainGroups(w, x, target, plan[0] as number[], scale, { logits, ...own });
    await this.alongside(w, plan, first, (workers, rows) => {
      workers.putRows('x', x, 3 * this.arch.size * this.arch.size, rows);
      workers.putRows('rowsIn', target, k, rows);
      return workers.run('step', { plan, scale });
    });
    const stats = this.wholeBatch(plan, logits);
    this.updateRunning(w, stats, n, momentum);
    return { logits, grads: this.memory.grads, stats };
  }

  /**
   * Run replica 0's part (`first`, already started) and, with replicas, the workers' (`start` puts their rows and
   * sends the message; the params are put first); then add the workers' gradients to replica 0's.
   */
  private async alongside(w: CnnWeights, plan: readonly (readonly number[])[], first: Promise<unknown>, start: (workers: ReplicaWorkers, rows: number[]) => Promise<void>): Promise<void> {
    if (plan.length === 1) {
      await first;
      return;
    }
    const workers = this.workers as ReplicaWorkers;
    const rows = plan.map(sum);
    // the workers start while replica 0's first run waits for its turn (onnxruntime-node runs it from setImmediate)
    this.putParams(w);
    await Promise.all([first, start(workers, rows)]);
    this.sumGrads(rows.length - 1);
  }

  /**
   * The whole batch's logits (replica 0's are in place) and BN statistics (replica 0's in flatStats('own')), from
   * the workers' slots: a view per layer.
   */
  private wholeBatch(plan: readonly (readonly number[])[], logits: Float32Array): BatchStats {
    const whole = this.flatStats('whole');
    const own = this.flatStats('own');
    const rows = plan.map(sum);
    if (plan.length === 1) {
      whole.mean.set(own.mean);
      whole.variance.set(own.variance);
    } else {
      const slots = (this.workers as ReplicaWorkers).slots.slice(0, plan.length - 1);
      (this.workers as ReplicaWorkers).getRows('logits', logits, this.arch.outputs, rows);
      mergeStats(rows, [own.mean, ...slots.map((s) => s.mean)], [own.variance, ...slots.map((s) => s.variance)], whole);
    }
    this.wholeViews ??= { mean: this.layerViews(whole.mean), variance: this.layerViews(whole.variance) };
    return this.wholeViews;
  }

  private wholeViews: BatchStats | null = null;

  /**
   * Training runs of the BN groups `groups` (rows of each) of `x` one after another on this engine's sessions:
   * the gradients summed in the resident gradients, the logits and the groups' merged BN statistics written to
   * `out`. What a replica does with its part of a batch.
   */
  async trainGroups(w: CnnWeights, x: Float32Array, target: Float32Array, groups: readonly number[], scale: number, out: GroupsOut): Promise<void> {
    const k = this.arch.outputs;
    const image = 3 * this.arch.size * this.arch.size;
    let at = 0;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as number;
      const r = await this.ownTrainStep(w, x.subarray(at * image), target.subarray(at * k), g, scale);
      out.logits.set(r.logits.subarray(0, g * k), at * k);
      this.keepStats(i, r.stats);
      this.addGrads(i, groups.length);
      at += g;
    }
    this.mergeGroups(groups, out);
  }

  /** Keep the BN statistics of group `i`'s run (flat) for {@link mergeGroups}. */
  private keepStats(i: number, stats: BatchStats): void {
    const kept = this.flatStats(i);
    packInto(kept.mean, stats.mean);
    packInto(kept.variance, stats.variance);
  }

  /**
   * After the run of group `i` of `count`: its gradients added to the earlier groups' (a run overwrites the resident
   * gradients: the sum is kept aside and put back after the last group).
   */
  private addGrads(i: number, count: number): void {
    if (count === 1) return;
    const grads = this.memory.flatGrads;
    this.gradSum ??= new Float32Array(grads.length);
    const total = this.gradSum;
    if (i === 0) total.set(grads);
    else addInto(total, grads);
    if (i === count - 1) grads.set(total);
  }

  private gradSum: Float32Array | null = null;

  /** The BN statistics of `groups` (kept by {@link keepStats}) merged into `out`. */
  private mergeGroups(groups: readonly number[], out: { mean: Float32Array; variance: Float32Array }): void {
    const kept = groups.map((_, i) => this.flatStats(i));
    mergeStats(groups, kept.map((f) => f.mean), kept.map((f) => f.variance), out);
  }

  /**
   * One run of the training graph on `n` rows: BN normalises them with their own statistics; the gradients land in
   * the resident ones. Its logits and statistics are views of the run's outputs, valid until the next run.
   */
  private async ownTrainStep(w: CnnWeights, x: Float32Array, target: Float32Array, n: number, scale: number): Promise<{ logits: Float32Array; stats: BatchStats }> {
    if (!this.trainSession) throw new Error('cnn engine: created without training sessions');
    const k = this.arch.outputs;
    const fetches = this.trainFetches(n);
    await this.trainSession.run({
      x: this.input(x, n), ...this.paramFeeds(w, this.trainSession),
      target: new ort.Tensor('float32', target.subarray(0, n * k), [n, k]),
      scale: new ort.Tensor('float32', Float32Array.of(scale), []),
    }, fetches);
    return { logits: (fetches['logits'] as ort.Tensor).data as Float32Array, stats: this.statsOf(fetches, this.graphs.trainStats) };
  }

  /** The params of `w` where the worker replicas read them. */
  private putParams(w: CnnWeights): void {
    packInto((this.workers as ReplicaWorkers).shared.params, w.params);
  }

  /** Add the gradients of the first `slots` worker replicas to the resident ones (replica 0's). */
  private sumGrads(slots: number): void {
    for (const slot of (this.workers as ReplicaWorkers).slots.slice(0, slots)) addInto(this.memory.flatGrads, slot.grads);
  }

  /** The BN batch statistics among a run's outputs. */
  private statsOf(out: ort.InferenceSession.OnnxValueMapType, names: CnnGraphs['stats']): BatchStats {
    return {
      mean: names.map((s) => (out[s.mean] as ort.Tensor).data as Float32Array),
      variance: names.map((s) => (out[s.variance] as ort.Tensor).data as Float32Array),
    };
  }

  /**
   * The training step's outputs for runs of `n` rows, allocated once per row count (the groups of a batch may differ
   * by one row) and written by onnxruntime in place at every run (no allocation, no copy, nothing for the garbage
   * collector): a run's results are valid until the next run of as many rows.
   */
  private trainFetches(n: number): Record<string, ort.Tensor> {
    let tensors = this.fetches.get(n);
    if (!tensors) {
      tensors = { logits: new ort.Tensor('float32', new Float32Array(n * this.arch.outputs), [n, this.arch.outputs]), ...this.gradFetches };
      for (const [i, s] of this.graphs.trainStats.entries()) {
        const c = (this.bns[i] as BnSpec).channels;
        tensors[s.mean] = new ort.Tensor('float32', new Float32Array(c), [c]);
        tensors[s.variance] = new ort.Tensor('float32', new Float32Array(c), [c]);
      }
      this.fetches.set(n, tensors);
    }
    return tensors;
  }

  private readonly fetches = new Map<number, Record<string, ort.Tensor>>();

  /** The gradient outputs (`grad_NAME`) of the training and backward graphs: tensors over the resident gradients. */
  private get gradFetches(): Record<string, ort.Tensor> {
    this.grads ??= Object.fromEntries(this.params.map((p, i) => [`grad_${p.name}`, new ort.Tensor('float32', this.memory.grads[i] as Float32Array, p.dims as number[])]));
    return this.grads;
  }

  private grads: Record<string, ort.Tensor> | undefined;

  /**
   * Training forward pass of `n` images (`x`: NCHW float32) with BN on the statistics of each BN group (as
   * {@link trainStep}). Returns the logits (`n x outputs`), the whole batch's BN statistics and what
   * {@link backward} needs. Updates the running BN statistics of `w` when `momentum` > 0 (PyTorch's rule:
   * r <- (1 - m) r + m batch, the variance unbiased). For a loss computed in JavaScript (e.g. a fairness term on the
   * probabilities); {@link trainStep} does both passes in one run. The worker replicas keep their own saved tensors
   * until the next backward.
   */
  async forward(w: CnnWeights, x: Float32Array, n: number, momentum: number): Promise<{ logits: Float32Array; saved: SavedForward; stats: BatchStats }> {
    const k = this.arch.outputs;
    const plan = this.plan(n);
    const logits = this.rowsOut('logits', n * k);
    const first = this.forwardGroups(w, x, plan[0] as number[], { logits, ...this.flatStats('own') });
    let tensors: ort.InferenceSession.OnnxValueMapType[] = [];
    await this.alongside(w, plan, first.then((t) => (tensors = t)), (workers, rows) => {
      workers.putRows('x', x, 3 * this.arch.size * this.arch.size, rows);
      return workers.run('forward', { plan });
    });
    const stats = this.wholeBatch(plan, logits);
    this.updateRunning(w, stats, n, momentum);
    return { logits, saved: { plan, tensors }, stats };
  }

  /** Training forward runs of the BN groups `groups`, one after another (as {@link trainGroups}): their saved tensors. */
  async forwardGroups(w: CnnWeights, x: Float32Array, groups: readonly number[], out: GroupsOut): Promise<ort.InferenceSession.OnnxValueMapType[]> {
    const k = this.arch.outputs;
    const image = 3 * this.arch.size * this.arch.size;
    const saved: ort.InferenceSession.OnnxValueMapType[] = [];
    let at = 0;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as number;
      const r = await this.ownForward(w, x.subarray(at * image), g);
      out.logits.set(r.logits.subarray(0, g * k), at * k);
      this.keepStats(i, r.stats);
      saved.push(r.saved);
      at += g;
    }
    this.mergeGroups(groups, out);
    return saved;
  }

  /** One run of the training forward graph on `n` rows: BN on their own statistics. */
  private async ownForward(w: CnnWeights, x: Float32Array, n: number): Promise<{ logits: Float32Array; saved: ort.InferenceSession.OnnxValueMapType; stats: BatchStats }> {
    if (!this.trainSession) throw new Error('cnn engine: created without training sessions');
    this.forwardSession ??= ort.InferenceSession.create(this.graphs.forward, this.settings);
    const session = await this.forwardSession;
    const out = await session.run({ x: this.input(x, n), ...this.paramFeeds(w, session) });
    return { logits: (out['logits'] as ort.Tensor).data as Float32Array, saved: out, stats: this.statsOf(out, this.graphs.stats) };
  }

  /**
   * Gradients (one float32 array per param, in {@link params} order, valid until the next run: {@link sgdStep}
   * applies them) given d loss / d logits (`n x outputs`) of the {@link forward} that gave `saved`.
   */
  async backward(w: CnnWeights, saved: SavedForward, dlogits: Float32Array, n: number): Promise<Float32Array[]> {
    const plan = saved.plan;
    if (sum(plan.map(sum)) !== n) throw new RangeError(`cnn engine: backward of ${n} rows after a forward of ${sum(plan.map(sum))}`);
    const first = this.backwardGroups(w, saved.tensors, dlogits, plan[0] as number[]);
    await this.alongside(w, plan, first, (workers, rows) => {
      workers.putRows('rowsIn', dlogits, this.arch.outputs, rows);
      return workers.run('backward', { plan });
    });
    return this.memory.grads;
  }

  /** Backward runs of the BN groups `groups` with their saved tensors: the gradients summed in the resident ones. */
  async backwardGroups(w: CnnWeights, saved: readonly ort.InferenceSession.OnnxValueMapType[], dlogits: Float32Array, groups: readonly number[]): Promise<void> {
    const k = this.arch.outputs;
    let at = 0;
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i] as number;
      await this.ownBackward(w, saved[i] as ort.InferenceSession.OnnxValueMapType, dlogits.subarray(at * k), g);
      this.addGrads(i, groups.length);
      at += g;
    }
  }

  /** One run of the backward graph on `n` rows: the gradients land in the resident ones. */
  private async ownBackward(w: CnnWeights, saved: ort.InferenceSession.OnnxValueMapType, dlogits: Float32Array, n: number): Promise<void> {
    if (!this.trainSession) throw new Error('cnn engine: created without training sessions');
    this.backwardSession ??= ort.InferenceSession.create(this.graphs.backward, this.settings);
    const session = await this.backwardSession;
    const params = this.paramFeeds(w, session);
    const feeds: Record<string, ort.Tensor> = { dlogits: new ort.Tensor('float32', dlogits.subarray(0, n * this.arch.outputs), [n, this.arch.outputs]) };
    for (const name of session.inputNames) if (name !== 'dlogits') feeds[name] = (params[name] ?? saved[name]) as ort.Tensor;
    await session.run(feeds, this.gradFetches);
  }

  /** Inference (BN on running statistics): embeddings (`n x c_last`) and logits (`n x outputs`). */
  async infer(w: CnnWeights, x: Float32Array, n: number): Promise<{ embedding: Float32Array; logits: Float32Array }> {
    if (!this.workers || n < 2) return this.ownInfer(w, x, n);
    const workers = this.workers;
    const rows = sharesOf(n, this.replicas);
    this.checkRoom(rows);
    const k = this.arch.outputs;
    const e = this.arch.channels[this.arch.channels.length - 1] as number;
    this.putParams(w);
    packInto(workers.shared.runningMean, w.runningMean);
    packInto(workers.shared.runningVar, w.runningVar);
    workers.putRows('x', x, 3 * this.arch.size * this.arch.size, rows);
    const [own] = await Promise.all([this.ownInfer(w, x, rows[0] as number), workers.run('infer', { rows })]);
    const logits = this.rowsOut('logits', n * k);
    const embedding = this.rowsOut('embedding', n * e);
    logits.set(own.logits.subarray(0, (rows[0] as number) * k));
    embedding.set(own.embedding.subarray(0, (rows[0] as number) * e));
    workers.getRows('logits', logits, k, rows);
    workers.getRows('embedding', embedding, e, rows);
    return { embedding, logits };
  }

  private async ownInfer(w: CnnWeights, x: Float32Array, n: number): Promise<{ embedding: Float32Array; logits: Float32Array }> {
    const feeds: Record<string, ort.Tensor> = { x: this.input(x, n), ...this.paramFeeds(w, this.inferenceSession) };
    this.bns.forEach((b, i) => {
      feeds[`${b.name}_rm`] = new ort.Tensor('float32', w.runningMean[i] as Float32Array, [1, b.channels, 1, 1]);
      feeds[`${b.name}_rv`] = new ort.Tensor('float32', w.runningVar[i] as Float32Array, [1, b.channels, 1, 1]);
    });
    const out = await this.inferenceSession.run(feeds);
    return { embedding: (out['embedding'] as ort.Tensor).data as Float32Array, logits: (out['logits'] as ort.Tensor).data as Float32Array };
  }

  /** Close the sessions, and stop the worker replicas. */
  async release(): Promise<void> {
    const split = await Promise.all([this.forwardSession, this.backwardSession]);
    await Promise.all([...split.map((session) => session?.release()), this.trainSession?.release(), this.inferenceSession.release(), this.workers?.close()]);
  }
}

const sum = (v: readonly number[]): number => v.reduce((a, b) => a + b, 0);

/** dst += src, element by element (float32, as the gradients are summed everywhere). */
function addInto(dst: Float32Array, src: Float32Array): void {
  for (let i = 0; i < dst.length; i++) dst[i] = (dst[i] as number) + (src[i] as number);
}
