/**
 * `cnn`: a small ResNet pre-trained from scratch on images with ERM (mean cross-entropy), on CPU. Its global average
 * pool is the embedding; its last linear layer is a {@link LinearHead} (the "shipped" head).
 *
 * Architecture (src/backbone/cnn/network.ts): conv3x3 stem + BN + ReLU + maxpool 2x2, then one basic residual block
 * per entry of `channels` (stride 1, then 2), global average pooling, linear. Training: SGD with momentum and
 * (coupled, PyTorch-style) weight decay, step learning-rate schedule, random crop (zero padding) and horizontal flip.
 *
 * Engine: each training step (forward, cross-entropy gradient, backward) is one ONNX graph run by onnxruntime-node,
 * the weight update (SGD), the filters made from the weights and the batch's augmentation run in WebAssembly
 * (./cnn/kernels.ts); with `extraLoss` the forward and backward passes run separately around the term,
 * which is computed in TypeScript. Chosen by measurement against our own WebAssembly im2col + GEMM kernels
 * (bench/cnn-engines.ts -> bench/results/cnn-engines.json; speed against PyTorch: bench/cnn.ts -> cnn.json).
 *
 * Images: `size x size` RGB bytes, row-major HWC (what src/data/images.ts's imageBatches gives: images of mixed
 * sizes are resized to a square there, `fit: 'contain'` by default). Inside, each byte v becomes
 * (v / 255 - 0.5) / 0.25, channels first (NCHW).
 */
import { ConvergenceError, InputError, ShapeError } from '../errors.ts';
import { matrix, type Matrix } from '../data/matrix.ts';
import { LinearHead, type LinearHeadJSON } from '../head/linear-head.ts';
import { createRng } from '../rng.ts';
import type { Backbone } from './backbone.ts';
import { addProbabilityGradient, countCorrect, crossEntropy } from './_internal/mlp-net.ts';
import { CnnEngine, cloneWeights, initialWeights, type CnnWeights } from './cnn/engine.ts';
import { replicasFor } from './cnn/replicas.ts';
import { ImageBatches } from './cnn/kernels.ts';
import { checkArchitecture, describeNetwork, type CnnArchitecture } from './cnn/network.ts';
import type { MlpBatch, MlpExtraLoss, MlpLossTerm } from './mlp.ts';

/** Images held in memory: `n` images of `size x size x 3` RGB bytes, HWC, one after the other. */
export interface CnnImages {
  readonly pixels: Uint8Array;
  readonly n: number;
  readonly size: number;
}

/** Labelled images: `y[i]` indexes `classes`, `group[i]` is the sensitive group (passed to `extraLoss`). */
export interface CnnImageSet {
  readonly images: CnnImages;
  readonly y: Int32Array;
  readonly group: Int32Array;
  readonly classes: readonly string[];
}

/**
 * Hyper-parameters of {@link trainCnn} (plain data, one key per CLI flag).
 *
 * - `channels`: width of each stage (one basic block each); the last is the embedding size.
 * - `epochs`, `batchSize`; the last incomplete batch of an epoch is dropped when the set has more than one batch.
 * - `learningRate` lr0, `momentum`, `weightDecay`: g <- g + wd w; v <- momentum v + g; w <- w - lr v (all tensors).
 * - `lrStepEpochs`, `lrGamma`: lr = lr0 * lrGamma^floor((epoch - 1) / lrStepEpochs) (epoch is 1-based).
 * - `augment`: random crop after `cropPadding` pixels of zero padding, and a horizontal flip with probability 1/2.
 * - `seed`: initialisation, shuffling and augmentation. `threads`: onnxruntime intra-op threads in all (default: its
 *   choice; one per CPU when there are replicas).
 * - `bnGroupSize`: BN normalises each batch in groups of this many images or more (floor(batch / bnGroupSize)
 *   near-equal groups), each with its own statistics, as data-parallel training normalises each device's share
 *   (PyTorch's DistributedDataParallel without SyncBatchNorm; "ghost" batch normalisation); the gradients are the
 *   whole batch's and so are the running statistics. Default 32: a batch of 64 is two groups of 32. A batchSize or
 *   more: the whole batch, the single-device recipe. The groups run at the same time on copies of the network, one
 *   per thread (up to one per group), which avoids onnxruntime's thread barrier after every operator
 *   (docs/performance.md, fourth round); the network trained does not depend on the threads.
 * - `keepBest`: true (default): keep the epoch of lowest validation loss. false: keep the last epoch (validation is
 *   still measured and reported): a network trained until it fits its training data.
 */
