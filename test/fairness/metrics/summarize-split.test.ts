import { describe, expect, it } from 'vitest';
import { summarizeSplit } from '../../../src/fairness/metrics/index.ts';
import type { SplitSummary } from '../../../src/report/schema.ts';

describe('summarizeSplit', () => {
  // a: y 0 1, ŷ 0 1 (all right); b: y 1 0, ŷ 0 0 (one wrong)
  const yTrue = [0, 1, 1, 0];
  const yPred = [0, 1, 0, 0];
  const yScore = [0.2, 0.8, 0.4, 0.3];

  it('fills every field of SplitSummary from the engine', () => {
    const s: SplitSummary = summarizeSplit(yTrue, yPred, yScore, ['a', 'a', 'b', 'b']);
    expect(s.rows).toBe(4);
    expect(s.accuracy).toBe(3 / 4);
    expect(s.balancedAccuracy).toBe((1 / 2 + 2 / 2) / 2);
    expect(s.auc).toBe(1); // positives 0.8, 0.4 above negatives 0.2, 0.3
    expect(s.demographicParityDifference).toBe(1 / 2 - 0);
    expect(s.demographicParityRatio).toBe(0);
    expect(s.equalizedOddsDifference).toBe(1); // tpr 1 vs 0
    expect(s.equalizedOddsRatio).toBe(0);
    expect(s.equalOpportunityDifference).toBe(1);
    expect(s.accuracyEqualityDifference).toBe(1 / 2);
    expect(s.worstGroupAccuracy).toBe(1 / 2);
    expect(s.worstCellAccuracy).toBe(0); // (b, y=1): 0 of 1
    expect(s.byGroup).toEqual({
      a: { count: 2, positives: 1, accuracy: 1, selectionRate: 1 / 2, tpr: 1, fpr: 0, fnr: 0, tnr: 1, auc: 1 },
      b: { count: 2, positives: 1, accuracy: 1 / 2, selectionRate: 0, tpr: 0, fpr: 0, fnr: 1, tnr: 1, auc: 1 },
    });
    expect(s.intervals).toBeUndefined();
  });

  it('crosses several sensitive features when given as a list', () => {
    const s = summarizeSplit(yTrue, yPred, undefined, [
      { name: 'sex', values: ['F', 'M', 'F', 'M'] },
      { name: 'race', values: ['x', 'x', 'y', 'y'] },
    ]);
    expect(Object.keys(s.byGroup)).toEqual(['F & x', 'F & y', 'M & x', 'M & y']);
    expect(s.auc).toBeNaN();
  });

  it('adds seeded bootstrap intervals for every headline metric when asked', () => {
    const s = summarizeSplit(yTrue, yPred, yScore, ['a', 'a', 'b', 'b'], { bootstrap: { samples: 50, seed: 0 } });
    expect(Object.keys(s.intervals ?? {}).sort()).toEqual(
      [
        'accuracy',
        'accuracyEqualityDifference',
        'auc',
        'balancedAccuracy',
        'demographicParityDifference',
        'demographicParityRatio',
        'equalOpportunityDifference',
        'equalizedOddsDifference',
        'equalizedOddsRatio',
        'worstCellAccuracy',
        'worstGroupAccuracy',
      ].sort(),
    );
    const [low, high] = s.intervals?.accuracy ?? [NaN, NaN];
    expect(low).toBeLessThanOrEqual(s.accuracy);
    expect(high).toBeGreaterThanOrEqual(s.accuracy);
    expect(high).toBeLessThanOrEqual(1);
  });
});
