import type { HeadObjective } from './objective.ts';
import type { Rng } from '../rng.ts';

/** Options of {@link paperSgd}: the recipe of Mao et al. (2023), as the paper's PyTorch recipe (peer.py, see bench/head.ts) runs it. */
export interface PaperSgdOptions {
  /** Learning rate (default 1e-2). */
  readonly learningRate?: number;
  /** Heavy-ball momentum, PyTorch convention (default 0.9). */
  readonly momentum?: number;
  /** Weight decay on every parameter, biases included, PyTorch convention (default 5e-4). */
  readonly weightDecay?: number;
  /** StepLR: the learning rate is multiplied by `stepGamma` every `stepSize` epochs (defaults 100, 0.5). */
  readonly stepSize?: number;
  readonly stepGamma?: number;
  /** Full-batch epochs at most (default 1000). */
  readonly maxEpochs?: number;
  /** Early stopping: epochs without an improvement of more than `minDelta` of the monitored objective (50, 1e-4). */
  readonly patience?: number;
  readonly minDelta?: number;
  /** Called after every epoch with the fit-set objective and the monitored (hold-out) objective. */
  readonly onEpoch?: (epoch: number, objective: number, monitored: number) => void;
}

/** Result of {@link paperSgd}: the best epoch's parameters. */
export interface PaperSgdResult {
  readonly theta: Float64Array;
  readonly epochs: number;
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  readonly monitored: number;
}

/**
 * Full-batch SGD as in the paper: lr 1e-2, momentum 0.9, weight decay 5e-4, StepLR(100, 0.5), up to 1000 epochs.
 *
 * Early stopping (as peer.py): after every epoch the objective (cross-entropy + alpha * penalty) is evaluated on
 * `monitor` (a held-out fifth of the fine-tuning set, or the fit set itself); the parameters of the best epoch are
 * kept; training stops once `patience` epochs in a row failed to improve the best by more than `minDelta`.
 *
 * A binary head is trained as PyTorch's nn.Linear(d, 2) would be: two rows (w1, b1), (w0, b0), with the logit
 * z = (w1 - w0).x + (b1 - b0), so weight decay and momentum act exactly as in the peer. `theta0` (k*d + k,
 * binary: the single-logit head) is split as w1 = theta/2, w0 = -theta/2; `randomInit` instead draws every raw
 * parameter from U(-1/sqrt(d), 1/sqrt(d)) (PyTorch's default init) with `rng`.
 *
 * @example
 * const r = await paperSgd(fitObjective, holdoutObjective, new Float64Array(fitObjective.size), rng, true);
 * r.epochs; // e.g. 312 (stopped early)
 */
export async function paperSgd(
  fit: HeadObjective,
  monitor: HeadObjective,
  theta0: Float64Array,
  rng: Rng,
  randomInit: boolean,
  options: PaperSgdOptions = {},
): Promise<PaperSgdResult> {
  const lr0 = options.learningRate ?? 1e-2;
  const mu = options.momentum ?? 0.9;
  const wd = options.weightDecay ?? 5e-4;
  const stepSize = options.stepSize ?? 100;
  const gamma = options.stepGamma ?? 0.5;
  const maxEpochs = options.maxEpochs ?? 1000;
  const patience = options.patience ?? 50;
  const minDelta = options.minDelta ?? 1e-4;
  const size = fit.size;
  const d = fit.cols;
  const k = fit.outputs;
  const twoRows = k === 1;
  const rawSize = twoRows ? 2 * size : size;
  // raw parameters: binary [w1 (d), b1, w0 (d), b0]; K > 2: theta itself
  const raw = new Float64Array(rawSize);
  if (randomInit) {
    const bound = 1 / Math.sqrt(d);
    for (let j = 0; j < rawSize; j++) raw[j] = (2 * rng.float() - 1) * bound;
  } else if (twoRows) {
    for (let j = 0; j < size; j++) {
      raw[j] = (theta0[j] as number) / 2;
      raw[size + j] = -(theta0[j] as number) / 2;
    }
  } else {
    raw.set(theta0);
  }
  // theta layout is [W (k*d), b (k)]; for binary, raw row layout [w1, b1] matches theta's [w, b] (k = 1)
  const theta = new Float64Array(size);
  const toTheta = (): void => {
    if (!twoRows) {
      theta.set(raw);
      return;
    }
    for (let j = 0; j < size; j++) theta[j] = (raw[j] as number) - (raw[size + j] as number);
  };
  const grad = new Float64Array(size);
  const velocity = new Float64Array(rawSize);
  let best = Infinity;
  let bestTheta = new Float64Array(size);
  toTheta();
  bestTheta.set(theta);
  let bestEpoch = 0;
  let bad = 0;
  let epochs = 0;
  let stoppedEarly = false;
  let lr = lr0;
  for (let epoch = 0; epoch < maxEpochs; epoch++) {
    toTheta();
    const value = await fit.evaluate(theta, grad);
    for (let j = 0; j < rawSize; j++) {
      const g = twoRows ? (j < size ? (grad[j] as number) : -(grad[j - size] as number)) : (grad[j] as number);
      const gj = g + wd * (raw[j] as number);
      velocity[j] = epoch === 0 ? gj : mu * (velocity[j] as number) + gj;
      raw[j] = (raw[j] as number) - lr * (velocity[j] as number);
    }
    epochs = epoch + 1;
    if (epochs % stepSize === 0) lr *= gamma;
    toTheta();
    const monitored = (await monitor.evaluate(theta)).objective;
    options.onEpoch?.(epochs, value.objective, monitored);
    if (monitored < best - minDelta) {
      best = monitored;
      bestEpoch = epochs;
      bad = 0;
      bestTheta = Float64Array.from(theta);
    } else {
      bad++;
      if (patience > 0 && bad >= patience) {
        stoppedEarly = true;
        break;
      }
    }
  }
  return { theta: bestTheta, epochs, bestEpoch, stoppedEarly, monitored: best };
}
