import { describe, expect, it } from 'vitest';
import { InputError, ShapeError } from '../../../src/errors.ts';
import {
  accuracyEqualityDifference,
  accuracyEqualityRatio,
  equalizedOddsDifference,
  equalizedOddsRatio,
  equalOpportunityDifference,
  equalOpportunityRatio,
  groupMetrics,
  worstCellAccuracy,
  worstGroupAccuracy,
  type MetricValues,
} from '../../../src/fairness/metrics/index.ts';

const by = (m: ReturnType<typeof groupMetrics>, g: string): MetricValues => m.byGroup[g] as MetricValues;

// Group a: y 0 1 1 0, ŷ 0 1 0 0 → TP 1, FN 1, TN 2, FP 0.  Group b: y 1 0 1 1, ŷ 1 1 1 1 → TP 3, FP 1.
const tiny = {
  yTrue: [0, 1, 1, 0, 1, 0, 1, 1],
  yPred: [0, 1, 0, 0, 1, 1, 1, 1],
  sensitiveFeatures: [{ name: 'g', values: ['a', 'a', 'a', 'a', 'b', 'b', 'b', 'b'] }],
};

describe('groupMetrics on hand-checkable data', () => {
  it('counts the confusion cells of each group', () => {
    const m = groupMetrics(tiny);
    // positives: rows whose true label is 1 (tp + fn without weights)
    expect(m.counts.a).toEqual({ rows: 4, positives: 2, tp: 1, fp: 0, tn: 2, fn: 1 });
    expect(m.counts.b).toEqual({ rows: 4, positives: 3, tp: 3, fp: 1, tn: 0, fn: 0 });
    expect(m.overallCounts).toEqual({ rows: 8, positives: 5, tp: 4, fp: 1, tn: 2, fn: 1 });
  });

  it('computes error rate as (FP + FN) / n', () => {
    const m = groupMetrics(tiny);
    expect(by(m, 'a').errorRate).toBe(1 / 4);
    expect(by(m, 'b').errorRate).toBe(1 / 4);
    expect(m.overall.errorRate).toBe(2 / 8);
  });

  it('gives the named views as a few lines over the engine', () => {
    // tpr a 1/2, b 3/3; fpr a 0/2, b 1/1.
    expect(equalOpportunityDifference(tiny)).toBe(1 - 0.5);
    expect(equalOpportunityRatio(tiny)).toBe(0.5 / 1);
    expect(equalizedOddsDifference(tiny)).toBe(Math.max(0.5, 1));
    expect(equalizedOddsDifference(tiny, { agg: 'mean' })).toBe((0.5 + 1) / 2);
    expect(equalizedOddsRatio(tiny)).toBe(Math.min(0.5, 0));
    expect(equalizedOddsRatio(tiny, { agg: 'mean' })).toBe((0.5 + 0) / 2);
    // both groups err on 1 of 4 rows
    expect(accuracyEqualityDifference(tiny)).toBe(0);
    expect(accuracyEqualityRatio(tiny)).toBe(1);
    expect(worstGroupAccuracy(tiny)).toBe(3 / 4);
    // cells: (a, y=1) 1/2, (a, y=0) 2/2, (b, y=1) 3/3, (b, y=0) 0/1
    expect(worstCellAccuracy(tiny)).toBe(0);
  });

  it('measures the gap in error rates for accuracy equality', () => {
    // a: 1 error in 4; b: 2 errors in 4
    const input = { yTrue: [1, 1, 0, 0, 1, 1, 0, 0], yPred: [1, 0, 0, 0, 0, 0, 0, 0], sensitiveFeatures: [{ name: 'g', values: [0, 0, 0, 0, 1, 1, 1, 1] }] };
    expect(accuracyEqualityDifference(input)).toBe(0.5 - 0.25);
    expect(accuracyEqualityRatio(input)).toBe(0.25 / 0.5);
  });

  it('handles more than two groups and sorts numbers numerically', () => {
    const m = groupMetrics({
      yTrue: [1, 1, 1, 1, 1, 1],
      yPred: [1, 0, 1, 1, 0, 0],
      sensitiveFeatures: [{ name: 'n', values: [10, 9, 10, 2, 2, 9] }],
    });
    expect(m.groups).toEqual(['2', '9', '10']);
    expect(m.column('tpr')).toEqual([1 / 2, 0 / 2, 2 / 2]);
    expect(m.difference().tpr).toBe(1);
    expect(m.ratio('to_overall').tpr).toBe(0); // group 9: 0 / (3/6)
  });

  it('crosses several sensitive features into the intersectional groups that occur', () => {
    const m = groupMetrics({
      yTrue: [1, 0, 1, 0, 1, 0],
      yPred: [1, 0, 0, 0, 1, 1],
      sensitiveFeatures: [
        { name: 'sex', values: ['M', 'F', 'F', 'M', 'F', 'F'] },
        { name: 'race', values: ['W', 'B', 'W', 'W', 'W', 'B'] },
      ],
    });
    expect(m.features).toEqual(['sex', 'race']);
    expect(m.groups).toEqual(['F & B', 'F & W', 'M & W']); // no M & B row: that cell is not a group
    expect(m.groupValues['F & W']).toEqual(['F', 'W']);
    expect(m.counts['F & B']?.rows).toBe(2);
    expect(by(m, 'F & W').tpr).toBe(1 / 2);
    expect(by(m, 'F & B').selectionRate).toBe(1 / 2);
  });

  it('weights rows by sampleWeight in every count', () => {
    const m = groupMetrics({ yTrue: [1, 1, 0], yPred: [1, 0, 1], sampleWeight: [3, 1, 2], sensitiveFeatures: [{ name: 'g', values: ['a', 'a', 'a'] }] });
    expect(m.overall.accuracy).toBe(3 / 6);
    expect(m.overall.tpr).toBe(3 / 4);
    expect(m.overall.selectionRate).toBe(5 / 6);
    expect(m.counts.a?.rows).toBe(3);
  });
});

