/**
 * The operating point of a reproduction experiment: the head fairhead would hand over, chosen by a rule fixed
 * before any test number is read, and the fairlearn figures quoted beside Adult's.
 */
import { meanStd, type MeanStd } from '../../report/aggregate-runs.ts';
import type { RunRecord } from '../../report/schema.ts';
import { selectRun } from '../select-run.ts';
import { FAIR_METHODS } from './protocol.ts';

/** The methods whose runs are candidate heads (a linear last layer on the frozen backbone). */
export const HEAD_METHODS: readonly string[] = ['b1', 'b2', 'b3', ...FAIR_METHODS];

/**
 * The rule, as the tables state it. It is {@link selectRun}'s (`sweep --select`, the demo's) with the bound set per
 * seed from B1: the most accurate head on the validation split whose validation EO gap is at most half of B1's.
 */
export const OPERATING_POINT_RULE =
  "per seed, among every head of the grid (B1, B2, B3, M1, M2, M2w, M2p at every constraint and alpha), the most accurate on the validation split whose validation EO gap is at most half of B1's (same seed); if none is, the one with the smallest validation EO gap (sweep --select's rule, src/pipeline/select-run.ts, with the bound equalizedOddsDifference <= B1's / 2). Test data is read only to report the chosen heads. M1, M2, M2w and M2p fine-tune on validation rows, so their validation numbers are optimistic";

/** What {@link operatingPoint} chose. */
export interface OperatingPoint {
  /** The chosen run of each seed (seeds with a B1 run, ascending), with its bound and whether a head met it. */
  readonly perSeed: readonly { readonly seed: number; readonly run: RunRecord; readonly bound: number; readonly boundMet: boolean }[];
  readonly testAccuracy: MeanStd;
  readonly testBalancedAccuracy: MeanStd;
  readonly testEo: MeanStd;
  readonly validationEo: MeanStd;
  /** Seconds of the chosen heads' fits (on frozen embeddings: the backbone's pre-training is not counted). */
  readonly fitSeconds: MeanStd;
}

/**
 * Apply {@link OPERATING_POINT_RULE} to the runs of an experiment; undefined without B1 runs.
 *
 * @example
 * const point = operatingPoint(metrics.runs);
 * point?.perSeed[0]?.run.method; // e.g. 'm1'
 * point?.testEo.mean;            // the chosen heads' mean test EO gap
 */
export function operatingPoint(runs: readonly RunRecord[]): OperatingPoint | undefined {
  const seeds = [...new Set(runs.filter((r) => r.method === 'b1').map((r) => r.seed))].sort((a, b) => a - b);
  if (seeds.length === 0) return undefined;
  const perSeed = seeds.map((seed) => {
    const candidates = runs.map((r, i) => i).filter((i) => (runs[i] as RunRecord).seed === seed && HEAD_METHODS.includes((runs[i] as RunRecord).method));
    const b1 = runs.find((r) => r.seed === seed && r.method === 'b1') as RunRecord;
    const bound = (b1.splits.validation ?? b1.splits.finetune).equalizedOddsDifference / 2;
    const chosen = selectRun(runs, candidates, { metric: 'equalizedOddsDifference', bound });
    return { seed, run: runs[chosen.run] as RunRecord, bound, boundMet: chosen.boundMet };
  });
  const of = (f: (r: RunRecord) => number): MeanStd => meanStd(perSeed.map((p) => f(p.run)));
  return {
    perSeed,
    testAccuracy: of((r) => r.splits.test.accuracy),
    testBalancedAccuracy: of((r) => r.splits.test.balancedAccuracy),
    testEo: of((r) => r.splits.test.equalizedOddsDifference),
    validationEo: of((r) => (r.splits.validation ?? r.splits.finetune).equalizedOddsDifference),
    fitSeconds: of((r) => r.cost.seconds),
  };
}

/** One quoted reference model: its test accuracy and EO gap, and its fitting time when given. */
export interface ReferenceFigure {
  readonly model: string;
  readonly accuracy: number;
  readonly equalizedOdds: number;
  readonly fitSeconds?: number;
}

/**
 * fairlearn 0.9 + scikit-learn on UCI Adult, quoted from issue 21 (measured elsewhere: Python's fairlearn is not
 * installed here, so these are not re-run): adult.data to fit, adult.test to test, sex kept out of the features,
 * one-hot + standardised features, logistic regression.
 */
export const FAIRLEARN_ADULT_REFERENCE: { readonly source: string; readonly figures: readonly ReferenceFigure[] } = {
  source:
    'fairlearn 0.9 + scikit-learn, quoted from issue 21 (measured elsewhere, not re-run here: Python\'s fairlearn is not installed on this machine): fit on adult.data, tested on adult.test (the same test rows), sex kept out of the features, one-hot + standardised, logistic regression',
  figures: [
    { model: 'ERM (logistic regression)', accuracy: 0.853, equalizedOdds: 0.073 },
    { model: 'ExponentiatedGradient, EO constraint', accuracy: 0.841, equalizedOdds: 0.023, fitSeconds: 4.95 },
    { model: 'ThresholdOptimizer for EO (needs sex at prediction time)', accuracy: 0.834, equalizedOdds: 0.004 },
  ],
};
