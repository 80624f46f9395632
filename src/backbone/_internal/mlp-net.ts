/**
 * Kernels of a fully connected ReLU network, shared by MLP training and embedding.
 *
 * A network of `sizes = [d0, d1, ..., dL]` has L dense layers; layer l maps d_l -> d_{l+1}. Its weights are stored
 * input-major (the tfjs Dense "kernel" layout): `w[c * out + j]` connects input c to unit j, so the inner loops of
 * the forward pass, the weight gradient and the input gradient all read contiguous memory, and zero inputs (one-hot
 * columns, inactive ReLUs) are skipped. All arithmetic is float64.
 */
import type { Matrix } from '../../data/matrix.ts';
import type { Rng } from '../../rng.ts';

/** All weights and biases of a network in one flat float64 array, with per-layer views into it. */
export class MlpParams {
  readonly flat: Float64Array;
  readonly weights: Float64Array[] = [];
  readonly biases: Float64Array[] = [];
  /** 1 for weights, 0 for biases (weight decay applies to weights only). */
  readonly decayMask: Uint8Array;

  constructor(readonly sizes: readonly number[], flat?: Float64Array) {
    let total = 0;
    for (let l = 0; l + 1 < sizes.length; l++) total += ((sizes[l] as number) + 1) * (sizes[l + 1] as number);
    this.flat = flat ?? new Float64Array(total);
    this.decayMask = new Uint8Array(total);
    let at = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const din = sizes[l] as number;
      const dout = sizes[l + 1] as number;
      this.weights.push(this.flat.subarray(at, at + din * dout));
      this.decayMask.fill(1, at, at + din * dout);
      at += din * dout;
      this.biases.push(this.flat.subarray(at, at + dout));
      at += dout;
    }
  }

  get layers(): number {
    return this.sizes.length - 1;
  }

  clone(): MlpParams {
    return new MlpParams(this.sizes, Float64Array.from(this.flat));
  }

  /**
   * He-normal weights for ReLU layers (std sqrt(2 / fan_in)), Glorot-normal for the last (linear) layer
   * (std sqrt(2 / (fan_in + fan_out))); biases zero.
   */
  initialise(rng: Rng): void {
    this.flat.fill(0);
    for (let l = 0; l < this.layers; l++) {
      const din = this.sizes[l] as number;
      const dout = this.sizes[l + 1] as number;
      const std = l + 1 < this.layers ? Math.sqrt(2 / din) : Math.sqrt(2 / (din + dout));
      const w = this.weights[l] as Float64Array;
      for (let k = 0; k < w.length; k++) w[k] = std * rng.normal();
    }
  }
}

/** Activation and gradient buffers for up to `maxRows` rows at once. */
export class MlpWorkspace {
  /** acts[l]: input of layer l (acts[0] = the rows), acts[L] = output of the last layer; each maxRows x sizes[l]. */
  readonly acts: Float64Array[];
  /** deltas[l]: dLoss / d(pre-activation output of layer l), maxRows x sizes[l + 1]. */
  readonly deltas: Float64Array[];

  constructor(readonly sizes: readonly number[], readonly maxRows: number) {
    this.acts = sizes.map((d) => new Float64Array(maxRows * d));
    this.deltas = sizes.slice(1).map((d) => new Float64Array(maxRows * d));
  }

  /** Copy `n` rows of `x` (rows `order[start..start+n)`, or `start..start+n` without `order`) into acts[0]. */
  load(x: Matrix, start: number, n: number, order?: Int32Array): void {
    const d = x.cols;
    const a0 = this.acts[0] as Float64Array;
    for (let r = 0; r < n; r++) {
      const src = (order ? (order[start + r] as number) : start + r) * d;
      const dst = r * d;
      for (let c = 0; c < d; c++) a0[dst + c] = x.data[src + c] as number;
    }
  }

  /**
   * Forward pass of `n` loaded rows. Every layer is followed by ReLU, except the last when `linearLast`.
   * z[i, j] = b[j] + sum_c a[i, c] * w[c * out + j]
   */
  forward(p: MlpParams, n: number, linearLast: boolean): void {
    const layers = p.layers;
    for (let l = 0; l < layers; l++) {
      const din = p.sizes[l] as number;
      const dout = p.sizes[l + 1] as number;
      const a = this.acts[l] as Float64Array;
      const z = this.acts[l + 1] as Float64Array;
      const w = p.weights[l] as Float64Array;
      const b = p.biases[l] as Float64Array;
      for (let i = 0; i < n; i++) {
        const zo = i * dout;
        const ao = i * din;
        for (let j = 0; j < dout; j++) z[zo + j] = b[j] as number;
        for (let c = 0; c < din; c++) {
          const av = a[ao + c] as number;
          if (av === 0) continue;
          const wo = c * dout;
          let j = 0;
          for (; j + 3 < dout; j += 4) {
            z[zo + j] = (z[zo + j] as number) + av * (w[wo + j] as number);
            z[zo + j + 1] = (z[zo + j + 1] as number) + av * (w[wo + j + 1] as number);
            z[zo + j + 2] = (z[zo + j + 2] as number) + av * (w[wo + j + 2] as number);
            z[zo + j + 3] = (z[zo + j + 3] as number) + av * (w[wo + j + 3] as number);
          }
          for (; j < dout; j++) z[zo + j] = (z[zo + j] as number) + av * (w[wo + j] as number);
        }
      }
      if (l + 1 < layers || !linearLast) {
        const m = n * dout;
        for (let k = 0; k < m; k++) if ((z[k] as number) < 0) z[k] = 0;
      }
    }
  }

