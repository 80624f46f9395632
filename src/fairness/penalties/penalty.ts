/**
 * The fairness penalty interface shared by every criterion (eo, dp, eopp, di, ae, mmf).
 *
 * A penalty is a differentiable function of the per-row predicted probabilities and per-row cross-entropies
 * of a classifier on a fine-tuning set. The trainer adds `alpha * value` to the mean cross-entropy (or, for
 * `replacesLoss` penalties such as MMF, uses the value as the loss) and chains the exact analytic gradient
 * returned here through sigmoid / softmax into the head's weights.
 *
 * Probabilities: a binary task (2 classes) passes one column, p_i = P(class 1 | x_i), and the positive label
 * is class 1. A K-class task (K > 2) passes K columns P(class c | x_i); each criterion is then computed one
 * class against the rest and averaged over the K classes.
 */
import { InputError } from '../../errors.ts';

/** Names of the fairness criteria, as used on the CLI (`--constraint eo`) and in saved models. */
export type PenaltyName = 'eo' | 'dp' | 'eopp' | 'di' | 'ae' | 'mmf';

/** The valid {@link PenaltyName}s, in the order error messages list them. */
export const PENALTY_NAMES: readonly PenaltyName[] = ['eo', 'dp', 'eopp', 'di', 'ae', 'mmf'];

/**
 * How a non-smooth |gap| or max is smoothed:
 * - `none`: exact |x| and max (subgradients at ties; fine for SGD).
 * - `square`: x^2 in place of |x| (and (max - min)^2 for the largest pairwise gap).
 * - `logsumexp`: tau * log cosh(x / tau) in place of |x|, tau * log-sum-exp(r / tau) in place of max; smooth,
 *   within tau * log(2) (|x|) or tau * log(m) (max over m values) of the exact value.
 */
export type Smoothing = 'none' | 'square' | 'logsumexp';

/** Serialisable options of a penalty; every field has a default (see {@link resolvePenaltyOptions}). */
export interface PenaltyOptions {
  /**
   * eo / eopp only. `conditional` (default; the peer's and fairlearn's definition): soft FP rate of group g =
   * sum_{y=0, a=g} p / |y=0, a=g| (FN: over the group's positives). `group` (Mao et al.'s code): divide by the
   * group size instead, sum_{y=0, a=g} p / |a=g|; on a set with few positives in a group this barely weighs that
   * group's FN rate (on a CelebA-like M1 set it made the hard EO gap worse), on a (label, group)-balanced set
   * it is the conditional form halved.
   */
  readonly rate?: 'group' | 'conditional';
  /**
   * More than two groups. `max` (default): the largest pairwise gap, max_g r_g - min_g r_g.
   * `overall`: the sum of the gaps to the overall rate, sum_g |r_g - r_all|. (Two groups and `max`: |r_0 - r_1|.)
   */
  readonly groups?: 'max' | 'overall';
  /** See {@link Smoothing}; default `none`. */
  readonly smoothing?: Smoothing;
  /** tau of the `logsumexp` smoothing, > 0; default 0.01. */
  readonly temperature?: number;
}

/** {@link PenaltyOptions} with every default filled in. */
export interface ResolvedPenaltyOptions {
  readonly rate: 'group' | 'conditional';
  readonly groups: 'max' | 'overall';
  readonly smoothing: Smoothing;
  readonly temperature: number;
}

/** JSON form of a penalty: enough to rebuild it through the registry. */
export interface PenaltyJSON {
  readonly format: 'fairhead.penalty';
  readonly version: 1;
  readonly name: PenaltyName;
  readonly options: ResolvedPenaltyOptions;
}

/** What a penalty is evaluated on: one fine-tuning set and the head's current outputs on it. */
export interface PenaltyInput {
  /** Row-major `rows x columns` probabilities (binary: one column, P(class 1); K > 2: K columns). */
  readonly prob: Float64Array;
  /** 1 for a binary task, else the number of classes K. */
  readonly columns: number;
  /** Per-row cross-entropy -log P(y_i | x_i). */
  readonly loss: Float64Array;
  /** Class index per row, 0..classCount-1. */
  readonly y: Int32Array;
  /** Group index per row, 0..groupCount-1. */
  readonly group: Int32Array;
  readonly classCount: number;
  readonly groupCount: number;
  /**
   * How many rows each entry stands for (default: 1 each). A penalty depends on the rows only through per-(label,
   * group) sums, so one entry per cell holding the cell's mean probability and loss, with its row count here, gives
   * the same value; the gradient entries are then the derivative for each row of the cell.
   */
  readonly count?: Float64Array;
}