export interface CnnOptions {
  readonly channels: readonly number[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly lrStepEpochs: number;
  readonly lrGamma: number;
  readonly augment: boolean;
  readonly cropPadding: number;
  readonly seed: number;
  readonly threads?: number | undefined;
  readonly bnGroupSize: number;
  readonly keepBest: boolean;
}

/** Defaults of {@link CnnOptions}. */
export const defaultCnnOptions: CnnOptions = {
  channels: [16, 32, 64, 128],
  epochs: 10,
  batchSize: 64,
  learningRate: 0.05,
  momentum: 0.9,
  weightDecay: 5e-4,
  lrStepEpochs: 4,
  lrGamma: 0.1,
  augment: true,
  cropPadding: 4,
  seed: 0,
  bnGroupSize: 32,
  keepBest: true,
};

/** What {@link trainCnn} reports after each epoch (validation fields NaN without validation images). */
export interface CnnProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly validationLoss: number;
  readonly validationAccuracy: number;
  readonly improved: boolean;
  readonly seconds: number;
  readonly epochSeconds: number;
}

/** The result of {@link trainCnn}. */
export interface CnnTrainResult {
  readonly backbone: CnnBackbone;
  /** The network's last layer (= backbone.shippedHead). */
  readonly head: LinearHead;
  readonly epochs: number;
  /** Epoch whose weights were kept: lowest validation loss (cross-entropy + extra term); the last without validation or with `keepBest: false`. */
  readonly bestEpoch: number;
  readonly seconds: number;
  /** Wall seconds of each training epoch (without the validation pass). */
  readonly epochSeconds: readonly number[];
  /** Wall seconds of each training step (a batch: loading, forward, backward, update), all epochs in order. */
  readonly stepSeconds: readonly number[];
  readonly validationAccuracy: number;
  readonly validationLoss: number;
}

/** Batch size of inference passes (embed, validation). */
const evalChunk = 256;

/**
 * Pre-train a CNN with ERM from scratch, or continue training a trained one (`init`: its weights, BN statistics
 * and head are the starting point; same size, channels and classes). `extraLoss` (same contract as mlp's:
 * {@link MlpExtraLoss}) adds a term on each batch's output probabilities: the whole-network fair-training baseline.
 *
 * Throws InputError for a bad option or an architecture that does not fit the image size (before any training),
 * ShapeError for inconsistent sets, ConvergenceError when the loss becomes non-finite (lower learningRate).
 *
 * @example
 * const { backbone, head } = await trainCnn(train, validation, { epochs: 8, seed: 1 });
 * head.predict(await backbone.embed(testRows)); // testRows: n x (size*size*3) bytes as floats, HWC
 */