  /**
   * Backward pass after {@link forward} with `linearLast = true`: reads deltas[L-1] (dLoss/dlogits, filled by the
   * caller) and writes the parameter gradient into `g` (overwritten). ReLU's derivative at 0 is taken as 0.
   */
  backward(p: MlpParams, g: MlpParams, n: number): void {
    g.flat.fill(0);
    for (let l = p.layers - 1; l >= 0; l--) {
      const din = p.sizes[l] as number;
      const dout = p.sizes[l + 1] as number;
      const a = this.acts[l] as Float64Array;
      const dz = this.deltas[l] as Float64Array;
      const w = p.weights[l] as Float64Array;
      const gw = g.weights[l] as Float64Array;
      const gb = g.biases[l] as Float64Array;
      const da = l > 0 ? (this.deltas[l - 1] as Float64Array) : null;
      for (let i = 0; i < n; i++) {
        const zo = i * dout;
        const ao = i * din;
        for (let j = 0; j < dout; j++) gb[j] = (gb[j] as number) + (dz[zo + j] as number);
        for (let c = 0; c < din; c++) {
          const av = a[ao + c] as number;
          if (av === 0) {
            // Input of a hidden layer = ReLU output: 0 means inactive, so its gradient is 0 too.
            if (da) da[ao + c] = 0;
            continue;
          }
          const wo = c * dout;
          if (da) {
            let s = 0;
            for (let j = 0; j < dout; j++) {
              const d = dz[zo + j] as number;
              gw[wo + j] = (gw[wo + j] as number) + av * d;
              s += (w[wo + j] as number) * d;
            }
            da[ao + c] = s;
          } else {
            let j = 0;
            for (; j + 3 < dout; j += 4) {
              gw[wo + j] = (gw[wo + j] as number) + av * (dz[zo + j] as number);
              gw[wo + j + 1] = (gw[wo + j + 1] as number) + av * (dz[zo + j + 1] as number);
              gw[wo + j + 2] = (gw[wo + j + 2] as number) + av * (dz[zo + j + 2] as number);
              gw[wo + j + 3] = (gw[wo + j + 3] as number) + av * (dz[zo + j + 3] as number);
            }
            for (; j < dout; j++) gw[wo + j] = (gw[wo + j] as number) + av * (dz[zo + j] as number);
          }
        }
      }
    }
  }
}

/**
 * Cross-entropy of `n` rows of logits (binary: 1 logit per row, sigmoid; K > 2: K logits, softmax).
 * `y[i]` is row i's class. Writes class probabilities in LinearHead.predictProba layout (`n x classes`, binary [1 - p, p]) into `proba`,
 * and `scale * dLoss_i/dz` into `dz`. Returns the summed (not averaged) loss.
 *
 * Binary: loss_i = log(1 + e^z) - y z, dloss/dz = p - y. Softmax: loss_i = logsumexp(z) - z_y, dloss/dz_j = p_j - [j = y].
 */
export function crossEntropy(
  logits: Float64Array, y: Int32Array, n: number, classes: number,
  proba: Float64Array, dz: Float64Array, scale: number,
): number {
  let sum = 0;
  if (classes === 2) {
    for (let i = 0; i < n; i++) {
      const z = logits[i] as number;
      const t = y[i] as number;
      const p = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
      // log(1 + e^z) without overflow
      sum += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - t * z;
      proba[2 * i] = 1 - p;
      proba[2 * i + 1] = p;
      dz[i] = scale * (p - t);
    }
    return sum;
  }
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits[o + j] as number);
    let s = 0;
    for (let j = 0; j < classes; j++) {
      const e = Math.exp((logits[o + j] as number) - max);
      proba[o + j] = e;
      s += e;
    }
    const t = y[i] as number;
    sum += Math.log(s) + max - (logits[o + t] as number);
    for (let j = 0; j < classes; j++) {
      const p = (proba[o + j] as number) / s;
      proba[o + j] = p;
      dz[o + j] = scale * (p - (j === t ? 1 : 0));
    }
  }
  return sum;
}

/** Rows whose predicted class (binary: P(class 1) >= 0.5; else the most probable) is their label. */
export function countCorrect(proba: Float64Array, y: Int32Array, rows: number, nc: number): number {
  let correct = 0;
  for (let i = 0; i < rows; i++) {
    let bestClass = 0;
    if (nc === 2) bestClass = (proba[2 * i + 1] as number) >= 0.5 ? 1 : 0;
    else for (let j = 1; j < nc; j++) if ((proba[i * nc + j] as number) > (proba[i * nc + bestClass] as number)) bestClass = j;
    if (bestClass === y[i]) correct++;
  }
  return correct;
}

/**
 * Add the chain rule of a loss term given as d/dprobabilities (`gp`, predictProba layout) to dz (d/dlogits).
 * Binary: p = sigmoid(z), probabilities [1 - p, p]: dz += (gp1 - gp0) p (1 - p).
 * Softmax: dz_j += p_j (gp_j - sum_k gp_k p_k).
 */
export function addProbabilityGradient(proba: Float64Array, gp: Float64Array, n: number, classes: number, dz: Float64Array): void {
  if (classes === 2) {
    for (let i = 0; i < n; i++) {
      const p = proba[2 * i + 1] as number;
      dz[i] = (dz[i] as number) + ((gp[2 * i + 1] as number) - (gp[2 * i] as number)) * p * (1 - p);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const o = i * classes;
    let dot = 0;
    for (let k = 0; k < classes; k++) dot += (gp[o + k] as number) * (proba[o + k] as number);
    for (let j = 0; j < classes; j++) dz[o + j] = (dz[o + j] as number) + (proba[o + j] as number) * ((gp[o + j] as number) - dot);
  }
}
