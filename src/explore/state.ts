/**
 * The state of the explore page: everything a person sets on it, as plain data that the page sends with each
 * request and keeps in its URL. {@link parseState} checks a state received over HTTP; {@link fitKey} names the
 * fit a state needs (the part of the state that changes the head), so heads are cached and fitted once.
 */
import { InputError } from '../errors.ts';
import { CONSTRAINTS, METHODS, type Constraint, type HeadOptions, type Method } from '../pipeline/run-options.ts';
import { methodUsesPenalty } from '../pipeline/finetune-sets.ts';

/**
 * The positions of the strength slider: 0, then 10^(k/10) for k = -20 .. 30 (0.01 to 1,000, ten steps a decade)
 * rounded to two significant digits, so that every value is exact as a `--alpha` flag.
 *
 * @example
 * ALPHA_STEPS.slice(0, 4); // [0, 0.01, 0.013, 0.016]
 */
export const ALPHA_STEPS: readonly number[] = [0, ...Array.from({ length: 51 }, (_, i) => Number((10 ** ((i - 20) / 10)).toPrecision(2)))];

/** The positions of the target-gap slider: 0.005 to 0.300 in steps of 0.005. */
export const GAP_STEPS: readonly number[] = Array.from({ length: 60 }, (_, i) => Number(((i + 1) * 0.005).toFixed(3)));

/** Performance metrics the page can show (fields of SplitSummary; higher is better). */
export const PERFORMANCE_METRICS = ['accuracy', 'balancedAccuracy', 'auc', 'worstGroupAccuracy', 'worstCellAccuracy'] as const;
export type PerformanceMetric = (typeof PERFORMANCE_METRICS)[number];

/** Fairness gaps (differences: lower is fairer) and ratios (higher is fairer) the page can show. */
export const FAIRNESS_METRICS = [
  'equalizedOddsDifference',
  'demographicParityDifference',
  'equalOpportunityDifference',
  'accuracyEqualityDifference',
  'demographicParityRatio',
  'equalizedOddsRatio',
] as const;
export type FairnessMetric = (typeof FAIRNESS_METRICS)[number];

/** The differences among {@link FAIRNESS_METRICS}: the trade-off curve's x axis is one of them. */
export const GAP_METRICS = ['equalizedOddsDifference', 'demographicParityDifference', 'equalOpportunityDifference', 'accuracyEqualityDifference'] as const;
export type GapMetric = (typeof GAP_METRICS)[number];

/** Short names of every metric, for cards, axes and tables. */
export const METRIC_LABELS: Readonly<Record<PerformanceMetric | FairnessMetric, string>> = {
  accuracy: 'Accuracy',
  balancedAccuracy: 'Balanced accuracy',
  auc: 'AUC',
  worstGroupAccuracy: 'Worst-group accuracy',
  worstCellAccuracy: 'Worst-cell accuracy',
  equalizedOddsDifference: 'Equalized-odds difference',
  demographicParityDifference: 'Demographic-parity difference',
  equalOpportunityDifference: 'Equal-opportunity difference',
  accuracyEqualityDifference: 'Accuracy-equality difference',
  demographicParityRatio: 'Demographic-parity ratio',
  equalizedOddsRatio: 'Equalized-odds ratio',
};

/** The gap each penalty closes, the curve's default x axis for it. */
export const CONSTRAINT_GAP: Readonly<Record<Constraint, GapMetric>> = {
  eo: 'equalizedOddsDifference',
  dp: 'demographicParityDifference',
  eopp: 'equalOpportunityDifference',
  di: 'demographicParityDifference',
  ae: 'accuracyEqualityDifference',
  mmf: 'accuracyEqualityDifference',
};

