import { InputError } from '../errors.ts';
import { paretoFront } from '../report/pareto-front.ts';
import type { RunRecord, SelectionRecord, SplitSummary } from '../report/schema.ts';

/** A selection rule: the most accurate run (on validation data) whose `metric` is at most `bound`. */
export interface SelectRule {
  readonly metric: keyof SplitSummary & string;
  readonly bound: number;
}

/** The fairness differences a rule can bound. */
export const GAP_METRICS = [
  'equalizedOddsDifference',
  'demographicParityDifference',
  'equalOpportunityDifference',
  'accuracyEqualityDifference',
] as const;

/**
 * Parse `METRIC<=BOUND` (metric: a fairness difference of metrics.json, e.g. equalizedOddsDifference).
 *
 * @example
 * parseSelect('equalizedOddsDifference<=0.05'); // { metric: 'equalizedOddsDifference', bound: 0.05 }
 */
export function parseSelect(text: string): SelectRule {
  const m = /^\s*([A-Za-z]+)\s*<=\s*([0-9.eE+-]+)\s*$/.exec(text);
  const metric = m?.[1];
  const bound = Number(m?.[2]);
  if (!m || !(GAP_METRICS as readonly string[]).includes(metric as string) || !Number.isFinite(bound)) {
    throw new InputError(`--select "${text}": expected METRIC<=BOUND with METRIC one of ${GAP_METRICS.join(', ')}, e.g. "equalizedOddsDifference<=0.05"`);
  }
  return { metric: metric as SelectRule['metric'], bound };
}

/** What {@link selectRun} chose, in metrics.json's words, and the validation Pareto front. */
export interface RunSelection extends SelectionRecord {
  /** Indices into `runs` of the candidates on the validation Pareto front (accuracy up, gap down). */
  readonly front: readonly number[];
}

/**
 * The operating point of `sweep` and `demo`: among `candidates` (indices into `runs`), the most accurate run on
 * validation data whose `rule.metric` is at most `rule.bound`; when none is, the run with the smallest gap. Test
 * data is never read. A run without a validation split is read on its fine-tuning set. Ties: the first candidate.
 * Note: for M1 the validation split is also its fine-tuning set, so its validation numbers are optimistic.
 *
 * @example
 * selectRun(runs, [1, 2, 3], parseSelect('equalizedOddsDifference<=0.05'));
 * // { run: 3, metric: 'equalizedOddsDifference', bound: 0.05, split: 'validation', boundMet: true, front: [1, 3] }
 */
export function selectRun(runs: readonly RunRecord[], candidates: readonly number[], rule: SelectRule): RunSelection {
  if (candidates.length === 0) throw new InputError('no run to choose an operating point from');
  const on = (i: number): SplitSummary => {
    const r = runs[i] as RunRecord;
    return r.splits.validation ?? r.splits.finetune;
  };
  const gap = (i: number): number => Number(on(i)[rule.metric]);
  const front = paretoFront(candidates.map((i) => ({ x: gap(i), y: on(i).accuracy }))).map((k) => candidates[k] as number);
  const meeting = candidates.filter((i) => gap(i) <= rule.bound);
  const boundMet = meeting.length > 0;
  const pool = boundMet ? meeting : candidates;
  const run = pool.reduce((best, i) => {
    if (boundMet) return on(i).accuracy > on(best).accuracy ? i : best;
    return gap(i) < gap(best) ? i : best;
  }, pool[0] as number);
  const split = (runs[run] as RunRecord).splits.validation !== undefined ? 'validation' : 'finetune';
  return { run, metric: rule.metric, bound: rule.bound, split, boundMet, front };
}
