import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { groupMetrics, METRIC_NAMES, type GroupMetricsInput } from '../../src/fairness/metrics/group-metrics.ts';
import {
  accuracyEqualityDifference,
  accuracyEqualityRatio,
  demographicParityDifference,
  demographicParityRatio,
  equalizedOddsDifference,
  equalizedOddsRatio,
  equalOpportunityDifference,
  equalOpportunityRatio,
} from '../../src/fairness/metrics/views.ts';

/** Rows of (yTrue, yPred, score, group) with 1..80 rows and groups among a, b, c. */
const rows = fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 1 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('a', 'b', 'c')), {
  minLength: 1,
  maxLength: 80,
});

function input(r: readonly (readonly [number, number, number, string])[], rename: (g: string) => string = (g) => g): GroupMetricsInput {
  return {
    yTrue: r.map((x) => x[0]),
    yPred: r.map((x) => x[1]),
    yScore: r.map((x) => x[2]),
    sensitiveFeatures: [{ name: 'g', values: r.map((x) => rename(x[3])) }],
  };
}

const DIFFERENCES = { demographicParityDifference, equalizedOddsDifference, equalOpportunityDifference, accuracyEqualityDifference };
const RATIOS = { demographicParityRatio, equalizedOddsRatio, equalOpportunityRatio, accuracyEqualityRatio };
const summary = (i: GroupMetricsInput): Record<string, number> =>
  Object.fromEntries([...Object.entries(DIFFERENCES), ...Object.entries(RATIOS)].map(([k, f]) => [k, f(i)]));

/** NaN only where a rate is undefined in every group (e.g. no positives anywhere for a TPR gap); else in [0, 1]. */
function inUnitInterval(v: number): boolean {
  return Number.isNaN(v) || (v >= 0 && v <= 1);
}

describe('fairness metric invariants on random predictions', () => {
  it('every difference and every ratio lies in [0, 1]', () => {
    fc.assert(
      fc.property(rows, (r) => {
        for (const [k, v] of Object.entries(summary(input(r)))) expect(inUnitInterval(v), `${k} = ${v}`).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('with two groups the demographic parity difference is |selection rate a − selection rate b|, 0 when equal', () => {
    fc.assert(
      fc.property(rows, (r) => {
        const groups = new Set(r.map((x) => x[3]));
        fc.pre(groups.size === 2);
        const rate = (g: string): number => {
          const inG = r.filter((x) => x[3] === g);
          return inG.filter((x) => x[1] === 1).length / inG.length;
        };
        const [g1, g2] = [...groups] as [string, string];
        expect(demographicParityDifference(input(r))).toBeCloseTo(Math.abs(rate(g1) - rate(g2)), 12);
      }),
      { numRuns: 100 },
    );
  });

  it('does not depend on the order of the rows', () => {
    fc.assert(
      fc.property(rows.chain((r) => fc.tuple(fc.constant(r), fc.shuffledSubarray(r, { minLength: r.length, maxLength: r.length }))), ([r, shuffled]) => {
        const a = groupMetrics(input(r));
        const b = groupMetrics(input(shuffled));
        expect(summary(input(shuffled))).toEqual(summary(input(r)));
        for (const m of METRIC_NAMES) {
          if (m === 'auc') continue; // ties between equal scores may be ordered either way: checked below to 1e-12
          for (const g of a.groups) expect(b.byGroup[g]?.[m]).toEqual(a.byGroup[g]?.[m]);
        }
        for (const g of a.groups) {
          const x = a.byGroup[g]?.auc as number;
          const y = b.byGroup[g]?.auc as number;
          if (Number.isNaN(x)) expect(y).toBeNaN();
          else expect(y).toBeCloseTo(x, 12);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('does not change when the groups are renamed (gaps are about rates, not names)', () => {
    const names = fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(rows, names, (r, [x, y, z]) => {
        const map: Record<string, string> = { a: x as string, b: y as string, c: z as string };
        expect(summary(input(r, (g) => map[g] as string))).toEqual(summary(input(r)));
      }),
      { numRuns: 100 },
    );
  });

  it('gives zero gaps and ratios of one when every group has the same rows', () => {
    fc.assert(
      fc.property(rows, (r) => {
        const copy = (g: string) => r.map((x) => [x[0], x[1], x[2], g] as const);
        const s = summary(input([...copy('a'), ...copy('b')]));
        for (const k of Object.keys(DIFFERENCES)) if (!Number.isNaN(s[k])) expect(s[k], k).toBe(0);
        for (const k of Object.keys(RATIOS)) if (!Number.isNaN(s[k])) expect(s[k], k).toBe(1);
      }),
      { numRuns: 100 },
    );
  });
});
