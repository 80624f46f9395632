/**
 * `mlp`: a multi-layer perceptron pre-trained with ERM (empirical risk minimisation: mean cross-entropy), in plain
 * TypeScript. Its last hidden layer is the embedding; its output layer is a {@link LinearHead} (the "shipped" head).
 *
 * Engine: own float64 kernels (src/backbone/_internal/mlp-net.ts), chosen by measurement against tfjs-wasm
 * (bench/backbones-mlp.ts; numbers in bench/results/backbones-mlp.json).
 */
import { ConvergenceError, InputError, ShapeError } from '../errors.ts';
import { matrix, type Matrix } from '../data/matrix.ts';
import type { EmbeddingSet } from '../data/dataset.ts';
import { LinearHead, type LinearHeadJSON } from '../head/linear-head.ts';
import type { Backbone } from './backbone.ts';
import { addProbabilityGradient, countCorrect, crossEntropy, MlpParams, MlpWorkspace } from './_internal/mlp-net.ts';
import { MlpOnnxEngine } from './_internal/mlp-onnx.ts';
import { createRng } from '../rng.ts';

/** Hidden-layer activations an MLP can use. */
export const mlpActivations = ['relu'] as const;
/** One of {@link mlpActivations}. */
export type MlpActivation = (typeof mlpActivations)[number];

/**
 * Hyper-parameters of {@link trainMlp} (plain data: every key maps one-to-one to a CLI flag).
 *
 * - `hidden`: sizes of the hidden layers, input side first; the last one is the embedding size.
 * - `epochs`: the most passes over the training set. `patience`: how many epochs in a row whose validation loss does
 *   not beat the best by more than 1e-4 are tolerated; the next such epoch ends training (0 = the first one does).
 *   The weights of the best epoch are kept.
 * - `batchSize`, `learningRate`: mini-batch Adam (beta1 0.9, beta2 0.999, eps 1e-8).
 * - `lrStepEpochs`, `lrGamma`: a step schedule, lr = learningRate * lrGamma^floor((epoch - 1) / lrStepEpochs) (epoch
 *   1-based); `lrStepEpochs` 0 (default): a constant learning rate.
 * - `weightDecay`: decoupled (AdamW) decay of the weights, not the biases: w <- w - lr * weightDecay * w each step.
 * - `seed`: initialisation and shuffling; the same seed and data give bit-identical networks.
 * - `keepBest`: true (default): early stopping as above, keeping the best validation epoch. false: every epoch runs
 *   and the last epoch's weights are kept (validation is still measured and reported): a network trained until it
 *   fits its training data, as an over-parameterised baseline needs.
 * - `engine`: `own` (default): float64 kernels in TypeScript (bit-identical for a seed). `onnxruntime`: the same
 *   passes as float32 ONNX graphs run by onnxruntime (src/backbone/_internal/mlp-onnx.ts), many times faster for
 *   wide layers (512 x 512 on Adult: 12x less CPU time an epoch, bench/backbones-mlp-wide.ts); the weights and the
 *   optimiser stay float64. `threads`: its intra-op threads.
 */
