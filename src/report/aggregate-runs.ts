import type { MethodName, RunRecord, SplitSummary } from './schema.ts';

/** The numeric headline metrics of a {@link SplitSummary} (everything but `rows`, `byGroup`, `intervals`). */
export type SummaryMetric = Exclude<keyof SplitSummary, 'rows' | 'byGroup' | 'intervals'>;

/** Every {@link SummaryMetric}, in display order. */
export const SUMMARY_METRICS: readonly SummaryMetric[] = [
  'accuracy',
  'balancedAccuracy',
  'auc',
  'demographicParityDifference',
  'demographicParityRatio',
  'equalizedOddsDifference',
  'equalizedOddsRatio',
  'equalOpportunityDifference',
  'accuracyEqualityDifference',
  'worstGroupAccuracy',
  'worstCellAccuracy',
];

/** Mean and sample standard deviation of one quantity over seeds. */
export interface MeanStd {
  readonly mean: number;
  /** Sample standard deviation (denominator n - 1); `null` for a single value. */
  readonly std: number | null;
  readonly n: number;
}

/** The runs of one configuration (method, constraint, alpha, target gap), summarised over their seeds. */
export interface RunAggregate {
  readonly method: MethodName;
  readonly constraint: string;
  readonly alpha: number;
  readonly maxGap?: number;
  /** Seeds of the runs, ascending. */
  readonly seeds: readonly number[];
  /** Indices of the runs in the input array, in seed order. */
  readonly runs: readonly number[];
  readonly test: Readonly<Record<SummaryMetric, MeanStd>>;
  readonly train: Readonly<Record<SummaryMetric, MeanStd>>;
  readonly seconds: MeanStd;
}

/**
 * Mean and sample standard deviation: mean = sum(v) / n, std = sqrt(sum((v - mean)^2) / (n - 1)).
 * Non-finite values are skipped; no finite value gives `{ mean: NaN, std: null, n: 0 }`.
 *
 * @example
 * meanStd([0.8, 0.82, 0.84]) // -> { mean: 0.82, std: 0.02, n: 3 }
 */
export function meanStd(values: readonly number[]): MeanStd {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  if (n === 0) return { mean: Number.NaN, std: null, n: 0 };
  const mean = finite.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { mean, std: null, n };
  const variance = finite.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n };
}

/** Display order of methods: what ships today, the paper's sets, then the comparisons. */
export const METHOD_ORDER: readonly MethodName[] = ['shipped', 'b1', 'b2', 'b3', 'm1', 'm2', 'm2w', 'm2p', 'threshold', 'full'];

/**
 * Group runs that differ only by seed — same method, constraint, alpha and `maxGap` — and give the mean ± std
 * of every test and train metric and of the fine-tuning seconds.
 *
 * Order: methods as in {@link METHOD_ORDER}, then constraint (alphabetical), alpha and maxGap (ascending).
 *
 * @example
 * aggregateRuns([m2eoSeed0, m2eoSeed1, b1Seed0]).map((a) => [a.method, a.seeds])
 * // -> [['b1', [0]], ['m2', [0, 1]]]
 */
export function aggregateRuns(runs: readonly RunRecord[]): RunAggregate[] {
  const groups = new Map<string, number[]>();
  runs.forEach((run, i) => {
    const key = JSON.stringify([run.method, run.constraint, run.alpha, run.maxGap ?? null]);
    const list = groups.get(key);
    if (list === undefined) groups.set(key, [i]);
    else list.push(i);
  });
  const aggregates: RunAggregate[] = [];
  for (const indices of groups.values()) {
    indices.sort((a, b) => (runs[a] as RunRecord).seed - (runs[b] as RunRecord).seed || a - b);
    const members = indices.map((i) => runs[i] as RunRecord);
    const first = members[0] as RunRecord;
    const summarise = (split: 'test' | 'train'): Record<SummaryMetric, MeanStd> => {
      const out = {} as Record<SummaryMetric, MeanStd>;
      for (const metric of SUMMARY_METRICS) out[metric] = meanStd(members.map((r) => r.splits[split][metric]));
      return out;
    };
    aggregates.push({
      method: first.method,
      constraint: first.constraint,
      alpha: first.alpha,
      ...(first.maxGap === undefined ? {} : { maxGap: first.maxGap }),
      seeds: members.map((r) => r.seed),
      runs: indices,
      test: summarise('test'),
      train: summarise('train'),
      seconds: meanStd(members.map((r) => r.cost.seconds)),
    });
  }
  const rank = (m: MethodName): number => {
    const r = METHOD_ORDER.indexOf(m);
    return r < 0 ? METHOD_ORDER.length : r;
  };
  aggregates.sort(
    (a, b) =>
      rank(a.method) - rank(b.method) ||
      a.constraint.localeCompare(b.constraint) ||
      a.alpha - b.alpha ||
      (a.maxGap ?? -1) - (b.maxGap ?? -1),
  );
  return aggregates;
}