export async function trainCnn(
  train: CnnImageSet,
  validation: CnnImageSet | null,
  options: Partial<CnnOptions> & { readonly extraLoss?: MlpExtraLoss; readonly init?: CnnBackbone } = {},
  onProgress?: (progress: CnnProgress) => void,
): Promise<CnnTrainResult> {
  const started = performance.now();
  const o = checkCnnOptions({ ...defaultCnnOptions, ...definedOptions(options) });
  const extraLoss = options.extraLoss;
  checkImageSet(train, 'training');
  const size = train.images.size;
  checkArchitecture(size, o.channels);
  if (validation) {
    checkImageSet(validation, 'validation');
    if (validation.images.size !== size) throw new ShapeError(`cnn: validation images are ${validation.images.size} px, training images ${size} px`);
    if (validation.classes.join('\u0000') !== train.classes.join('\u0000')) {
      throw new ShapeError(`cnn: validation classes [${validation.classes.join(', ')}] differ from training classes [${train.classes.join(', ')}]`);
    }
  }
  const nc = train.classes.length;
  const arch: CnnArchitecture = { size, channels: [...o.channels], outputs: nc === 2 ? 1 : nc };
  const rng = createRng(o.seed);
  const fresh = initialWeights(arch, rng);
  if (options.init) {
    const init = options.init;
    if (init.size !== size || init.channels.join(',') !== o.channels.join(',') || init.shippedHead.classes.join('\u0000') !== train.classes.join('\u0000')) {
      throw new ShapeError(
        `cnn init: the network is ${init.size} px with channels [${init.channels.join(', ')}] and classes [${init.shippedHead.classes.join(', ')}], expected ${size} px, [${o.channels.join(', ')}] and [${train.classes.join(', ')}]`,
      );
    }
    const from = init.copyWeights();
    from.params.forEach((a, i) => (fresh.params[i] as Float32Array).set(a));
    from.runningMean.forEach((a, i) => (fresh.runningMean[i] as Float32Array).set(a));
    from.runningVar.forEach((a, i) => (fresh.runningVar[i] as Float32Array).set(a));
  }
  const batch = Math.min(o.batchSize, train.images.n);
  const evalRows = Math.min(evalChunk, validation?.images.n ?? 0);
  const engine = await CnnEngine.create(arch, {
    training: true, threads: o.threads, replicas: replicasFor(batch, o.bnGroupSize, o.threads), bnRows: o.bnGroupSize, maxRows: Math.max(batch, evalRows),
  });
  // the weights being trained: the engine's resident params (SGD runs there: engine.sgdStep)
  const w = engine.adopt(fresh);
  const n = train.images.n;
  const batches = n > batch ? Math.floor(n / batch) : 1;
  const loader = new ImageBatches(size, Math.max(batch, evalRows));
  const logits64 = new Float64Array(batch * arch.outputs);
  const proba = new Float64Array(batch * nc);
  const dz = new Float64Array(batch * arch.outputs);
  const dlogits = new Float32Array(batch * arch.outputs);
  const target = new Float32Array(batch * arch.outputs);
  const yb = new Int32Array(batch);
  const gb = new Int32Array(batch);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;

  let best: CnnWeights = w;
  let bestLoss = Infinity;
  let bestAccuracy = NaN;
  let bestEpoch = 0;
  const epochSeconds: number[] = [];
  const stepSeconds: number[] = [];
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const epochStarted = performance.now();
      const lr = o.learningRate * o.lrGamma ** Math.floor((epoch - 1) / o.lrStepEpochs);
      rng.shuffle(order);
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      for (let bi = 0; bi < batches; bi++) {
        const stepStarted = performance.now();
        const start = bi * batch;
        const rows = Math.min(batch, n - start);
        const indices = order.subarray(start, start + rows);
        for (let r = 0; r < rows; r++) {
          const idx = indices[r] as number;
          yb[r] = train.y[idx] as number;
          gb[r] = train.group[idx] as number;
        }
        const x = loader.load(train.images.pixels, indices, o.augment ? { rng, padding: o.cropPadding } : null);
        let loss: number;
        if (!extraLoss) {
          // the loss's gradient inside the graph: forward and backward in one run
          target.fill(0, 0, rows * arch.outputs);
          for (let r = 0; r < rows; r++) target[arch.outputs === 1 ? r : r * nc + (yb[r] as number)] = arch.outputs === 1 ? (yb[r] as number) : 1;
          const step = await engine.trainStep(w, x, target, rows, 1 / rows, 0.1);
          for (let i = 0; i < rows * arch.outputs; i++) logits64[i] = step.logits[i] as number;
          loss = crossEntropy(logits64, yb, rows, nc, proba, dz, 1 / rows) / rows;
        } else {
          const { logits, saved } = await engine.forward(w, x, rows, 0.1);
          for (let i = 0; i < rows * arch.outputs; i++) logits64[i] = logits[i] as number;
          loss = crossEntropy(logits64, yb, rows, nc, proba, dz, 1 / rows) / rows;
          const term = extraLoss({
            split: 'train', epoch, rows, classes: nc, probabilities: proba.subarray(0, rows * nc),
            y: yb.subarray(0, rows), group: gb.subarray(0, rows), indices,
          } satisfies MlpBatch);
          checkTerm(term, rows * nc);
          loss += term.value;
          addProbabilityGradient(proba, term.gradient, rows, nc, dz);
          for (let i = 0; i < rows * arch.outputs; i++) dlogits[i] = dz[i] as number;
          await engine.backward(w, saved, dlogits, rows);
        }
        if (!Number.isFinite(loss)) {
          throw new ConvergenceError(`cnn: the training loss became ${loss} at epoch ${epoch}; lower learningRate (now ${o.learningRate})`);
        }
        lossSum += loss * rows;
        seen += rows;
        correct += countCorrect(proba, yb, rows, nc);
        engine.sgdStep(lr, o.momentum, o.weightDecay);
        stepSeconds.push((performance.now() - stepStarted) / 1000);
      }
      epochSeconds.push((performance.now() - epochStarted) / 1000);
      let validationLoss = NaN;
      let validationAccuracy = NaN;
      let improved = false;
      if (validation && validation.images.n > 0) {
        ({ loss: validationLoss, accuracy: validationAccuracy } = await evaluate(engine, loader, w, validation, epoch, extraLoss));
        if (!Number.isFinite(validationLoss)) {
          throw new ConvergenceError(`cnn: the validation loss became ${validationLoss} at epoch ${epoch}; lower learningRate (now ${o.learningRate})`);
        }
        if (!o.keepBest) {
          bestLoss = validationLoss;
          bestAccuracy = validationAccuracy;
          bestEpoch = epoch;
          best = w;
        } else if (validationLoss < bestLoss) {
          improved = true;
          bestLoss = validationLoss;
          bestAccuracy = validationAccuracy;
          bestEpoch = epoch;
          best = cloneWeights(w);
        }
      } else {
        best = w;
        bestEpoch = epoch;
      }
      onProgress?.({
        epoch, epochs: o.epochs, trainLoss: lossSum / seen, trainAccuracy: correct / seen, validationLoss, validationAccuracy,
        improved, seconds: (performance.now() - started) / 1000, epochSeconds: epochSeconds[epochSeconds.length - 1] as number,
      });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    await engine.release();
  }
  const backbone = new CnnBackbone(size, o.channels, best, train.classes);
  return {
    backbone,
    head: backbone.shippedHead,
    epochs: o.epochs,
    bestEpoch,
    seconds: (performance.now() - started) / 1000,
    epochSeconds,
    stepSeconds,
    validationAccuracy: bestAccuracy,
    validationLoss: validation && validation.images.n > 0 ? bestLoss : NaN,
  };
}