export interface MlpOptions {
  readonly hidden: readonly number[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly lrStepEpochs: number;
  readonly lrGamma: number;
  readonly weightDecay: number;
  readonly patience: number;
  readonly seed: number;
  readonly activation: MlpActivation;
  readonly keepBest: boolean;
  readonly engine: MlpEngineName;
  readonly threads?: number | undefined;
}

/** The engines of {@link trainMlp} (see {@link MlpOptions}). */
export const MLP_ENGINES = ['own', 'onnxruntime'] as const;
/** One of {@link MLP_ENGINES}. */
export type MlpEngineName = (typeof MLP_ENGINES)[number];

/** Defaults of {@link MlpOptions}, chosen on Adult (bench/backbones-mlp.ts). */
export const defaultMlpOptions: MlpOptions = {
  hidden: [64, 32],
  epochs: 40,
  batchSize: 128,
  learningRate: 1e-3,
  lrStepEpochs: 0,
  lrGamma: 0.1,
  weightDecay: 1e-4,
  patience: 4,
  seed: 0,
  activation: 'relu',
  keepBest: true,
  engine: 'own',
};

/**
 * One mini-batch as seen by an {@link MlpExtraLoss}.
 * `probabilities` is row-major `rows x classes` in LinearHead.predictProba layout (binary: [1 - p, p]).
 * `indices[i]` is row i's index in its split (`split` says which: 'train' batches, or the whole 'validation' set
 * at once for early stopping). The arrays are reused from batch to batch: copy what must outlive the call.
 */
export interface MlpBatch {
  readonly split: 'train' | 'validation';
  readonly epoch: number;
  readonly rows: number;
  readonly classes: number;
  readonly probabilities: Float64Array;
  readonly y: Int32Array;
  readonly group: Int32Array;
  readonly indices: Int32Array;
}

/** Value of an extra loss term and its gradient d value / d probabilities (same layout as the probabilities). */
export interface MlpLossTerm {
  readonly value: number;
  readonly gradient: Float64Array;
}

/**
 * An extra loss term added to the batch's mean cross-entropy, e.g. lambda times a fairness penalty: the
 * "full" (end-to-end) fair-training baseline. It is also added to the validation loss that early stopping watches.
 *
 * @example
 * // push the mean positive probability towards 0.3, weight 0.5
 * const extraLoss: MlpExtraLoss = (b) => {
 *   let m = 0; for (let i = 0; i < b.rows; i++) m += b.probabilities[2 * i + 1]! / b.rows;
 *   const gradient = new Float64Array(b.rows * 2);
 *   for (let i = 0; i < b.rows; i++) gradient[2 * i + 1] = (0.5 * 2 * (m - 0.3)) / b.rows;
 *   return { value: 0.5 * (m - 0.3) ** 2, gradient };
 * };
 */
export type MlpExtraLoss = (batch: MlpBatch) => MlpLossTerm;

/** What {@link trainMlp} reports after each epoch. */
export interface MlpProgress {
  readonly epoch: number;
  readonly epochs: number;
  readonly trainLoss: number;
  /** Accuracy on the training batches of the epoch, each measured before its update step. */
  readonly trainAccuracy: number;
  readonly validationLoss: number;
  readonly validationAccuracy: number;
  /** True when this epoch is the best so far (its weights are kept). */
  readonly improved: boolean;
  readonly seconds: number;
}

/** The result of {@link trainMlp}. */
export interface MlpTrainResult {
  readonly backbone: MlpBackbone;
  /** The MLP's own output layer (= backbone.shippedHead): `head.predictProba(await backbone.embed(x))` is the MLP. */
  readonly head: LinearHead;
  /** Epochs run (early stopping may end before options.epochs). */
  readonly epochs: number;
  /** The epoch whose weights were kept (1-based; the last with `keepBest: false`). */
  readonly bestEpoch: number;
  readonly seconds: number;
  /** Accuracy and loss (cross-entropy + extra term) on the validation set at bestEpoch; NaN without validation rows. */
  readonly validationAccuracy: number;
  readonly validationLoss: number;
}

const evalChunk = 1024;

/**
 * Pre-train an MLP with ERM: mini-batch AdamW on mean cross-entropy (binary: 1 logit + sigmoid; K > 2: softmax),
 * reshuffled every epoch, early stopping on validation loss. Optional `extraLoss` adds a term on each batch's output
 * probabilities (see {@link MlpExtraLoss}). An empty validation set turns early stopping off (all epochs run).
 *
 * Throws InputError for a bad option, ShapeError when train and validation disagree (columns, classes) or a label is
 * out of range, ConvergenceError when the loss becomes non-finite (lower learningRate).
 *
 * @example
 * const { backbone, head, validationAccuracy } = await trainMlp(train, validation, { hidden: [64, 32], seed: 1 });
 * head.predict(await backbone.embed(test.x)); // class per test row
 */
export async function trainMlp(
  train: EmbeddingSet,
  validation: EmbeddingSet,
  options: Partial<MlpOptions> & { readonly extraLoss?: MlpExtraLoss; readonly init?: MlpBackbone } = {},
  onProgress?: (progress: MlpProgress) => void,
): Promise<MlpTrainResult> {
  const started = performance.now();
  const o = checkMlpOptions({ ...defaultMlpOptions, ...stripUndefined(options) });
  const extraLoss = options.extraLoss;
  checkSets(train, validation);
  const nc = train.classes.length;
  const outputs = nc === 2 ? 1 : nc;
  const d = train.x.cols;
  const sizes = [d, ...o.hidden, outputs];
  const n = train.x.rows;
  const batch = Math.min(o.batchSize, n);

  const rng = createRng(o.seed);
  const params = new MlpParams(sizes);
  params.initialise(rng);
  if (options.init) initialiseFrom(params, options.init, train.classes);
  const engine = o.engine === 'onnxruntime' ? await MlpOnnxEngine.create(sizes, Math.max(batch, Math.min(evalChunk, validation.x.rows)), { training: true, threads: o.threads }) : null;
  try {
    return await trainLoop();
  } finally {
    await engine?.release();
  }

  async function trainLoop(): Promise<MlpTrainResult> {
    const grad = new MlpParams(sizes);
    const m = new Float64Array(params.flat.length);
    const v = new Float64Array(params.flat.length);
    const ws = new MlpWorkspace(sizes, Math.max(batch, Math.min(evalChunk, validation.x.rows)));
    const last = sizes.length - 2;
    const logits = ws.acts[sizes.length - 1] as Float64Array;
    const dz = ws.deltas[last] as Float64Array;
    const proba = new Float64Array(ws.maxRows * nc);
    const yb = new Int32Array(batch);
    const gb = new Int32Array(batch);

    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const beta1 = 0.9;
    const beta2 = 0.999;
    const eps = 1e-8;
    let step = 0;
    let best = params.clone();
    let bestLoss = Infinity;
    let bestAccuracy = NaN;
    let bestEpoch = 0;
    let wait = 0;
    let epoch = 0;

    while (epoch < o.epochs) {
      epoch++;
      const lr = o.lrStepEpochs > 0 ? o.learningRate * o.lrGamma ** Math.floor((epoch - 1) / o.lrStepEpochs) : o.learningRate;
      rng.shuffle(order);
      let lossSum = 0;
      let correct = 0;
      for (let start = 0; start < n; start += batch) {
        const rows = Math.min(batch, n - start);
        for (let r = 0; r < rows; r++) {
          const idx = order[start + r] as number;
          yb[r] = train.y[idx] as number;
          gb[r] = train.group[idx] as number;
        }
        if (engine) {
          engine.load(train.x, start, rows, order);
          const z = (await engine.forward(params, rows)).logits;
          for (let i = 0; i < rows * outputs; i++) logits[i] = z[i] as number;
        } else {
          ws.load(train.x, start, rows, order);
          ws.forward(params, rows, true);
        }
        let loss = crossEntropy(logits, yb, rows, nc, proba, dz, 1 / rows) / rows;
        correct += countCorrect(proba, yb, rows, nc);
        if (extraLoss) {
          const term = extraLoss({
            split: 'train', epoch, rows, classes: nc,
            probabilities: proba.subarray(0, rows * nc), y: yb.subarray(0, rows), group: gb.subarray(0, rows),
            indices: order.subarray(start, start + rows),
          });
          checkTerm(term, rows * nc);
          loss += term.value;
          addProbabilityGradient(proba, term.gradient, rows, nc, dz);
        }
        if (!Number.isFinite(loss)) {
          throw new ConvergenceError(`mlp: the training loss became ${loss} at epoch ${epoch}; lower learningRate (now ${o.learningRate})`);
        }
        lossSum += loss * rows;
        if (engine) await engine.backward(params, dz, rows, grad);
        else ws.backward(params, grad, rows);
        // AdamW step
        step++;
        const c1 = 1 / (1 - beta1 ** step);
        const c2 = 1 / (1 - beta2 ** step);
        const p = params.flat;
        const g = grad.flat;
        const mask = params.decayMask;
        const wd = lr * o.weightDecay;
        for (let k = 0; k < p.length; k++) {
          const gk = g[k] as number;
          const mk = beta1 * (m[k] as number) + (1 - beta1) * gk;
          const vk = beta2 * (v[k] as number) + (1 - beta2) * gk * gk;
          m[k] = mk;
          v[k] = vk;
          const pk = p[k] as number;
          p[k] = pk - (lr * (mk * c1)) / (Math.sqrt(vk * c2) + eps) - (mask[k] as number) * wd * pk;
        }
      }
      const trainLoss = lossSum / n;
      let validationLoss = NaN;
      let validationAccuracy = NaN;
      let improved = false;
      if (validation.x.rows > 0) {
        ({ loss: validationLoss, accuracy: validationAccuracy } = await evaluate(params, ws, engine, validation, epoch, extraLoss));
        if (!Number.isFinite(validationLoss)) {
          throw new ConvergenceError(`mlp: the validation loss became ${validationLoss} at epoch ${epoch}; lower learningRate (now ${o.learningRate})`);
        }
        if (!o.keepBest) {
          bestLoss = validationLoss;
          bestAccuracy = validationAccuracy;
        } else if (validationLoss < bestLoss - 1e-4) {
          improved = true;
          bestLoss = validationLoss;
          bestAccuracy = validationAccuracy;
          bestEpoch = epoch;
          best = params.clone();
          wait = 0;
        } else {
          wait++;
        }
      }
      onProgress?.({ epoch, epochs: o.epochs, trainLoss, trainAccuracy: correct / n, validationLoss, validationAccuracy, improved, seconds: (performance.now() - started) / 1000 });
      await new Promise<void>((resolve) => setImmediate(resolve)); // let progress bars and signals run
      if (o.keepBest && validation.x.rows > 0 && wait > o.patience) break;
    }
    if (validation.x.rows === 0 || !o.keepBest) {
      best = params;
      bestEpoch = epoch;
    }

    const head = headFromLayer(train.classes, best, sizes.length - 2);
    const hiddenWeights: Float64Array[] = [];
    const hiddenBiases: Float64Array[] = [];
    for (let l = 0; l + 1 < sizes.length - 1; l++) {
      hiddenWeights.push(Float64Array.from(best.weights[l] as Float64Array));
      hiddenBiases.push(Float64Array.from(best.biases[l] as Float64Array));
    }
    const backbone = new MlpBackbone(d, o.hidden, hiddenWeights, hiddenBiases, head, o.engine);
    return {
      backbone,
      head,
      epochs: epoch,
      bestEpoch,
      seconds: (performance.now() - started) / 1000,
      validationAccuracy: bestAccuracy,
      validationLoss: validation.x.rows > 0 ? bestLoss : NaN,
    };
  }
}

/** JSON form of an {@link MlpBackbone}. `layers[l].weights` is input-major: `weights[c * out + j]` joins input c to unit j. */
export interface MlpBackboneJSON {
  readonly format: 'fairhead.mlp-backbone';
  readonly version: 1;
  readonly activation: MlpActivation;
  readonly inputDim: number;
  readonly hidden: readonly number[];
  readonly layers: readonly { readonly weights: readonly number[]; readonly bias: readonly number[] }[];
  readonly head?: LinearHeadJSON;
}

/**
 * The hidden layers of a trained MLP as a frozen {@link Backbone}: embed(x) = relu(... relu(x W1 + b1) ... W_L + b_L),
 * the last hidden activation (so embeddings are >= 0). Weights are float64; embeddings are rounded to float32.
 *
 * @example
 * const json = JSON.stringify(backbone.toJSON());
 * const again = MlpBackbone.fromJSON(JSON.parse(json), 'mlp.json'); // embeds exactly like `backbone`
 */
export class MlpBackbone implements Backbone {
  readonly kind = 'mlp';
  readonly activation: MlpActivation = 'relu';
  readonly hidden: readonly number[];
  readonly embeddingDim: number;
  readonly parameterCount: number;
  readonly shippedHead?: LinearHead;
  private readonly params: MlpParams;

