/**
 * The whole-network baseline (`full`) the paper argues against: the MLP (tabular) or the small ResNet (images,
 * {@link trainFullFairCnn}) trained end to end, every layer, with mean cross-entropy + alpha * fairness penalty on
 * each mini-batch (in-processing), through trainMlp's / trainCnn's `extraLoss` hook and the same penalty registry
 * the heads use. For a penalty that replaces the loss (mmf) the
 * batch objective is the penalty alone, as for the heads.
 */
import type { EmbeddingSet } from '../../data/dataset.ts';
import { trainMlp, type MlpBackbone, type MlpExtraLoss, type MlpLossTerm, type MlpOptions } from '../../backbone/mlp.ts';
import { trainCnn, type CnnBackbone, type CnnImageSet, type CnnOptions, type CnnProgress } from '../../backbone/cnn.ts';
import type { Penalty, PenaltyOptions } from '../../fairness/penalties/penalty.ts';
import { createPenalty } from '../../fairness/penalties/registry.ts';
import type { LinearHead } from '../../head/linear-head.ts';
import type { RunRecord } from '../../report/schema.ts';
import { evaluateHead } from '../evaluate.ts';
import { embedPixels } from '../prepare.ts';
import type { Constraint } from '../run-options.ts';

/**
 * An {@link MlpExtraLoss} for a binary task with `groupCount` groups: alpha * penalty(p, CE) on each batch (p = P(class 1)), with
 * d/dp = dP/dp + dP/dCE * dCE/dp (dCE/dp = -1/p for y = 1, 1/(1 - p) for y = 0). For a `replacesLoss` penalty
 * (mmf) the term is penalty - mean CE, so the batch objective is the penalty alone.
 *
 * @example
 * const extraLoss = penaltyExtraLoss(createPenalty('eo', { smoothing: 'none' }), 5, 2);
 * await trainMlp(train, validation, { extraLoss });
 */
export function penaltyExtraLoss(penalty: Penalty, alpha: number, groupCount: number): MlpExtraLoss {
  const eps = 1e-12;
  return (batch): MlpLossTerm => {
    const n = batch.rows;
    const prob = new Float64Array(n);
    const loss = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const p = batch.probabilities[2 * i + 1] as number;
      prob[i] = p;
      loss[i] = -Math.log(Math.max(eps, batch.y[i] === 1 ? p : 1 - p));
    }
    const grad = { prob: new Float64Array(n), loss: new Float64Array(n) };
    const replaces = penalty.replacesLoss;
    const scale = replaces ? 1 : alpha;
    let value = scale * penalty.value({ prob, columns: 1, loss, y: batch.y, group: batch.group, classCount: 2, groupCount }, grad, scale);
    const gradient = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const p = prob[i] as number;
      const dCe = batch.y[i] === 1 ? -1 / Math.max(eps, p) : 1 / Math.max(eps, 1 - p);
      let g = (grad.prob[i] as number) + (grad.loss[i] as number) * dCe;
      if (replaces) {
        value -= (loss[i] as number) / n;
        g -= dCe / n;
      }
      gradient[2 * i + 1] = g;
    }
    return { value, gradient };
  };
}

/** The raw (encoded, not embedded) tabular splits the whole network trains on. */
export interface RawSplits {
  readonly train: EmbeddingSet;
  readonly validation: EmbeddingSet;
  readonly test: EmbeddingSet;
}

/** Options of {@link trainFullFair}. */
export interface FullTrainingOptions {
  readonly constraint: Constraint;
  readonly alpha: number;
  readonly seed: number;
  readonly epochs: number;
  readonly hidden?: readonly number[];
  /** Further options of the MLP's training (learning rate, keepBest, engine, ...). */
  readonly mlp?: Partial<Omit<MlpOptions, 'hidden' | 'epochs' | 'seed'>>;
  /** Start from this trained network's weights (same hidden sizes) instead of a fresh initialisation. */
  readonly init?: MlpBackbone;
  readonly penaltyOptions?: PenaltyOptions;
}

/**
 * Train the whole MLP with cross-entropy + alpha * penalty (early stopping on validation loss with the penalty,
 * unless `mlp.keepBest` is false), from scratch or from `init`'s weights, and evaluate it on train (= its
 * fine-tuning set), validation and test, as a `full` run record.
 *
 * @example
 * const record = await trainFullFair(raw, { constraint: 'eo', alpha: 5, seed: 0, epochs: 50 });
 * record.splits.train.equalizedOddsDifference; // the gap on the data it was trained on
 */
