import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { aggregateRuns, meanStd } from '../../src/report/aggregate-runs.ts';
import { buildReport, configLabel, type BarChart, type ReportTable, type ScatterChart } from '../../src/report/build-report.ts';
import { InputError } from '../../src/errors.ts';
import type { MetricsFile } from '../../src/report/schema.ts';
import { group, metricsOf, run, split } from './tiny-metrics.ts';

const sample = JSON.parse(readFileSync(new URL('../fixtures/metrics-sample.json', import.meta.url), 'utf8')) as MetricsFile;

/** Four runs on the fine-tuning set: (gap, accuracy) = b1 (0.20, 0.86), m2 α=1 (0.05, 0.85), m2 α=10 (0.01, 0.80), m1 (0.10, 0.82). */
const fourRuns = metricsOf([
  run('b1', 'none', 0, 0, 0.86, 0.2),
  run('m2', 'eo', 1, 0, 0.85, 0.05),
  run('m2', 'eo', 10, 0, 0.8, 0.01),
  run('m1', 'eo', 1, 0, 0.82, 0.1),
]);

function block<T>(report: ReturnType<typeof buildReport>, id: string): T {
  for (const section of report.sections) for (const b of section.blocks) if (b.id === id) return b as T;
  throw new Error(`no block ${id}`);
}

describe('meanStd and aggregateRuns', () => {
  it('gives the mean and the n-1 standard deviation, and no std for one value', () => {
    const { mean, std, n } = meanStd([0.8, 0.82, 0.84]);
    expect(mean).toBeCloseTo(0.82, 12);
    expect(std).toBeCloseTo(Math.sqrt((0.02 ** 2 + 0 + 0.02 ** 2) / 2), 12); // = 0.02
    expect(n).toBe(3);
    expect(meanStd([0.5])).toEqual({ mean: 0.5, std: null, n: 1 });
    expect(meanStd([Number.NaN])).toEqual({ mean: Number.NaN, std: null, n: 0 });
  });

  it('groups runs that differ only by seed and orders methods shipped, b1..m2, threshold, full', () => {
    const runs = [run('full', 'eo', 1, 0, 0.8, 0.1), run('m2', 'eo', 1, 1, 0.86, 0.1), run('b1', 'none', 0, 0, 0.8, 0.2), run('m2', 'eo', 1, 0, 0.84, 0.1)];
    const aggregates = aggregateRuns(runs);
    expect(aggregates.map((a) => [a.method, a.seeds, a.runs])).toEqual([
      ['b1', [0], [2]],
      ['m2', [0, 1], [3, 1]],
      ['full', [0], [0]],
    ]);
    expect(aggregates[1]?.test.accuracy.mean).toBeCloseTo(0.85, 12);
    expect(aggregates[1]?.test.accuracy.std).toBeCloseTo(Math.SQRT2 * 0.01, 12);
  });
});