  /**
   * `weights[l]` is input-major `sizes[l] x sizes[l+1]` with sizes = [inputDim, ...hidden]; `biases[l]` has
   * `hidden[l]` values. The arrays are copied.
   */
  constructor(
    readonly inputDim: number,
    hidden: readonly number[],
    weights: readonly Float64Array[],
    biases: readonly Float64Array[],
    shippedHead?: LinearHead,
    /** How {@link embed} runs the layers (see {@link MlpOptions.engine}); not saved by toJSON. */
    readonly engine: MlpEngineName = 'own',
  ) {
    if (hidden.length === 0) throw new ShapeError('mlp backbone: needs at least one hidden layer');
    if (weights.length !== hidden.length || biases.length !== hidden.length) {
      throw new ShapeError(`mlp backbone: ${hidden.length} hidden layers need ${hidden.length} weight and bias arrays, received ${weights.length} and ${biases.length}`);
    }
    const sizes = [inputDim, ...hidden];
    this.hidden = [...hidden];
    this.params = new MlpParams(sizes);
    for (let l = 0; l < hidden.length; l++) {
      const w = weights[l] as Float64Array;
      const b = biases[l] as Float64Array;
      const din = sizes[l] as number;
      const dout = sizes[l + 1] as number;
      if (w.length !== din * dout) throw new ShapeError(`mlp backbone: layer ${l + 1} weights: expected ${din} x ${dout} = ${din * dout} values, received ${w.length}`);
      if (b.length !== dout) throw new ShapeError(`mlp backbone: layer ${l + 1} bias: expected ${dout} values, received ${b.length}`);
      (this.params.weights[l] as Float64Array).set(w);
      (this.params.biases[l] as Float64Array).set(b);
    }
    this.embeddingDim = hidden[hidden.length - 1] as number;
    this.parameterCount = this.params.flat.length;
    if (shippedHead) {
      if (shippedHead.inputDim !== this.embeddingDim) {
        throw new ShapeError(`mlp backbone: shipped head expects ${shippedHead.inputDim} inputs, the embedding has ${this.embeddingDim}`);
      }
      this.shippedHead = shippedHead;
    }
  }

