import { describe, expect, it } from 'vitest';
import { InputError } from '../../../src/errors.ts';
import { encodeInput } from '../../../src/fairness/metrics/_internal/encode.ts';
import { computeEncoded } from '../../../src/fairness/metrics/group-metrics.ts';
import {
  bootstrapInterval,
  bootstrapIntervals,
  demographicParityDifference,
  groupMetrics,
  quantile,
} from '../../../src/fairness/metrics/index.ts';

// 200 rows, two groups: a selects 30 of 100, b selects 60 of 100 (DP difference 0.3).
function twoGroups() {
  const yTrue: number[] = [];
  const yPred: number[] = [];
  const yScore: number[] = [];
  const g: string[] = [];
  for (let i = 0; i < 200; i++) {
    const inB = i >= 100;
    const k = i % 100;
    g.push(inB ? 'b' : 'a');
    yPred.push(k < (inB ? 60 : 30) ? 1 : 0);
    yTrue.push(k % 3 === 0 || k < 20 ? 1 : 0);
    yScore.push(((k * 37) % 100) / 100);
  }
  return { yTrue, yPred, yScore, sensitiveFeatures: [{ name: 'g', values: g }] };
}

describe('quantile', () => {
  it('interpolates linearly as numpy does', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1 + 0.75 * (2 - 1));
    expect(quantile([7], 0.975)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe('bootstrapInterval', () => {
  it('counts resampled rows through multiplicities exactly as copying the rows would', () => {
    const input = twoGroups();
    const mult = new Uint32Array(200);
    const rows: number[] = [];
    for (let i = 0; i < 200; i++) {
      mult[i] = (i * 7) % 3; // rows drawn 0, 1 or 2 times
      for (let k = 0; k < (mult[i] as number); k++) rows.push(i);
    }
    const viaMult = computeEncoded(encodeInput(input), mult);
    const copied = groupMetrics({
      yTrue: rows.map((i) => input.yTrue[i] as number),
      yPred: rows.map((i) => input.yPred[i] as number),
      yScore: rows.map((i) => input.yScore[i] as number),
      sensitiveFeatures: [{ name: 'g', values: rows.map((i) => input.sensitiveFeatures[0]?.values[i] as string) }],
    });
    expect(viaMult.groups).toEqual(copied.groups);
    expect(viaMult.overall).toEqual(copied.overall);
    expect(viaMult.byGroup).toEqual(copied.byGroup);
  });

  it('drops a group that no row of a resample falls into', () => {
    const input = { yTrue: [1, 0, 1], yPred: [1, 0, 0], sensitiveFeatures: [{ name: 'g', values: ['a', 'a', 'b'] }] };
    const m = computeEncoded(encodeInput(input), [1, 2, 0]);
    expect(m.groups).toEqual(['a']);
    expect(m.overall.accuracy).toBe(1);
  });

  it('gives the same interval for the same seed and another for another seed', () => {
    const input = twoGroups();
    const dp = (m: ReturnType<typeof groupMetrics>) => demographicParityDifference(m);
    const first = bootstrapInterval(input, dp, { samples: 200, seed: 7 });
    const again = bootstrapInterval(input, dp, { samples: 200, seed: 7 });
    const other = bootstrapInterval(input, dp, { samples: 200, seed: 8 });
    expect(again).toEqual(first);
    expect(other.low).not.toBe(first.low);
  });

  it('brackets the estimate with a plausible width (DP difference 0.3 on 2 × 100 rows)', () => {
    const r = bootstrapInterval(twoGroups(), (m) => demographicParityDifference(m), { samples: 400, seed: 1 });
    expect(r.estimate).toBeCloseTo(0.6 - 0.3, 12);
    expect(r.level).toBe(0.95);
    expect(r.samples).toBe(400);
    expect(r.low).toBeLessThan(r.estimate);
    expect(r.high).toBeGreaterThan(r.estimate);
    // binomial sd of the gap ≈ sqrt(0.3·0.7/100 + 0.6·0.4/100) ≈ 0.067 → 95% half-width ≈ 0.13
    expect(r.high - r.low).toBeGreaterThan(0.15);
    expect(r.high - r.low).toBeLessThan(0.4);
  });

  it('gives a zero-width interval for a statistic that cannot vary', () => {
    const input = { yTrue: [1, 0, 1, 0], yPred: [1, 0, 1, 0], sensitiveFeatures: [{ name: 'g', values: ['a', 'a', 'b', 'b'] }] };
    expect(bootstrapInterval(input, (m) => m.overall.accuracy, { samples: 50 })).toMatchObject({ estimate: 1, low: 1, high: 1 });
  });

  it('shares the resamples across several statistics', () => {
    const input = twoGroups();
    const both = bootstrapIntervals(input, { dp: (m) => demographicParityDifference(m), acc: (m) => m.overall.accuracy }, { samples: 100, seed: 3 });
    const alone = bootstrapInterval(input, (m) => m.overall.accuracy, { samples: 100, seed: 3 });
    expect(both.acc).toEqual(alone);
    expect(both.dp.estimate).toBeCloseTo(0.3, 12);
  });

  it('refuses a bad number of samples or level', () => {
    const input = twoGroups();
    expect(() => bootstrapInterval(input, (m) => m.overall.accuracy, { samples: 0 })).toThrow(InputError);
    expect(() => bootstrapInterval(input, (m) => m.overall.accuracy, { level: 95 })).toThrow('expected a number between 0 and 1');
  });
});
