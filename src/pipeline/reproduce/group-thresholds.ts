/**
 * The post-processing baseline (`threshold`): per-group, possibly randomised thresholds on a fixed model's scores
 * that equalise the true- and false-positive rates across groups (Hardt et al. 2016; as fairlearn's
 * ThresholdOptimizer with constraints="equalized_odds", objective accuracy). Chosen on validation data. It needs
 * the sensitive attribute at prediction time, which the fair heads do not.
 *
 * Fit, for every group g on the fitting data:
 * 1. the ROC points of the rules "predict 1 when score >= t" over every distinct score t (plus "never": (0, 0)),
 *    and their upper convex hull H_g (every point on it is reachable by mixing two adjacent thresholds);
 * 2. on a grid of false-positive rates x in [0, 1] (1001 points), the common operating point
 *    y(x) = min_g H_g(x): a group whose hull lies above it reaches (x, y(x)) by sometimes ignoring the score and
 *    predicting 1 with probability x (a point on the diagonal);
 * 3. x* = argmax_x accuracy = (P y(x) + N (1 - x)) / n (P, N: positives and negatives over all groups).
 *
 * The rule of group g at x* is P(predict 1 | s) = (1 - pIgnore) * (s >= high ? 1 : s >= low ? pBetween : 0)
 * + pIgnore * x*, with [high, low] the hull segment holding x* and pIgnore = (H_g(x*) - y*) / (H_g(x*) - x*).
 */
import { InputError } from '../../errors.ts';
import { createRng } from '../../rng.ts';

/** One group's randomised rule (see the module comment). */
export interface GroupRule {
  /** Scores >= high are predicted 1 (before the ignore mix). */
  readonly high: number;
  /** Scores in [low, high) are predicted 1 with probability pBetween. */
  readonly low: number;
  readonly pBetween: number;
  /** Probability of ignoring the score and predicting 1 with probability `constant`. */
  readonly pIgnore: number;
  readonly constant: number;
}

/** A fitted equalized-odds post-processor: one rule per group (index = group index). */
export interface GroupThresholds {
  readonly rules: readonly GroupRule[];
  /** The common (false-positive rate, true-positive rate) every group is moved to, on the fitting data. */
  readonly fpr: number;
  readonly tpr: number;
}

interface RocPoint {
  readonly x: number;
  readonly y: number;
  /** The threshold t of "score >= t" reaching this point (+Infinity: never predict 1). */
  readonly t: number;
}

/**
 * Fit per-group equalized-odds thresholds on `scores` (higher = more likely positive), `y` in {0, 1} and
 * `group` in 0..groupCount-1. A group without positives or without negatives -> InputError naming it.
 *
 * @example
 * // two groups whose scores separate the classes perfectly: both move to (fpr 0, tpr 1), accuracy 1
 * fitGroupThresholds([0.9, 0.1, 0.8, 0.3], Int32Array.of(1, 0, 1, 0), Int32Array.of(0, 0, 1, 1), ['a', 'b']);
 * // { fpr: 0, tpr: 1, rules: [{ high: 0.9, ... }, { high: 0.8, ... }] }
 */
export function fitGroupThresholds(
  scores: ArrayLike<number>,
  y: ArrayLike<number>,
  group: ArrayLike<number>,
  groupNames: readonly string[],
): GroupThresholds {
  const G = groupNames.length;
  const hulls: RocPoint[][] = [];
  let positives = 0;
  let negatives = 0;
  for (let g = 0; g < G; g++) {
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) if (group[i] === g) rows.push(i);
    const p = rows.filter((i) => y[i] === 1).length;
    const n = rows.length - p;
    if (p === 0 || n === 0) {
      throw new InputError(`group thresholds: group "${groupNames[g]}" has ${p} positive and ${n} negative rows in the fitting data; it needs both`);
    }
    positives += p;
    negatives += n;
    hulls.push(upperHull(rocPoints(rows.map((i) => scores[i] as number), rows.map((i) => y[i] as number), p, n)));
  }
  const total = positives + negatives;
  let bestX = 0;
  let bestY = 0;
  let bestAccuracy = -Infinity;
  const steps = 1000;
  for (let k = 0; k <= steps; k++) {
    const x = k / steps;
    let yMin = Infinity;
    for (const hull of hulls) yMin = Math.min(yMin, hullAt(hull, x).y);
    const accuracy = (positives * yMin + negatives * (1 - x)) / total;
    if (accuracy > bestAccuracy + 1e-12) {
      bestAccuracy = accuracy;
      bestX = x;
      bestY = yMin;
    }
  }
  const rules = hulls.map((hull) => {
    const at = hullAt(hull, bestX);
    const pIgnore = at.y - bestX > 1e-12 ? Math.min(1, Math.max(0, (at.y - bestY) / (at.y - bestX))) : 0;
    return { high: at.high, low: at.low, pBetween: at.pBetween, pIgnore, constant: bestX };
  });
  return { rules, fpr: bestX, tpr: bestY };
}