async function evaluate(
  engine: CnnEngine, loader: ImageBatches, w: CnnWeights, set: CnnImageSet, epoch: number, extraLoss: MlpExtraLoss | undefined,
): Promise<{ loss: number; accuracy: number }> {
  const nc = set.classes.length;
  const n = set.images.n;
  const outputs = nc === 2 ? 1 : nc;
  const all = new Float64Array(n * nc);
  const chunk = Math.min(evalChunk, loader.capacity);
  const scratch = new Float64Array(chunk * outputs);
  const idx = new Int32Array(chunk);
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    for (let r = 0; r < rows; r++) idx[r] = start + r;
    const x = loader.load(set.images.pixels, idx.subarray(0, rows), null);
    const { logits } = await engine.infer(w, x, rows);
    const proba = all.subarray(start * nc, (start + rows) * nc);
    const y = set.y.subarray(start, start + rows);
    loss += crossEntropy(Float64Array.from(logits), y, rows, nc, proba, scratch, 0);
    correct += countCorrect(proba, y, rows, nc);
  }
  loss /= n;
  if (extraLoss) {
    const indices = new Int32Array(n);
    for (let i = 0; i < n; i++) indices[i] = i;
    loss += extraLoss({ split: 'validation', epoch, rows: n, classes: nc, probabilities: all, y: set.y, group: set.group, indices }).value;
  }
  return { loss, accuracy: correct / n };
}