  /** Last-hidden-layer embeddings of the rows of `x` (`x.rows x embeddingDim`, float32). */
  async embed(x: Matrix): Promise<Matrix> {
    if (x.cols !== this.inputDim) throw new ShapeError(`mlp backbone expects ${this.inputDim} features, received ${x.cols}`);
    const k = this.embeddingDim;
    const out = new Float32Array(x.rows * k);
    if (this.engine === 'onnxruntime') {
      // the hidden layers as a network whose last hidden layer is its output (a ReLU after it: embeddings are >= 0)
      const engine = await MlpOnnxEngine.create([...this.params.sizes, 1], Math.max(1, Math.min(evalChunk, x.rows)), { training: false });
      const params = new MlpParams([...this.params.sizes, 1]);
      params.flat.set(this.params.flat);
      try {
        for (let start = 0; start < x.rows; start += evalChunk) {
          const rows = Math.min(evalChunk, x.rows - start);
          engine.load(x, start, rows);
          out.set((await engine.forward(params, rows)).embedding.subarray(0, rows * k), start * k);
        }
      } finally {
        await engine.release();
      }
      return matrix(out, x.rows, k);
    }
    const ws = new MlpWorkspace(this.params.sizes, Math.max(1, Math.min(evalChunk, x.rows)));
    const h = ws.acts[ws.acts.length - 1] as Float64Array;
    for (let start = 0; start < x.rows; start += evalChunk) {
      const rows = Math.min(evalChunk, x.rows - start);
      ws.load(x, start, rows);
      ws.forward(this.params, rows, false);
      out.set(h.subarray(0, rows * k), start * k);
    }
    return matrix(out, x.rows, k);
  }

