import { InputError } from '../../errors.ts';
import { encodeInput } from './_internal/encode.ts';
import { createRng } from '../../rng.ts';
import { computeEncoded, type GroupMetrics, type GroupMetricsInput } from './group-metrics.ts';

/** Options of a bootstrap. */
export interface BootstrapOptions {
  /** Number of resamples (default 1000). */
  readonly samples?: number;
  /** Seed of the resampling (default 0): the same seed gives the same interval. */
  readonly seed?: number;
  /** Coverage of the interval (default 0.95: the 2.5% and 97.5% quantiles). */
  readonly level?: number;
}

/** A percentile bootstrap interval of one statistic. */
export interface BootstrapInterval {
  /** The statistic on the data itself. */
  readonly estimate: number;
  readonly low: number;
  readonly high: number;
  readonly level: number;
  /** Resamples where the statistic was a number (NaN results are left out, e.g. AUC of a one-class group). */
  readonly samples: number;
}

/** A statistic read from the engine's result, e.g. `(m) => m.difference().selectionRate`. */
export type Statistic = (metrics: GroupMetrics) => number;

/**
 * Seeded percentile-bootstrap confidence interval of any statistic of the group metrics, as fairlearn's
 * `MetricFrame(n_boot=..., ci_quantiles=..., random_state=...)`: draw n rows with replacement from the n rows
 * (not stratified by group), recompute the statistic, repeat `samples` times, and take the
 * (1 − level)/2 and (1 + level)/2 quantiles (linear interpolation, numpy's default). A group that no row of a
 * resample falls into is absent from that resample. The resample is applied as row multiplicities (a
 * weight k_i = times row i was drawn), which gives exactly the metrics of the copied rows.
 *
 * @example
 * bootstrapInterval(input, (m) => m.difference().selectionRate, { samples: 1000, seed: 0 })
 * // { estimate: 0.15, low: 0.02, high: 0.28, level: 0.95, samples: 1000 }
 */
export function bootstrapInterval(input: GroupMetricsInput, statistic: Statistic, options: BootstrapOptions = {}): BootstrapInterval {
  return bootstrapIntervals(input, { value: statistic }, options).value;
}

/**
 * Bootstrap intervals of several statistics from the same resamples (cheaper than one call each).
 * @example bootstrapIntervals(input, { dp: (m) => m.difference().selectionRate, acc: (m) => m.overall.accuracy })
 */
export function bootstrapIntervals<K extends string>(
  input: GroupMetricsInput,
  statistics: Readonly<Record<K, Statistic>>,
  options: BootstrapOptions = {},
): Record<K, BootstrapInterval> {
  const samples = options.samples ?? 1000;
  const level = options.level ?? 0.95;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(samples) || samples < 1) throw new InputError(`bootstrap samples: got ${samples}, expected a whole number >= 1`);
  if (!(level > 0 && level < 1)) throw new InputError(`bootstrap level: got ${level}, expected a number between 0 and 1 (e.g. 0.95)`);
  if (!Number.isFinite(seed)) throw new InputError(`bootstrap seed: got ${seed}, expected a whole number`);

  const enc = encodeInput(input);
  const names = Object.keys(statistics) as K[];
  const full = computeEncoded(enc, undefined);
  const draws = names.map(() => new Float64Array(samples));
  const rng = createRng(seed);
  const n = enc.n;
  const multiplicity = new Uint32Array(n);
  for (let b = 0; b < samples; b++) {
    multiplicity.fill(0);
    for (let i = 0; i < n; i++) {
      // floor(u n) with 32 random bits, as before: a bias below n / 2^32, at half the cost of rng.int(n)
      const r = Math.floor(rng.float() * n);
      multiplicity[r] = (multiplicity[r] as number) + 1;
    }
    const m = computeEncoded(enc, multiplicity);
    names.forEach((k, s) => {
      (draws[s] as Float64Array)[b] = statistics[k](m);
    });
  }
  const out = {} as Record<K, BootstrapInterval>;
  names.forEach((k, s) => {
    const values = (draws[s] as Float64Array).filter((v) => !Number.isNaN(v)).sort();
    out[k] = {
      estimate: statistics[k](full),
      low: quantile(values, (1 - level) / 2),
      high: quantile(values, (1 + level) / 2),
      level,
      samples: values.length,
    };
  });
  return out;
}

/** Quantile q of sorted values by linear interpolation (numpy's default); NaN when empty. @example [1,2,3,4], 0.5 → 2.5 */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) return NaN;
  const h = (m - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, m - 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (h - lo) * (b - a);
}