/**
 * P(predict 1) of each row under its group's rule: the expected prediction, used as the score for the AUC.
 *
 * @example
 * positiveProbability(t, [0.95, 0.2], Int32Array.of(0, 1)); // e.g. Float64Array [1, 0]
 */
export function positiveProbability(thresholds: GroupThresholds, scores: ArrayLike<number>, group: ArrayLike<number>): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const rule = thresholds.rules[group[i] as number];
    if (!rule) throw new InputError(`group thresholds: row ${i} has group index ${String(group[i])}, fitted groups are 0..${thresholds.rules.length - 1}`);
    const s = scores[i] as number;
    const base = s >= rule.high ? 1 : s >= rule.low ? rule.pBetween : 0;
    out[i] = (1 - rule.pIgnore) * base + rule.pIgnore * rule.constant;
  }
  return out;
}

/**
 * Randomised 0/1 predictions: row i is 1 when u_i < P(predict 1), u_i uniform from a generator seeded with `seed`.
 *
 * @example
 * predictGroupThresholds(t, scores, group, 0); // Int32Array of 0/1, the same for the same seed
 */
export function predictGroupThresholds(thresholds: GroupThresholds, scores: ArrayLike<number>, group: ArrayLike<number>, seed: number): Int32Array {
  const p = positiveProbability(thresholds, scores, group);
  const rng = createRng(seed);
  const out = new Int32Array(p.length);
  for (let i = 0; i < p.length; i++) {
    const u = rng.float();
    out[i] = u < (p[i] as number) ? 1 : 0;
  }
  return out;
}

/** ROC points of "score >= t" for every distinct score, from (0, 0) (t = +Infinity) to (1, 1). */
function rocPoints(scores: number[], y: number[], p: number, n: number): RocPoint[] {
  const order = scores.map((_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const points: RocPoint[] = [{ x: 0, y: 0, t: Infinity }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < order.length; k++) {
    const i = order[k] as number;
    if (y[i] === 1) tp++;
    else fp++;
    const next = order[k + 1];
    if (next !== undefined && scores[next] === scores[i]) continue;
    points.push({ x: fp / n, y: tp / p, t: scores[i] as number });
  }
  return points;
}

/** Upper convex hull of ROC points sorted by x (monotone chain), from (0, 0) to (1, 1). */
function upperHull(points: RocPoint[]): RocPoint[] {
  const hull: RocPoint[] = [];
  for (const q of points) {
    while (hull.length >= 2) {
      const a = hull[hull.length - 2] as RocPoint;
      const b = hull[hull.length - 1] as RocPoint;
      // drop b when it lies on or below the line a -> q
      if ((b.x - a.x) * (q.y - a.y) - (b.y - a.y) * (q.x - a.x) >= 0) hull.pop();
      else break;
    }
    hull.push(q);
  }
  return hull;
}

/** The hull's tpr at false-positive rate x, with the thresholds and mix weight reaching it. */
function hullAt(hull: RocPoint[], x: number): { y: number; high: number; low: number; pBetween: number } {
  for (let k = 0; k + 1 < hull.length; k++) {
    const a = hull[k] as RocPoint;
    const b = hull[k + 1] as RocPoint;
    if (x <= b.x + 1e-15) {
      const w = b.x > a.x ? (x - a.x) / (b.x - a.x) : 1;
      const share = Math.min(1, Math.max(0, w));
      return { y: a.y + share * (b.y - a.y), high: a.t, low: b.t, pBetween: share };
    }
  }
  const last = hull[hull.length - 1] as RocPoint;
  return { y: last.y, high: last.t, low: last.t, pBetween: 1 };
}