  toJSON(): MlpBackboneJSON {
    return {
      format: 'fairhead.mlp-backbone',
      version: 1,
      activation: this.activation,
      inputDim: this.inputDim,
      hidden: [...this.hidden],
      layers: this.hidden.map((_, l) => ({
        weights: Array.from(this.params.weights[l] as Float64Array),
        bias: Array.from(this.params.biases[l] as Float64Array),
      })),
      ...(this.shippedHead ? { head: this.shippedHead.toJSON() } : {}),
    };
  }

  /** Read a backbone written by {@link MlpBackbone.toJSON}; `source` names the file in errors. */
  static fromJSON(json: unknown, source = 'mlp backbone'): MlpBackbone {
    const o = json as Partial<MlpBackboneJSON> | null;
    if (!o || typeof o !== 'object' || o.format !== 'fairhead.mlp-backbone') {
      throw new InputError(`${source}: not a fairhead MLP backbone (expected format "fairhead.mlp-backbone")`);
    }
    if (o.version !== 1) {
      throw new InputError(`${source}: MLP backbone format version ${String(o.version)} is not supported (this fairhead reads version 1)`);
    }
    if (!mlpActivations.includes(o.activation as MlpActivation)) {
      throw new InputError(`${source}: unknown activation "${String(o.activation)}". Valid: ${mlpActivations.join(', ')}`);
    }
    if (typeof o.inputDim !== 'number' || !Array.isArray(o.hidden) || !Array.isArray(o.layers)) {
      throw new InputError(`${source}: MLP backbone is missing inputDim, hidden or layers`);
    }
    const weights: Float64Array[] = [];
    const biases: Float64Array[] = [];
    o.layers.forEach((layer, l) => {
      if (!layer || !Array.isArray(layer.weights) || !Array.isArray(layer.bias)) {
        throw new InputError(`${source}: layer ${l + 1} is missing weights or bias`);
      }
      const w = Float64Array.from(layer.weights);
      const b = Float64Array.from(layer.bias);
      if (!w.every(Number.isFinite) || !b.every(Number.isFinite)) throw new InputError(`${source}: layer ${l + 1} holds a non-numeric or non-finite value`);
      weights.push(w);
      biases.push(b);
    });
    const head = o.head === undefined ? undefined : LinearHead.fromJSON(o.head, `${source} (head)`);
    try {
      return new MlpBackbone(o.inputDim, o.hidden.map(Number), weights, biases, head);
    } catch (error) {
      if (error instanceof ShapeError) throw new ShapeError(`${source}: ${error.message}`);
      throw error;
    }
  }
}

/** Fill in and check options; messages name the option, the expectation and the value received. */
export function checkMlpOptions(o: MlpOptions): MlpOptions {
  const int = (name: keyof MlpOptions, value: number, min: number): void => {
    if (!Number.isInteger(value) || value < min) throw new InputError(`mlp option ${name}: expected an integer >= ${min}, received ${String(value)}`);
  };
  if (!Array.isArray(o.hidden) || o.hidden.length === 0 || !o.hidden.every((h) => Number.isInteger(h) && h >= 1)) {
    throw new InputError(`mlp option hidden: expected one or more layer sizes (integers >= 1, e.g. 64,32), received ${JSON.stringify(o.hidden)}`);
  }
  int('epochs', o.epochs, 1);
  int('batchSize', o.batchSize, 1);
  int('patience', o.patience, 0);
  int('lrStepEpochs', o.lrStepEpochs, 0);
  if (!(o.lrGamma > 0) || !Number.isFinite(o.lrGamma)) throw new InputError(`mlp option lrGamma: expected a number > 0, received ${String(o.lrGamma)}`);
  int('seed', o.seed, 0);
  if (!(o.learningRate > 0) || !Number.isFinite(o.learningRate)) throw new InputError(`mlp option learningRate: expected a number > 0, received ${String(o.learningRate)}`);
  if (!(o.weightDecay >= 0) || !Number.isFinite(o.weightDecay)) throw new InputError(`mlp option weightDecay: expected a number >= 0, received ${String(o.weightDecay)}`);
  if (!mlpActivations.includes(o.activation)) {
    throw new InputError(`mlp option activation: unknown activation "${String(o.activation)}". Valid: ${mlpActivations.join(', ')}`);
  }
  if (!(MLP_ENGINES as readonly string[]).includes(o.engine)) {
    throw new InputError(`mlp option engine: unknown engine "${String(o.engine)}". Valid: ${MLP_ENGINES.join(', ')}`);
  }
  if (typeof o.keepBest !== 'boolean') throw new InputError(`mlp option keepBest: expected true or false, received ${String(o.keepBest)}`);
  if (o.threads !== undefined) int('threads', o.threads, 1);
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<MlpOptions> {
  const out: Record<string, unknown> = {};
  for (const [k, value] of Object.entries(o)) if (value !== undefined && k !== 'extraLoss') out[k] = value;
  return out as Partial<MlpOptions>;
}

function checkSets(train: EmbeddingSet, validation: EmbeddingSet): void {
  if (train.x.rows === 0) throw new ShapeError('mlp: the training set has no rows');
  if (train.classes.length < 2) throw new ShapeError(`mlp: needs at least 2 classes, received ${train.classes.length}`);
  if (validation.x.cols !== train.x.cols) {
    throw new ShapeError(`mlp: validation has ${validation.x.cols} features, training has ${train.x.cols}`);
  }
  if (validation.classes.join('\u0000') !== train.classes.join('\u0000')) {
    throw new ShapeError(`mlp: validation classes [${validation.classes.join(', ')}] differ from training classes [${train.classes.join(', ')}]`);
  }
  for (const [name, set] of [['training', train], ['validation', validation]] as const) {
    if (set.y.length !== set.x.rows || set.group.length !== set.x.rows) {
      throw new ShapeError(`mlp: ${name} set has ${set.x.rows} rows but ${set.y.length} labels and ${set.group.length} groups`);
    }
    for (let i = 0; i < set.y.length; i++) {
      const t = set.y[i] as number;
      if (t < 0 || t >= set.classes.length) throw new ShapeError(`mlp: ${name} row ${i}: label ${t} is not a class index in 0..${set.classes.length - 1}`);
    }
  }
}

function checkTerm(term: MlpLossTerm, length: number): void {
  if (!term || typeof term.value !== 'number' || !(term.gradient instanceof Float64Array) || term.gradient.length !== length) {
    throw new ShapeError(`mlp extraLoss: expected { value: number, gradient: Float64Array(${length}) }, received gradient of length ${term?.gradient?.length ?? 'none'}`);
  }
}

async function evaluate(
  params: MlpParams, ws: MlpWorkspace, engine: MlpOnnxEngine | null, set: EmbeddingSet, epoch: number, extraLoss: MlpExtraLoss | undefined,
): Promise<{ loss: number; accuracy: number }> {
  const nc = set.classes.length;
  const n = set.x.rows;
  const chunk = engine ? Math.min(ws.maxRows, engine.maxRows) : ws.maxRows;
  const logits = ws.acts[ws.acts.length - 1] as Float64Array;
  const scratch = ws.deltas[ws.deltas.length - 1] as Float64Array;
  const outputs = nc === 2 ? 1 : nc;
  const all = new Float64Array(n * nc);
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    if (engine) {
      engine.load(set.x, start, rows);
      const z = (await engine.forward(params, rows)).logits;
      for (let i = 0; i < rows * outputs; i++) logits[i] = z[i] as number;
    } else {
      ws.load(set.x, start, rows);
      ws.forward(params, rows, true);
    }
    const proba = all.subarray(start * nc, (start + rows) * nc);
    const y = set.y.subarray(start, start + rows);
    loss += crossEntropy(logits, y, rows, nc, proba, scratch, 0);
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

/**
 * Start from a trained network's weights (hidden layers and its own head): the same layer sizes and classes, else
 * ShapeError naming what differs.
 */
function initialiseFrom(params: MlpParams, init: MlpBackbone, classes: readonly string[]): void {
  const json = init.toJSON();
  const sizes = params.sizes;
  const expected = sizes.slice(1, -1).join(', ');
  if (json.inputDim !== sizes[0] || json.hidden.join(', ') !== expected) {
    throw new ShapeError(`mlp init: the network has ${json.inputDim} inputs and hidden [${json.hidden.join(', ')}], expected ${sizes[0]} and [${expected}]`);
  }
  const head = init.shippedHead;
  if (!head || head.classes.join('\u0000') !== classes.join('\u0000')) {
    throw new ShapeError(`mlp init: the network's own head must predict the classes [${classes.join(', ')}]`);
  }
  json.layers.forEach((layer, l) => {
    (params.weights[l] as Float64Array).set(layer.weights);
    (params.biases[l] as Float64Array).set(layer.bias);
  });
  // the head is outputs x inputDim row-major; the network's last layer is input-major
  const L = sizes.length - 2;
  const din = sizes[L] as number;
  const dout = sizes[L + 1] as number;
  const w = params.weights[L] as Float64Array;
  for (let c = 0; c < din; c++) for (let j = 0; j < dout; j++) w[c * dout + j] = head.weights[j * din + c] as number;
  (params.biases[L] as Float64Array).set(head.bias);
}

/** The output layer (input-major) as a LinearHead (outputs x inputDim, row-major). */
function headFromLayer(classes: readonly string[], p: MlpParams, layer: number): LinearHead {
  const din = p.sizes[layer] as number;
  const dout = p.sizes[layer + 1] as number;
  const w = p.weights[layer] as Float64Array;
  const t = new Float64Array(din * dout);
  for (let c = 0; c < din; c++) for (let j = 0; j < dout; j++) t[j * din + c] = w[c * dout + j] as number;
  return new LinearHead([...classes], din, t, Float64Array.from(p.biases[layer] as Float64Array));
}