describe('groupMetrics edge cases', () => {
  it('gives tpr = fnr = 0 (not NaN) and balanced accuracy = tnr for a group without positives, as scikit-learn', () => {
    const m = groupMetrics({ yTrue: [0, 0, 0, 1, 0], yPred: [1, 0, 0, 1, 0], sensitiveFeatures: [{ name: 'g', values: ['p', 'p', 'p', 'q', 'q'] }] });
    expect(by(m, 'p').tpr).toBe(0);
    expect(by(m, 'p').fnr).toBe(0);
    expect(by(m, 'p').tnr).toBe(2 / 3);
    expect(by(m, 'p').balancedAccuracy).toBe(2 / 3);
  });

  it('gives fpr = tnr = 0 and balanced accuracy = tpr for a group without negatives', () => {
    const m = groupMetrics({ yTrue: [1, 1, 0, 1], yPred: [1, 0, 0, 1], sensitiveFeatures: [{ name: 'g', values: ['p', 'p', 'q', 'q'] }] });
    expect(by(m, 'p').fpr).toBe(0);
    expect(by(m, 'p').tnr).toBe(0);
    expect(by(m, 'p').balancedAccuracy).toBe(1 / 2);
  });

  it('gives ratio 1 for 0/0 (fairlearn: NaN) and 0 for x/0', () => {
    // nobody is selected: selection rates 0 and 0
    const none = groupMetrics({ yTrue: [1, 0, 1, 0], yPred: [0, 0, 0, 0], sensitiveFeatures: [{ name: 'g', values: ['a', 'a', 'b', 'b'] }] });
    expect(none.ratio().selectionRate).toBe(1);
    expect(none.ratio('to_overall').selectionRate).toBe(1);
    expect(none.difference().selectionRate).toBe(0);
    // fpr: a 1/1, b 0/1 → min/max = 0/1 = 0
    const some = groupMetrics({ yTrue: [1, 0, 1, 0], yPred: [0, 1, 0, 0], sensitiveFeatures: [{ name: 'g', values: ['a', 'a', 'b', 'b'] }] });
    expect(some.ratio().fpr).toBe(0);
  });

  it('gives difference 0 and ratio 1 for a single group', () => {
    const m = groupMetrics({ yTrue: [1, 0, 1], yPred: [1, 1, 0], sensitiveFeatures: [{ name: 'g', values: ['x', 'x', 'x'] }] });
    expect(m.groups).toEqual(['x']);
    expect(m.difference().accuracy).toBe(0);
    expect(m.ratio().tpr).toBe(1);
    expect(m.difference('to_overall').tpr).toBe(0);
  });

  it('gives AUC NaN without scores and for a group with one class, and skips it in min and max', () => {
    const noScore = groupMetrics(tiny);
    expect(noScore.overall.auc).toBeNaN();
    expect(noScore.difference().auc).toBeNaN();
    // group p only has negatives; q: positive 0.9 > negative 0.2 → 1
    const m = groupMetrics({
      yTrue: [0, 0, 1, 0],
      yPred: [0, 0, 1, 0],
      yScore: [0.1, 0.3, 0.9, 0.2],
      sensitiveFeatures: [{ name: 'g', values: ['p', 'p', 'q', 'q'] }],
    });
    expect(by(m, 'p').auc).toBeNaN();
    expect(by(m, 'q').auc).toBe(1);
    expect(m.groupMin().auc).toBe(1);
    expect(m.overall.auc).toBe(1);
  });

  it('counts a tied positive-negative score pair as one half in AUC', () => {
    // pairs (pos, neg): (0.5, 0.5) tie → ½, (0.5, 0.1) → 1, (0.8, 0.5) → 1, (0.8, 0.1) → 1 → 3.5 / 4
    const m = groupMetrics({ yTrue: [1, 0, 1, 0], yPred: [1, 1, 1, 0], yScore: [0.5, 0.5, 0.8, 0.1], sensitiveFeatures: [{ name: 'g', values: [1, 1, 1, 1] }] });
    expect(m.overall.auc).toBe(3.5 / 4);
  });

  it('matches a brute-force count of ordered pairs on logits with negatives, -0 and ties, with weights', () => {
    const n = 300;
    const yTrue: number[] = [];
    const yScore: number[] = [];
    const w: number[] = [];
    const g: string[] = [];
    for (let i = 0; i < n; i++) {
      yTrue.push((i * 7) % 3 === 0 ? 1 : 0);
      yScore.push(i % 50 === 0 ? -0 : (((i * 37) % 41) - 20) / 4 + yTrue[i]!); // many ties, both signs
      w.push(1 + (i % 4));
      g.push(i % 2 === 0 ? 'even' : 'odd');
    }
    const brute = (keep: (i: number) => boolean) => {
      let num = 0;
      let den = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          if (!keep(i) || !keep(j) || yTrue[i] !== 1 || yTrue[j] !== 0) continue;
          const pair = w[i]! * w[j]!;
          den += pair;
          num += yScore[i]! > yScore[j]! ? pair : yScore[i] === yScore[j] ? pair / 2 : 0;
        }
      }
      return num / den;
    };
    const m = groupMetrics({ yTrue, yPred: yTrue, yScore, sampleWeight: w, sensitiveFeatures: [{ name: 'g', values: g }] });
    expect(m.overall.auc).toBeCloseTo(brute(() => true), 12);
    expect(by(m, 'even').auc).toBeCloseTo(brute((i) => i % 2 === 0), 12);
    expect(by(m, 'odd').auc).toBeCloseTo(brute((i) => i % 2 === 1), 12);
  });

  it('refuses empty input, mismatched lengths, non-binary labels and bad weights with messages that say why', () => {
    const f = [{ name: 'g', values: [] as string[] }];
    expect(() => groupMetrics({ yTrue: [], yPred: [], sensitiveFeatures: f })).toThrow(InputError);
    expect(() => groupMetrics({ yTrue: [], yPred: [], sensitiveFeatures: f })).toThrow('empty input (0 rows)');
    expect(() => groupMetrics({ yTrue: [1, 0], yPred: [1], sensitiveFeatures: [{ name: 'g', values: ['a', 'b'] }] })).toThrow(ShapeError);
    expect(() => groupMetrics({ yTrue: [1, 0], yPred: [1, 0], sensitiveFeatures: [{ name: 'sex', values: ['a'] }] })).toThrow(
      'sensitive feature "sex" has 1 values, yTrue has 2',
    );
    expect(() => groupMetrics({ yTrue: [1, 2], yPred: [1, 0], sensitiveFeatures: [{ name: 'g', values: ['a', 'b'] }] })).toThrow(
      'yTrue[1] is 2, expected 0 or 1 (positive = 1)',
    );
    expect(() => groupMetrics({ yTrue: [1, 0], yPred: [1, 0], sampleWeight: [1, -1], sensitiveFeatures: [{ name: 'g', values: ['a', 'b'] }] })).toThrow(
      'sampleWeight[1] is -1, expected a finite number >= 0',
    );
    expect(() => groupMetrics({ yTrue: [1, 0], yPred: [1, 0], sensitiveFeatures: [] })).toThrow('no sensitive feature given');
  });

  it('accepts typed arrays for labels, scores and group codes', () => {
    const m = groupMetrics({
      yTrue: Int32Array.of(1, 0, 1, 0),
      yPred: Uint8Array.of(1, 0, 0, 0),
      yScore: Float32Array.of(0.9, 0.1, 0.4, 0.6),
      sensitiveFeatures: [{ name: 'g', values: Int32Array.of(0, 0, 1, 1) }],
    });
    expect(m.groups).toEqual(['0', '1']);
    expect(by(m, '1').auc).toBe(0); // positive 0.4 < negative 0.6
  });
});