describe('buildReport', () => {
  it('picks the Pareto-front run nearest the ideal corner as the operating point, and B1 as the baseline', () => {
    // front: (0.01, 0.80), (0.05, 0.85), (0.20, 0.86); scaled by the ranges 0.19 and 0.06, distances to the ideal
    // corner are 1, hypot(0.04/0.19, 0.01/0.06) = 0.27, and 1: the m2 α=1 run (index 1) wins.
    const report = buildReport(fourRuns);
    expect(report.selected.run).toBe(1);
    expect(report.selected.label).toBe('M2 · eo · α=1 · seed 0');
    expect(report.baseline).toEqual({ run: 0, label: 'B1 · seed 0' });
    expect(report.selectionSplit).toBe('finetune');
    const chart = block<ScatterChart>(report, 'pareto');
    expect(chart.points).toHaveLength(4);
    expect(chart.points.map((p) => p.onFront)).toEqual([true, true, true, false]);
    expect(chart.front.map((i) => chart.points[i]?.run)).toEqual([2, 1, 0]);
    expect(chart.selected).toBe(1);
    expect(chart.baseline).toBe(0);
  });

  it('uses the run the caller selects, and refuses an index that is not a run', () => {
    expect(buildReport(fourRuns, { selected: 2 }).selected).toMatchObject({ run: 2, reason: 'chosen by the user' });
    expect(() => buildReport(fourRuns, { selected: 4 })).toThrow(new InputError('selected: expected a run index from 0 to 3, received 4'));
    expect(() => buildReport(fourRuns, { selected: 1.5 })).toThrow(InputError);
  });

  it('uses the run metrics.json `selection` names, giving its rule as the reason', () => {
    const withRule = { ...fourRuns, selection: { run: 3, metric: 'equalizedOddsDifference', bound: 0.12, split: 'finetune', boundMet: true } as const };
    expect(buildReport(withRule).selected).toEqual({
      run: 3,
      label: 'M1 · eo · α=1 · seed 0',
      reason: 'the most accurate run whose equalized-odds difference on the fine-tuning data is at most 0.12 (--select equalizedOddsDifference<=0.12)',
    });
    // the same run chosen by index keeps the rule; another index is the user's choice
    expect(buildReport(withRule, { selected: 3 }).selected.reason).toMatch(/^the most accurate run/);
    expect(buildReport(withRule, { selected: 0 }).selected.reason).toBe('chosen by the user');
    const none = { ...fourRuns, selection: { run: 2, metric: 'demographicParityDifference', bound: 0.001, split: 'validation', boundMet: false } as const };
    expect(buildReport(none).selected.reason).toBe(
      'the run with the smallest demographic-parity difference on the validation data, as none was at most 0.001 (--select demographicParityDifference<=0.001)',
    );
  });

  it('refuses a fairness metric that is not a gap, listing the valid ones', () => {
    expect(() => buildReport(fourRuns, { fairnessMetric: 'accuracy' })).toThrow(
      'Unknown fairness metric "accuracy" for the report. Valid: equalizedOddsDifference, demographicParityDifference, equalOpportunityDifference, accuracyEqualityDifference',
    );
    const dp = buildReport(fourRuns, { fairnessMetric: 'demographicParityDifference' });
    expect(dp.fairnessLabel).toBe('Demographic-parity difference');
    expect(block<ScatterChart>(dp, 'pareto').xLabel).toBe('Demographic-parity difference (lower is fairer)');
  });

  it('refuses a metrics file without runs', () => {
    expect(() => buildReport(metricsOf([]))).toThrow(InputError);
  });

  it('chooses on the validation split when every run has one (never on test data)', () => {
    // On validation the m2 α=10 run is both the fairest and the most accurate: the only front point.
    const runs = fourRuns.runs.map((r, i) => ({ ...r, splits: { ...r.splits, validation: i === 2 ? split(0.9, 0.0) : split(0.7, 0.3) } }));
    const report = buildReport(metricsOf(runs));
    expect(report.selectionSplit).toBe('validation');
    expect(report.selected.run).toBe(2);
    expect(block<ScatterChart>(report, 'pareto').points[2]).toMatchObject({ x: 0, y: 0.9 });
  });

  it('in target mode picks the most accurate run that meets its max gap', () => {
    const report = buildReport(
      metricsOf([
        run('b1', 'none', 0, 0, 0.9, 0.3),
        run('m2', 'eo', 1, 0, 0.85, 0.05, { maxGap: 0.06 }),
        run('m2', 'eo', 0.5, 0, 0.87, 0.07, { maxGap: 0.06 }), // more accurate but misses the target
        run('m2', 'eo', 2, 0, 0.83, 0.02, { maxGap: 0.06 }),
      ]),
    );
    expect(report.selected.run).toBe(1);
    expect(report.selected.label).toBe('M2 · eo · gap≤0.06 · seed 0');
  });

  it('adds whiskers when the selection split carries bootstrap intervals', () => {
    const runs = fourRuns.runs.map((r) => ({
      ...r,
      splits: { ...r.splits, finetune: { ...r.splits.finetune, intervals: { accuracy: [0.8, 0.9], equalizedOddsDifference: [0.0, 0.3] } as const } },
    }));
    const chart = block<ScatterChart>(buildReport(metricsOf(runs)), 'pareto');
    expect(chart.points[0]?.xInterval).toEqual([0, 0.3]);
    expect(chart.points[0]?.yInterval).toEqual([0.8, 0.9]);
    expect(chart.explanation).toContain('95% bootstrap intervals');
  });

  it('compares per-group rates of the baseline and the operating point on test data', () => {
    const report = buildReport(fourRuns);
    const chart = block<BarChart>(report, 'groups');
    expect(chart.series).toEqual(['Before: B1', 'After: M2 · eo · α=1']);
    expect(chart.panels.map((p) => p.title)).toEqual(['True-positive rate', 'False-positive rate', 'Selection rate']);
    // tpr of group A = 0.7 + gap / 2: 0.8 before (gap 0.2), 0.725 after (gap 0.05)
    expect(chart.panels[0]?.values[0]?.[0]).toBeCloseTo(0.8, 12);
    expect(chart.panels[0]?.values[1]?.[0]).toBeCloseTo(0.725, 12);
    const table = block<ReportTable>(report, 'group-rates');
    expect(table.rows[0]?.cells).toEqual(['A', '100', '0.800 → 0.800', '0.800 → 0.725', '0.100 → 0.100', '0.300 → 0.300']);
  });

  it('summarises the sample sweep: mean ± std per configuration, one train-vs-test pair and one cost row per method', () => {
    const report = buildReport(sample);
    const results = block<ReportTable>(report, 'results');
    expect(results.columns.map((c) => c.label)).toEqual([
      'Method', 'Constraint', 'Alpha', 'Seeds', 'Test accuracy', 'Test EO diff', 'Test DP diff', 'Worst-group accuracy', 'Seconds',
    ]);
    expect(results.rows).toHaveLength(aggregateRuns(sample.runs).length);
    expect(results.rows.filter((r) => r.highlight === true)).toHaveLength(1);
    const methods = [...new Set(sample.runs.map((r) => r.method))];
    const trainTest = block<BarChart>(report, 'train-test');
    expect(trainTest.panels[0]?.categories).toHaveLength(methods.length);
    const cost = block<BarChart>(report, 'cost');
    expect(cost.panels[0]?.categories.at(-1)).toBe('Whole network');
    expect(cost.panels[0]?.values[0]?.at(-1)).toBe(sample.runs[0]?.cost.parametersTotal);
    expect(block<ScatterChart>(report, 'pareto').points).toHaveLength(sample.runs.length);
  });

  it('labels configurations without a penalty by the method alone', () => {
    expect(configLabel({ method: 'b1', constraint: 'none', alpha: 0 })).toBe('B1');
    expect(configLabel({ method: 'm2', constraint: 'dp', alpha: 0.3 })).toBe('M2 · dp · α=0.3');
  });
});