/** Everything set on the page. */
export interface ExploreState {
  /** Fine-tuning set and loss (b1, b2, b3, m1, m2, m2w). */
  readonly method: Method;
  readonly constraint: Constraint;
  /** `alpha`: the strength slider; `target`: the most accurate head whose gap on the fine-tuning set is at most `maxGap`. */
  readonly mode: 'alpha' | 'target';
  readonly alpha: number;
  readonly maxGap: number;
  readonly seed: number;
  /** Sensitive columns crossed into the groups (a non-empty subset of the command's `--sensitive`, in its order). */
  readonly groupBy: readonly string[];
  /** Groups under this many rows in train + validation are folded or flagged (0: none). */
  readonly minGroupSize: number;
  readonly smallGroups: 'fold' | 'flag';
  /** The "before" of every comparison: B1 (the ERM head on the training set) or the backbone's own head. */
  readonly baseline: 'b1' | 'shipped';
  readonly performance: readonly PerformanceMetric[];
  readonly fairness: readonly FairnessMetric[];
  /** The gap on the trade-off curve's x axis. */
  readonly curve: GapMetric;
  /** A difference at most this on test data passes (shown beside each gap, as Aequitas's disparity tolerance). */
  readonly tolerance: number;
}

/** The state a page opens with, from the command's head options. */
export function initialState(head: Partial<HeadOptions>, sensitive: readonly string[], shipped: boolean, grouping: { groupBy?: readonly string[]; minGroupSize?: number } = {}): ExploreState {
  const constraint = head.constraint ?? 'eo';
  return {
    method: head.method ?? 'm2',
    constraint,
    mode: head.maxGap !== undefined ? 'target' : 'alpha',
    alpha: head.alpha ?? 1,
    maxGap: head.maxGap ?? 0.05,
    seed: head.seed ?? 0,
    groupBy: grouping.groupBy ?? [...sensitive],
    minGroupSize: grouping.minGroupSize ?? 0,
    smallGroups: 'fold',
    baseline: shipped ? 'shipped' : 'b1',
    performance: ['accuracy', 'worstGroupAccuracy'],
    fairness: [CONSTRAINT_GAP[constraint], ...(CONSTRAINT_GAP[constraint] === 'demographicParityDifference' ? ['equalizedOddsDifference' as const] : ['demographicParityDifference' as const])],
    curve: CONSTRAINT_GAP[constraint],
    tolerance: 0.05,
  };
}

/**
 * Check a state received from the page (parsed JSON) against the choices of this session: every field present
 * with a valid value, else InputError naming the field, what was received and the valid choices (the server
 * answers 400 with it).
 *
 * @example
 * parseState({ ...state, constraint: 'eq' }, ['sex'], true); // InputError: constraint: Unknown constraint "eq". Valid: eo, dp, ...
 */
export function parseState(value: unknown, sensitive: readonly string[], shipped: boolean): ExploreState {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError('state: expected a JSON object');
  const v = value as Record<string, unknown>;
  const oneOf = <T extends string>(key: string, valid: readonly T[]): T => {
    const x = v[key];
    if (typeof x !== 'string' || !(valid as readonly string[]).includes(x)) {
      throw new InputError(`state.${key}: expected one of ${valid.join(', ')}, received ${describe(x)}`);
    }
    return x as T;
  };
  const number = (key: string, min: number, max: number, integer = false): number => {
    const x = v[key];
    if (typeof x !== 'number' || !Number.isFinite(x) || x < min || x > max || (integer && !Number.isInteger(x))) {
      throw new InputError(`state.${key}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, received ${describe(x)}`);
    }
    return x;
  };
  const list = <T extends string>(key: string, valid: readonly T[], nonEmpty: boolean): T[] => {
    const x = v[key];
    if (!Array.isArray(x) || !x.every((s) => typeof s === 'string' && (valid as readonly string[]).includes(s))) {
      throw new InputError(`state.${key}: expected a list of ${valid.join(', ')}, received ${describe(x)}`);
    }
    if (nonEmpty && x.length === 0) throw new InputError(`state.${key}: choose at least one of ${valid.join(', ')}`);
    if (new Set(x).size !== x.length) throw new InputError(`state.${key}: a value is listed twice`);
    return x as T[];
  };
  const groupBy = list('groupBy', sensitive, true);
  const baseline = oneOf('baseline', ['b1', 'shipped'] as const);
  if (baseline === 'shipped' && !shipped) throw new InputError('state.baseline: this backbone has no head of its own for this task; valid: b1');
  return {
    method: oneOf('method', METHODS),
    constraint: oneOf('constraint', CONSTRAINTS),
    mode: oneOf('mode', ['alpha', 'target'] as const),
    alpha: number('alpha', 0, 1e6),
    maxGap: number('maxGap', 0, 1),
    seed: number('seed', 0, 2 ** 31 - 1, true),
    // in the order of --sensitive, whatever order the page sent
    groupBy: sensitive.filter((s) => groupBy.includes(s)),
    minGroupSize: number('minGroupSize', 0, 1e9, true),
    smallGroups: oneOf('smallGroups', ['fold', 'flag'] as const),
    baseline,
    performance: list('performance', PERFORMANCE_METRICS, false),
    fairness: list('fairness', FAIRNESS_METRICS, false),
    curve: oneOf('curve', GAP_METRICS),
    tolerance: number('tolerance', 0, 1),
  };
}