/** JSON form of a {@link CnnBackbone}: every tensor by name (flat, row-major), BN running statistics, the head. */
export interface CnnBackboneJSON {
  readonly format: 'fairhead.cnn-backbone';
  readonly version: 1;
  readonly size: number;
  readonly channels: readonly number[];
  readonly tensors: Readonly<Record<string, readonly number[]>>;
  readonly runningStats: Readonly<Record<string, { readonly mean: readonly number[]; readonly variance: readonly number[] }>>;
  readonly head: LinearHeadJSON;
}

/**
 * A trained CNN as a frozen {@link Backbone}: embed(x) = the global average pool of the last stage (BN on running
 * statistics), `channels[last]` values per image, >= 0. Rows of `x` are images of `size*size*3` byte values
 * (0..255 as floats), HWC, as in {@link CnnImages}.
 *
 * @example
 * const again = CnnBackbone.fromJSON(JSON.parse(JSON.stringify(backbone.toJSON())), 'cnn.json'); // embeds the same
 */
export class CnnBackbone implements Backbone {
  readonly kind = 'cnn';
  readonly embeddingDim: number;
  readonly parameterCount: number;
  readonly shippedHead: LinearHead;
  readonly channels: readonly number[];
  private readonly weights: CnnWeights;
  private readonly arch: CnnArchitecture;
  private engine: Promise<CnnEngine> | null = null;
  private batches: ImageBatches | null = null;
  /** onnxruntime intra-op threads of {@link embed} (default: onnxruntime's choice); read at the first embed. */
  threads: number | undefined;

  /** `weights` (copied) must match the architecture of `size` and `channels`, with a last layer for `classes`. */
  constructor(readonly size: number, channels: readonly number[], weights: CnnWeights, classes: readonly string[]) {
    checkArchitecture(size, channels);
    this.channels = [...channels];
    this.arch = { size, channels: this.channels, outputs: classes.length === 2 ? 1 : classes.length };
    const { params, bns } = describeNetwork(this.arch);
    if (weights.params.length !== params.length || weights.runningMean.length !== bns.length || weights.runningVar.length !== bns.length) {
      throw new ShapeError(`cnn backbone: expected ${params.length} tensors and ${bns.length} BN layers, received ${weights.params.length} and ${weights.runningMean.length}`);
    }
    params.forEach((p, i) => {
      const count = p.dims.reduce((a, b) => a * b, 1);
      if ((weights.params[i] as Float32Array).length !== count) {
        throw new ShapeError(`cnn backbone: tensor ${p.name}: expected ${p.dims.join(' x ')} = ${count} values, received ${(weights.params[i] as Float32Array).length}`);
      }
    });
    bns.forEach((b, i) => {
      if ((weights.runningMean[i] as Float32Array).length !== b.channels || (weights.runningVar[i] as Float32Array).length !== b.channels) {
        throw new ShapeError(`cnn backbone: BN ${b.name}: expected ${b.channels} running statistics`);
      }
    });
    this.weights = cloneWeights(weights);
    this.embeddingDim = channels[channels.length - 1] as number;
    const fc = params.length - 2;
    this.parameterCount = params.slice(0, fc).reduce((s, p) => s + p.dims.reduce((a, b) => a * b, 1), 0);
    this.shippedHead = new LinearHead(
      [...classes], this.embeddingDim, Float64Array.from(this.weights.params[fc] as Float32Array), Float64Array.from(this.weights.params[fc + 1] as Float32Array),
    );
  }

