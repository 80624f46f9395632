import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  demographicParityDifference,
  demographicParityRatio,
  equalizedOddsDifference,
  equalizedOddsRatio,
  groupMetrics,
  type GroupMetricsInput,
  type MetricName,
  type MetricValues,
} from '../../../src/fairness/metrics/index.ts';
import { FAIRLEARN_GOLDEN } from '../../support/data.ts';

// Values computed by fairlearn 0.9.0 + scikit-learn 1.2.1 (see test/fixtures/README.md).
const fixtureFile = FAIRLEARN_GOLDEN;

type FairlearnMetric = 'accuracy' | 'selection_rate' | 'tpr' | 'fpr' | 'fnr' | 'tnr' | 'balanced_accuracy';
type PerMetric = Record<FairlearnMetric, number>;
interface GoldenCase {
  name: string;
  y_true: number[];
  y_pred: number[];
  sensitive: (string | number)[];
  y_score?: number[];
  sample_weight?: number[];
  overall: PerMetric;
  by_group: Record<string, PerMetric>;
  group_min: PerMetric;
  group_max: PerMetric;
  difference_between_groups: PerMetric;
  difference_to_overall: PerMetric;
  ratio_between_groups: PerMetric;
  ratio_to_overall: PerMetric;
  demographic_parity_difference: number;
  demographic_parity_ratio: number;
  equalized_odds_difference: number;
  equalized_odds_ratio: number;
  auc_overall?: number;
  auc_by_group?: Record<string, number>;
}

const golden = JSON.parse(readFileSync(fixtureFile, 'utf8')) as { cases: GoldenCase[] };
const NAMES: Record<FairlearnMetric, MetricName> = {
  accuracy: 'accuracy',
  selection_rate: 'selectionRate',
  tpr: 'tpr',
  fpr: 'fpr',
  fnr: 'fnr',
  tnr: 'tnr',
  balanced_accuracy: 'balancedAccuracy',
};
const TOL = 1e-12;

function expectSame(ours: MetricValues, theirs: PerMetric, where: string): void {
  for (const [fl, name] of Object.entries(NAMES) as [FairlearnMetric, MetricName][]) {
    const got = ours[name];
    const want = theirs[fl];
    if (!(Math.abs(got - want) <= TOL)) throw new Error(`${where}.${fl}: got ${got}, fairlearn ${want}`);
  }
}

function inputOf(c: GoldenCase): GroupMetricsInput {
  return {
    yTrue: c.y_true,
    yPred: c.y_pred,
    yScore: c.y_score,
    sampleWeight: c.sample_weight,
    sensitiveFeatures: [{ name: 'sensitive', values: c.sensitive }],
  };
}

describe('the metrics engine reproduces fairlearn 0.9.0 to 1e-12', () => {
  it('has the six fixture cases to check', () => {
    expect(golden.cases.map((c) => c.name)).toEqual([
      'tiny-two-groups',
      'random-2-groups-n200',
      'random-3-groups-n500',
      'random-5-groups-n1000',
      'weighted-two-groups',
      'group-without-positives',
    ]);
  });

  for (const c of golden.cases) {
    describe(c.name, () => {
      const m = groupMetrics(inputOf(c));

      it('finds the same groups in the same order', () => {
        expect(m.groups).toEqual(Object.keys(c.by_group));
      });

      it('gives the same overall and by-group values', () => {
        expectSame(m.overall, c.overall, 'overall');
        for (const g of m.groups) expectSame(m.byGroup[g] as MetricValues, c.by_group[g] as PerMetric, `by_group.${g}`);
      });

      it('gives the same group min, max, differences and ratios (between groups and to overall)', () => {
        expectSame(m.groupMin(), c.group_min, 'group_min');
        expectSame(m.groupMax(), c.group_max, 'group_max');
        expectSame(m.difference('between_groups'), c.difference_between_groups, 'difference_between_groups');
        expectSame(m.difference('to_overall'), c.difference_to_overall, 'difference_to_overall');
        expectSame(m.ratio('between_groups'), c.ratio_between_groups, 'ratio_between_groups');
        expectSame(m.ratio('to_overall'), c.ratio_to_overall, 'ratio_to_overall');
      });

      it('gives the same demographic parity and equalized odds, from raw input and from the frame', () => {
        for (const source of [inputOf(c), m]) {
          expect(demographicParityDifference(source)).toBeCloseTo(c.demographic_parity_difference, 12);
          expect(demographicParityRatio(source)).toBeCloseTo(c.demographic_parity_ratio, 12);
          expect(equalizedOddsDifference(source)).toBeCloseTo(c.equalized_odds_difference, 12);
          expect(equalizedOddsRatio(source)).toBeCloseTo(c.equalized_odds_ratio, 12);
        }
      });

      if (c.auc_overall !== undefined && c.auc_by_group !== undefined) {
        const aucByGroup = c.auc_by_group;
        it('gives the same ROC AUC overall and by group (scores with ties)', () => {
          expect(Math.abs(m.overall.auc - (c.auc_overall as number))).toBeLessThanOrEqual(TOL);
          for (const g of m.groups) expect(Math.abs((m.byGroup[g] as MetricValues).auc - (aucByGroup[g] as number))).toBeLessThanOrEqual(TOL);
        });
      }
    });
  }
});