function describe(x: unknown): string {
  const text = JSON.stringify(x);
  return text === undefined ? 'nothing' : text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** The head options a state fits with (lbfgs); target mode searches from alpha 1, as `run --max-gap` does. */
export function headOptions(state: ExploreState): HeadOptions {
  const penalised = methodUsesPenalty(state.method);
  return {
    method: state.method,
    constraint: state.constraint,
    alpha: penalised && state.mode === 'target' ? 1 : state.alpha,
    ...(penalised && state.mode === 'target' ? { maxGap: state.maxGap } : {}),
    optimizer: 'lbfgs',
    seed: state.seed,
  };
}

/** The grouping a state fits on: the columns crossed, and the size under which groups are folded (fold mode only). */
export function groupingOf(state: ExploreState, sensitive: readonly string[]): { groupBy?: readonly string[]; minGroupSize?: number } {
  return {
    ...(state.groupBy.length !== sensitive.length ? { groupBy: state.groupBy } : {}),
    ...(state.smallGroups === 'fold' && state.minGroupSize > 0 ? { minGroupSize: state.minGroupSize } : {}),
  };
}

/** A key naming the grouping of a state (see {@link groupingOf}). */
export function groupingKey(state: ExploreState, sensitive: readonly string[]): string {
  const g = groupingOf(state, sensitive);
  return JSON.stringify([g.groupBy ?? null, g.minGroupSize ?? 0]);
}

/**
 * The head of a state's `b1` baseline: B1 (the plain re-trained head) with the state's grouping, seed 0.
 *
 * @example
 * baselineState({ ...state, method: 'm2', seed: 3 }); // { ...state, method: 'b1', mode: 'alpha', seed: 0 }
 */
export function baselineState(state: ExploreState): ExploreState {
  return { ...state, method: 'b1', mode: 'alpha', seed: 0 };
}

/**
 * A key naming the head a state needs: its grouping and head options, without what does not change the head
 * (the penalty and strength of a B* method, the strength in target mode, the metrics shown).
 *
 * @example
 * fitKey({ ...state, method: 'b1', alpha: 5 }, ['sex']) === fitKey({ ...state, method: 'b1', alpha: 1 }, ['sex']); // true
 */
export function fitKey(state: ExploreState, sensitive: readonly string[]): string {
  const h = headOptions(state);
  const penalised = methodUsesPenalty(h.method);
  return JSON.stringify([groupingKey(state, sensitive), h.method, penalised ? h.constraint : 'none', penalised ? h.alpha : 0, h.maxGap ?? null, h.seed]);
}

/**
 * Index of the value of `steps` nearest to `value` (on a log scale between positive values): the slider position of
 * a strength or gap typed in.
 *
 * @example
 * nearestIndex(ALPHA_STEPS, 3); // 26 (3.2)
 */
export function nearestIndex(steps: readonly number[], value: number): number {
  let best = 0;
  let bestDistance = Infinity;
  steps.forEach((v, i) => {
    const d = value > 0 && v > 0 ? Math.abs(Math.log(v / value)) : Math.abs(v - value);
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  });
  return best;
}