export async function trainFullFair(raw: RawSplits, options: FullTrainingOptions): Promise<RunRecord> {
  const penalty = createPenalty(options.constraint, { smoothing: 'none', ...options.penaltyOptions });
  const fit = await trainMlp(raw.train, raw.validation, {
    ...options.mlp,
    ...(options.hidden ? { hidden: [...options.hidden] } : {}),
    ...(options.init ? { init: options.init } : {}),
    epochs: options.epochs,
    seed: options.seed,
    extraLoss: penaltyExtraLoss(penalty, options.alpha, raw.train.groupNames.length),
  });
  const embed = async (set: EmbeddingSet): Promise<EmbeddingSet> => ({ ...set, x: await fit.backbone.embed(set.x) });
  const splits = { train: await embed(raw.train), validation: await embed(raw.validation), test: await embed(raw.test) };
  return fullRunRecord(fit, splits, options, penalty, 'adamw');
}

/**
 * The `full` run record of a whole network trained with the penalty, evaluated with its own last layer on train
 * (= its fine-tuning set), validation and test embeddings.
 */
function fullRunRecord(
  fit: { readonly backbone: { readonly parameterCount: number }; readonly head: LinearHead; readonly seconds: number; readonly epochs: number },
  splits: { readonly train: EmbeddingSet; readonly validation: EmbeddingSet; readonly test: EmbeddingSet },
  options: { readonly constraint: Constraint; readonly alpha: number; readonly seed: number },
  penalty: Penalty,
  optimizer: string,
): RunRecord {
  const trainSummary = evaluateHead(fit.head, splits.train);
  const parameters = fit.backbone.parameterCount + fit.head.parameterCount;
  return {
    method: 'full',
    constraint: options.constraint,
    alpha: penalty.replacesLoss ? 0 : options.alpha,
    seed: options.seed,
    splits: { train: trainSummary, finetune: trainSummary, validation: evaluateHead(fit.head, splits.validation), test: evaluateHead(fit.head, splits.test) },
    cost: {
      seconds: fit.seconds,
      parametersTrained: parameters,
      parametersTotal: parameters,
      finetuneRows: splits.train.x.rows,
      optimizer,
      iterations: fit.epochs,
    },
  };
}

/** The decoded images of the three splits the whole CNN trains and is evaluated on (as prepareData's cnn path splits them). */
export interface CnnSplits {
  readonly train: CnnImageSet;
  readonly validation: CnnImageSet;
  readonly test: CnnImageSet;
  /** Names of the sensitive groups that `group` indexes. */
  readonly groupNames: readonly string[];
}

/** Options of {@link trainFullFairCnn}: the network's training (as the ERM pre-training) plus the penalty. */
export interface FullCnnTrainingOptions {
  readonly constraint: Constraint;
  readonly alpha: number;
  readonly seed: number;
  readonly epochs: number;
  readonly cnn?: Partial<Omit<CnnOptions, 'seed' | 'epochs'>>;
  /** Start from this trained network's weights (same size, channels and classes) instead of a fresh initialisation. */
  readonly init?: CnnBackbone;
  readonly penaltyOptions?: PenaltyOptions;
}

/**
 * The whole-network baseline on images: the small ResNet of `--backbone cnn` trained from scratch with mean
 * cross-entropy + alpha * penalty on each mini-batch (trainCnn's `extraLoss`, the same term as the MLP's
 * {@link penaltyExtraLoss}), keeping the epoch of lowest validation loss with the penalty, then evaluated with its own
 * last layer on train (= its fine-tuning set), validation and test, as a `full` run record.
 *
 * @example
 * const record = await trainFullFairCnn(splits, { constraint: 'eo', alpha: 5, seed: 0, epochs: 10 });
 * record.splits.train.equalizedOddsDifference; // the gap on the images it was trained on
 */
export async function trainFullFairCnn(splits: CnnSplits, options: FullCnnTrainingOptions, onProgress?: (p: CnnProgress) => void): Promise<RunRecord> {
  const penalty = createPenalty(options.constraint, { smoothing: 'none', ...options.penaltyOptions });
  const fit = await trainCnn(splits.train, splits.validation, {
    ...options.cnn,
    ...(options.init ? { init: options.init } : {}),
    epochs: options.epochs,
    seed: options.seed,
    extraLoss: penaltyExtraLoss(penalty, options.alpha, splits.groupNames.length),
  }, onProgress);
  const embed = async (set: CnnImageSet): Promise<EmbeddingSet> => ({
    x: await embedPixels(fit.backbone, set.images.pixels, set.images.n, set.images.size),
    y: set.y,
    classes: set.classes,
    group: set.group,
    groupNames: splits.groupNames,
  });
  const embedded = { train: await embed(splits.train), validation: await embed(splits.validation), test: await embed(splits.test) };
  return fullRunRecord(fit, embedded, options, penalty, 'sgd-momentum');
}