  /** A deep copy of the weights and BN running statistics, e.g. to continue training from them (trainCnn's `init`). */
  copyWeights(): CnnWeights {
    return cloneWeights(this.weights);
  }

  /** Embeddings of the images in the rows of `x` (`x.rows x embeddingDim`, float32). */
  async embed(x: Matrix): Promise<Matrix> {
    const s = this.size;
    if (x.cols !== s * s * 3) throw new ShapeError(`cnn backbone expects images of ${s} x ${s} x 3 = ${s * s * 3} values per row, received ${x.cols}`);
    this.engine ??= CnnEngine.create(this.arch, { training: false, threads: this.threads });
    const engine = await this.engine;
    const k = this.embeddingDim;
    const out = new Float32Array(x.rows * k);
    const bytes = new Uint8Array(Math.min(evalChunk, x.rows) * s * s * 3);
    this.batches ??= new ImageBatches(s, evalChunk);
    const idx = new Int32Array(evalChunk);
    for (let r = 0; r < evalChunk; r++) idx[r] = r;
    for (let start = 0; start < x.rows; start += evalChunk) {
      const rows = Math.min(evalChunk, x.rows - start);
      const src = x.data.subarray(start * s * s * 3, (start + rows) * s * s * 3);
      for (let i = 0; i < src.length; i++) bytes[i] = Math.max(0, Math.min(255, Math.round(src[i] as number)));
      const input = this.batches.load(bytes, idx.subarray(0, rows), null);
      const { embedding } = await engine.infer(this.weights, input, rows);
      out.set(embedding.subarray(0, rows * k), start * k);
    }
    return matrix(out, x.rows, k);
  }

  toJSON(): CnnBackboneJSON {
    const { params, bns } = describeNetwork(this.arch);
    const tensors: Record<string, number[]> = {};
    params.forEach((p, i) => {
      tensors[p.name] = Array.from(this.weights.params[i] as Float32Array);
    });
    const runningStats: Record<string, { mean: number[]; variance: number[] }> = {};
    bns.forEach((b, i) => {
      runningStats[b.name] = { mean: Array.from(this.weights.runningMean[i] as Float32Array), variance: Array.from(this.weights.runningVar[i] as Float32Array) };
    });
    return { format: 'fairhead.cnn-backbone', version: 1, size: this.size, channels: [...this.channels], tensors, runningStats, head: this.shippedHead.toJSON() };
  }

  /** Read a backbone written by {@link CnnBackbone.toJSON}; `source` names the file in errors. */
  static fromJSON(json: unknown, source = 'cnn backbone'): CnnBackbone {
    const o = json as Partial<CnnBackboneJSON> | null;
    if (!o || typeof o !== 'object' || o.format !== 'fairhead.cnn-backbone') {
      throw new InputError(`${source}: not a fairhead CNN backbone (expected format "fairhead.cnn-backbone")`);
    }
    if (o.version !== 1) throw new InputError(`${source}: CNN backbone format version ${String(o.version)} is not supported (this fairhead reads version 1)`);
    if (typeof o.size !== 'number' || !Array.isArray(o.channels) || !o.tensors || !o.runningStats || !o.head) {
      throw new InputError(`${source}: CNN backbone is missing size, channels, tensors, runningStats or head`);
    }
    const head = LinearHead.fromJSON(o.head, `${source} (head)`);
    try {
      checkArchitecture(o.size, o.channels);
    } catch (error) {
      throw new InputError(`${source}: ${(error as Error).message}`);
    }
    const { params, bns } = describeNetwork({ size: o.size, channels: o.channels, outputs: head.outputs });
    const read = (values: unknown, what: string): Float32Array => {
      if (!Array.isArray(values) || !values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw new InputError(`${source}: ${what} is missing or holds a non-numeric or non-finite value`);
      }
      return Float32Array.from(values as number[]);
    };
    const weights: CnnWeights = {
      params: params.map((p) => read(o.tensors?.[p.name], `tensor ${p.name}`)),
      runningMean: bns.map((b) => read(o.runningStats?.[b.name]?.mean, `running mean of ${b.name}`)),
      runningVar: bns.map((b) => read(o.runningStats?.[b.name]?.variance, `running variance of ${b.name}`)),
    };
    try {
      return new CnnBackbone(o.size, o.channels, weights, head.classes);
    } catch (error) {
      if (error instanceof ShapeError) throw new ShapeError(`${source}: ${error.message}`);
      throw error;
    }
  }
}

