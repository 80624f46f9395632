import { InputError, ShapeError } from '../errors.ts';
import type { Matrix } from '../data/matrix.ts';

/** JSON form of a {@link LinearHead}; `format` guards against files from newer versions. */
export interface LinearHeadJSON {
  readonly format: 'fairhead.linear-head';
  readonly version: 1;
  readonly classes: readonly string[];
  readonly inputDim: number;
  readonly outputs: number;
  readonly weights: readonly number[];
  readonly bias: readonly number[];
}

/**
 * The last layer of a classifier: logits z = W x + b.
 *
 * - Binary (2 classes): one logit, P(class 1) = sigmoid(z). `outputs` = 1.
 * - K > 2 classes: K logits, probabilities = softmax(z). `outputs` = K.
 *
 * `weights` is row-major `outputs x inputDim` in float64.
 *
 * @example
 * const head = new LinearHead(['no', 'yes'], 2, Float64Array.of(1, -1), Float64Array.of(0));
 * head.predictProba(matrix(Float32Array.of(2, 1), 1, 2)); // Float64Array [0.2689, 0.7311]
 */
export class LinearHead {
  readonly outputs: number;

  constructor(
    readonly classes: readonly string[],
    readonly inputDim: number,
    readonly weights: Float64Array,
    readonly bias: Float64Array,
  ) {
    if (classes.length < 2) throw new ShapeError(`a head needs at least 2 classes, received ${classes.length}`);
    this.outputs = classes.length === 2 ? 1 : classes.length;
    if (weights.length !== this.outputs * inputDim) {
      throw new ShapeError(`head weights: expected ${this.outputs} x ${inputDim} = ${this.outputs * inputDim} values, received ${weights.length}`);
    }
    if (bias.length !== this.outputs) throw new ShapeError(`head bias: expected ${this.outputs} values, received ${bias.length}`);
  }

  /** A head of zeros (every class equally likely). */
  static zeros(classes: readonly string[], inputDim: number): LinearHead {
    const k = classes.length === 2 ? 1 : classes.length;
    return new LinearHead(classes, inputDim, new Float64Array(k * inputDim), new Float64Array(k));
  }

  /** Number of trained parameters (weights + biases). */
  get parameterCount(): number {
    return this.weights.length + this.bias.length;
  }

  /** Logits, row-major `rows x outputs`. */
  logits(x: Matrix): Float64Array {
    if (x.cols !== this.inputDim) throw new ShapeError(`head expects ${this.inputDim} features, received ${x.cols}`);
    const k = this.outputs;
    const d = this.inputDim;
    const z = new Float64Array(x.rows * k);
    // four running sums (columns c mod 4), added as (s0 + s1) + (s2 + s3), then the bias: one sum's additions wait
    // for each other, four overlap (3x faster than one sum on 512 columns)
    const data = x.data;
    const weights = this.weights;
    const bias = this.bias;
    const d4 = d - (d % 4);
    for (let i = 0; i < x.rows; i++) {
      const row = i * d;
      for (let j = 0; j < k; j++) {
        const w = j * d;
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let c = 0;
        for (; c < d4; c += 4) {
          s0 += (data[row + c] as number) * (weights[w + c] as number);
          s1 += (data[row + c + 1] as number) * (weights[w + c + 1] as number);
          s2 += (data[row + c + 2] as number) * (weights[w + c + 2] as number);
          s3 += (data[row + c + 3] as number) * (weights[w + c + 3] as number);
        }
        for (; c < d; c++) s0 += (data[row + c] as number) * (weights[w + c] as number);
        z[i * k + j] = s0 + s1 + (s2 + s3) + (bias[j] as number);
      }
    }
    return z;
  }

  /** Class probabilities, row-major `rows x classes.length` (binary: [1 - p, p]). */
  predictProba(x: Matrix): Float64Array {
    const z = this.logits(x);
    const nc = this.classes.length;
    const p = new Float64Array(x.rows * nc);
    if (this.outputs === 1) {
      for (let i = 0; i < x.rows; i++) {
        const q = sigmoid(z[i] as number);
        p[2 * i] = 1 - q;
        p[2 * i + 1] = q;
      }
      return p;
    }
    for (let i = 0; i < x.rows; i++) {
      let max = -Infinity;
      for (let j = 0; j < nc; j++) max = Math.max(max, z[i * nc + j] as number);
      let sum = 0;
      for (let j = 0; j < nc; j++) {
        const e = Math.exp((z[i * nc + j] as number) - max);
        p[i * nc + j] = e;
        sum += e;
      }
      for (let j = 0; j < nc; j++) p[i * nc + j] = (p[i * nc + j] as number) / sum;
    }
    return p;
  }

  /** Score of the positive class (binary) per row: P(class 1). */
  positiveScore(x: Matrix): Float64Array {
    if (this.outputs !== 1) throw new ShapeError('positiveScore needs a binary head');
    const z = this.logits(x);
    return z.map(sigmoid);
  }

  /** Predicted class index per row (binary: P(class 1) >= threshold, default 0.5). */
  predict(x: Matrix, threshold = 0.5): Int32Array {
    const p = this.predictProba(x);
    const nc = this.classes.length;
    const out = new Int32Array(x.rows);
    for (let i = 0; i < x.rows; i++) {
      if (nc === 2) {
        out[i] = (p[2 * i + 1] as number) >= threshold ? 1 : 0;
        continue;
      }
      let best = 0;
      for (let j = 1; j < nc; j++) if ((p[i * nc + j] as number) > (p[i * nc + best] as number)) best = j;
      out[i] = best;
    }
    return out;
  }

  toJSON(): LinearHeadJSON {
    return {
      format: 'fairhead.linear-head',
      version: 1,
      classes: [...this.classes],
      inputDim: this.inputDim,
      outputs: this.outputs,
      weights: Array.from(this.weights),
      bias: Array.from(this.bias),
    };
  }

  /** Read a head written by {@link LinearHead.toJSON}; `source` names the file in errors. */
  static fromJSON(json: unknown, source = 'head'): LinearHead {
    const o = json as Partial<LinearHeadJSON> | null;
    if (!o || typeof o !== 'object' || o.format !== 'fairhead.linear-head') {
      throw new InputError(`${source}: not a fairhead linear head (expected format "fairhead.linear-head")`);
    }
    if (o.version !== 1) {
      throw new InputError(`${source}: linear head format version ${String(o.version)} is not supported (this fairhead reads version 1)`);
    }
    if (!Array.isArray(o.classes) || !Array.isArray(o.weights) || !Array.isArray(o.bias) || typeof o.inputDim !== 'number') {
      throw new InputError(`${source}: linear head is missing classes, inputDim, weights or bias`);
    }
    for (const key of ['weights', 'bias'] as const) {
      const bad = (o[key] as readonly unknown[]).findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
      if (bad >= 0) throw new InputError(`${source}: ${key}[${bad}] should be a finite number, received ${JSON.stringify((o[key] as readonly unknown[])[bad])}`);
    }
    try {
      return new LinearHead(o.classes.map(String), o.inputDim, Float64Array.from(o.weights), Float64Array.from(o.bias));
    } catch (error) {
      if (error instanceof ShapeError) throw new InputError(`${source}: ${error.message}`);
      throw error;
    }
  }
}

/** 1 / (1 + e^-z), computed without overflow. */
export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}