describe('buildReport on a split with a small group', () => {
  // group B: 30 test rows, 4 of them positive; intervals on test only
  const test = split(0.8, 0.3, {
    byGroup: { A: group({ count: 170, positives: 80 }), B: group({ count: 30, positives: 4 }) },
    intervals: { equalizedOddsDifference: [0.05, 0.6], demographicParityDifference: [0.02, 0.5], worstGroupAccuracy: [0.5, 0.9], accuracy: [0.75, 0.85] },
  });
  const report = buildReport(metricsOf([run('b1', 'none', 0, 0, 0.85, 0.2, { splits: { test } }), run('m2', 'eo', 1, 0, 0.8, 0.3, { splits: { test } })]), { selected: 1 });

  it('marks the test gaps with their interval in the results table, and names the small parts in its note', () => {
    const table = block<ReportTable>(report, 'results');
    expect(table.rows[1]?.cells.slice(4)).toEqual(['0.800 (0.750–0.850)', '0.300* (0.050–0.600)', '0.300* (0.020–0.500)', '0.650* (0.500–0.900)', '0.50']);
    expect(table.note).toMatch(/\* Fewer than 50 rows behind this number .* Test: positives of group "B": 4 rows, negatives of group "B": 26 rows, group "B": 30 rows\.$/);
  });

  it('marks the key figure, the group table and the all-runs table; the training gap (groups of 100) is not marked', () => {
    expect(report.keyFigures[0]?.value).toBe('0.300 → 0.300*');
    expect(report.keyFigures[0]?.detail).toContain('* Rests on fewer than 50 test rows (positives of group "B": 4 rows, negatives of group "B": 26 rows), so it is mostly noise; 95% bootstrap interval (0.050–0.600).');
    const groups = block<ReportTable>(report, 'group-rates');
    expect(groups.rows.map((r) => r.cells[1])).toEqual(['170', '30*']);
    expect(groups.rows[1]?.cells[3]).toMatch(/\*$/); // TPR on 4 positives
    expect(groups.note).not.toContain('brackets');
    const all = block<ReportTable>(report, 'all-runs');
    expect(all.rows[1]?.cells.slice(5, 7)).toEqual(['0.300* (0.050–0.600)', '0.300']);
  });

  it('marks nothing when every group and cell has 50 rows or more', () => {
    const plain = buildReport(fourRuns);
    const text = JSON.stringify(plain);
    expect(text).not.toContain('*');
    expect(text).not.toContain('Fewer than 50');
  });
});