/** Check options; messages name the option, the expectation and the value received. */
export function checkCnnOptions(o: CnnOptions): CnnOptions {
  const int = (name: keyof CnnOptions, value: number, min: number): void => {
    if (!Number.isInteger(value) || value < min) throw new InputError(`cnn option ${name}: expected an integer >= ${min}, received ${String(value)}`);
  };
  const num = (name: keyof CnnOptions, value: number, min: number, strict: boolean): void => {
    if (!Number.isFinite(value) || (strict ? !(value > min) : !(value >= min))) {
      throw new InputError(`cnn option ${name}: expected a number ${strict ? '>' : '>='} ${min}, received ${String(value)}`);
    }
  };
  if (!Array.isArray(o.channels) || o.channels.length === 0 || !o.channels.every((c) => Number.isInteger(c) && c >= 1)) {
    throw new InputError(`cnn option channels: expected one or more stage widths (integers >= 1, e.g. 16,32,64,128), received ${JSON.stringify(o.channels)}`);
  }
  int('epochs', o.epochs, 1);
  int('batchSize', o.batchSize, 2);
  int('lrStepEpochs', o.lrStepEpochs, 1);
  int('cropPadding', o.cropPadding, 0);
  int('seed', o.seed, 0);
  if (o.threads !== undefined) int('threads', o.threads, 1);
  int('bnGroupSize', o.bnGroupSize, 1);
  if (typeof o.keepBest !== 'boolean') throw new InputError(`cnn option keepBest: expected true or false, received ${String(o.keepBest)}`);
  num('learningRate', o.learningRate, 0, true);
  num('momentum', o.momentum, 0, false);
  num('weightDecay', o.weightDecay, 0, false);
  num('lrGamma', o.lrGamma, 0, true);
  if (o.momentum >= 1) throw new InputError(`cnn option momentum: expected a number in [0, 1), received ${o.momentum}`);
  return o;
}

function definedOptions(o: object): Partial<CnnOptions> {
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(o)) if (value !== undefined && k !== 'extraLoss') out[k] = value;
  return out as Partial<CnnOptions>;
}

function checkImageSet(set: CnnImageSet, name: string): void {
  const { pixels, n, size } = set.images;
  if (n < 1 && name === 'training') throw new ShapeError('cnn: the training set has no images');
  if (pixels.length !== n * size * size * 3) {
    throw new ShapeError(`cnn: ${name} pixels hold ${pixels.length} bytes, expected ${n} images x ${size} x ${size} x 3 = ${n * size * size * 3}`);
  }
  if (set.classes.length < 2) throw new ShapeError(`cnn: needs at least 2 classes, received ${set.classes.length}`);
  if (set.y.length !== n || set.group.length !== n) throw new ShapeError(`cnn: ${name} set has ${n} images but ${set.y.length} labels and ${set.group.length} groups`);
  for (let i = 0; i < n; i++) {
    const t = set.y[i] as number;
    if (!(t >= 0 && t < set.classes.length)) throw new ShapeError(`cnn: ${name} image ${i}: label ${t} is not a class index in 0..${set.classes.length - 1}`);
  }
}

function checkTerm(term: MlpLossTerm, length: number): void {
  if (!term || typeof term.value !== 'number' || !(term.gradient instanceof Float64Array) || term.gradient.length !== length) {
    throw new ShapeError(`cnn extraLoss: expected { value: number, gradient: Float64Array(${length}) }, received gradient of length ${term?.gradient?.length ?? 'none'}`);
  }
}