/** Where {@link Penalty.value} adds its gradient: d value / d prob and d value / d loss, same shapes as the input. */
export interface PenaltyGradient {
  readonly prob: Float64Array;
  readonly loss: Float64Array;
}

/** The labels, groups and names a penalty's cell check and hard gap need. */
export interface LabelledGroups {
  readonly y: Int32Array;
  readonly group: Int32Array;
  readonly classes: readonly string[];
  readonly groupNames: readonly string[];
  /** Rows per (label, group) cell, counts[label * groups + group], when the caller has counted them already. */
  readonly cellCounts?: Int32Array;
}

/** A fairness criterion: a soft penalty with its exact gradient, plus the matching hard (0/1) gap. */
export interface Penalty {
  readonly name: PenaltyName;
  readonly options: ResolvedPenaltyOptions;
  /** True when the value replaces the cross-entropy instead of being added to it (MMF). */
  readonly replacesLoss: boolean;
  /**
   * The penalty's value. When `gradient` is given, adds `scale * d value / d prob` and `scale * d value / d loss`
   * into it. Terms whose (label, group) cell is empty are skipped (they contribute 0), as in Mao et al.'s code;
   * use {@link Penalty.checkCells} first to reject such data.
   */
  value(input: PenaltyInput, gradient?: PenaltyGradient, scale?: number): number;
  /** Throws an InputError naming the first (label, group) cell or group the penalty needs but `set` lacks. */
  checkCells(set: LabelledGroups, what?: string): void;
  /**
   * The hard fairness gap this penalty is a soft version of, on predicted classes (0 = fair):
   * eo: max(TPR gap, FPR gap); eopp: TPR gap; dp: selection-rate gap; di: 1 - min/max selection rate;
   * ae: accuracy gap; mmf: worst (label, group) cell error rate. Gaps are max - min over the groups present;
   * K > 2: the largest over the K one-vs-rest problems.
   */
  hardGap(yPred: Int32Array, y: Int32Array, group: Int32Array, classCount: number, groupCount: number): number;
  /**
   * {@link hardGap} from the rows counted by (label, group, predicted class), table[(y * groups + g) * classes + p]
   * (rates.ts predictionTable), for a caller that has counted them already.
   */
  hardGapOfTable(table: Int32Array, classCount: number, groupCount: number): number;
  toJSON(): PenaltyJSON;
}

/**
 * Fill in the defaults of {@link PenaltyOptions} and check every value (InputError listing the valid choices).
 *
 * @example
 * resolvePenaltyOptions({ smoothing: 'square' });
 * // { rate: 'conditional', groups: 'max', smoothing: 'square', temperature: 0.01 }
 */
export function resolvePenaltyOptions(options: PenaltyOptions = {}): ResolvedPenaltyOptions {
  const rate = options.rate ?? 'conditional';
  const groups = options.groups ?? 'max';
  const smoothing = options.smoothing ?? 'none';
  const temperature = options.temperature ?? 0.01;
  choice('rate', rate, ['group', 'conditional']);
  choice('groups', groups, ['max', 'overall']);
  choice('smoothing', smoothing, ['none', 'square', 'logsumexp']);
  if (!(typeof temperature === 'number' && temperature > 0 && Number.isFinite(temperature))) {
    throw new InputError(`penalty option temperature must be a finite number > 0, received ${String(temperature)}`);
  }
  return { rate, groups, smoothing, temperature };
}

function choice(key: string, value: unknown, valid: readonly string[]): void {
  if (!valid.includes(value as string)) {
    throw new InputError(`penalty option ${key} must be one of ${valid.join(', ')}, received ${JSON.stringify(value)}`);
  }
}
