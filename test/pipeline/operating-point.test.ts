import { describe, expect, it } from 'vitest';
import { FAIRLEARN_ADULT_REFERENCE, operatingPoint } from '../../src/pipeline/reproduce/operating-point.ts';
import { experimentTable, gapTransferFigure, resultsReadme, type RunInfo } from '../../src/pipeline/reproduce/tables.ts';
import { metricsOf, run, split } from '../report/tiny-metrics.ts';

/** Two seeds. Validation (accuracy, EO gap): B1 (0.86, 0.10) so the bound is 0.05; test numbers differ on purpose. */
const runs = [0, 1].flatMap((seed) => [
  run('shipped', 'none', 0, 0, 0.99, 0.0),
  run('b1', 'none', 0, seed, 0.85, 0.09, { splits: { validation: split(0.86, 0.1) } }),
  // meets the bound and is the most accurate on validation in seed 0; in seed 1 its gap is over the bound
  run('m2w', 'eo', 5, seed, 0.84, 0.03, { splits: { validation: split(0.85, seed === 0 ? 0.04 : 0.06) } }),
  run('m1', 'eo', 5, seed, 0.83, 0.02, { splits: { validation: split(0.84, 0.01) } }),
  // most accurate on test, never chosen: its validation gap is far over the bound
  run('m2', 'dp', 2, seed, 0.95, 0.2, { splits: { validation: split(0.9, 0.3) } }),
  // not a head: never a candidate, even with the best validation numbers
  run('threshold', 'eo', 0, seed, 0.84, 0.0, { splits: { validation: split(0.99, 0.0) } }),
  run('full', 'eo', 5, seed, 0.84, 0.0, { splits: { validation: split(0.99, 0.0) } }),
]);

describe('operatingPoint', () => {
  it("takes, per seed, the most accurate head on validation whose validation EO gap is at most half of B1's", () => {
    const point = operatingPoint(runs);
    expect(point?.perSeed.map((p) => [p.seed, p.run.method, p.bound, p.boundMet])).toEqual([
      [0, 'm2w', 0.05, true],
      [1, 'm1', 0.05, true],
    ]);
    // test numbers of the chosen heads, averaged: (0.84 + 0.83) / 2 and (0.03 + 0.02) / 2
    expect(point?.testAccuracy.mean).toBeCloseTo(0.835, 12);
    expect(point?.testEo.mean).toBeCloseTo(0.025, 12);
  });

  it('takes the head with the smallest validation gap when none meets the bound, and gives nothing without B1', () => {
    const strict = runs.map((r) => (r.method === 'b1' ? { ...r, splits: { ...r.splits, validation: split(0.86, 0.015) } } : r));
    expect(operatingPoint(strict)?.perSeed.map((p) => [p.run.method, p.boundMet])).toEqual([['m1', false], ['m1', false]]);
    expect(operatingPoint(runs.filter((r) => r.method !== 'b1'))).toBeUndefined();
  });
});

const info: RunInfo = {
  experiment: 'adult', task: 'UCI Adult', command: 'fairhead reproduce --experiment adult', machine: 'test', seconds: 1, cpuSeconds: 1,
  loadAverage: 0, seeds: 2, splits: 'Splits: test.', notes: [],
  curve: [{ epoch: 1, trainAccuracy: 0.8, trainLoss: 0.4, validationAccuracy: 0.79, validationLoss: 0.41, seconds: 2 }],
};

describe('the tables of an experiment', () => {
  it('state the rule and its choice, and print fairlearn\'s Adult figures beside it with their source', () => {
    const table = experimentTable(metricsOf(runs), info);
    expect(table).toContain("## Operating point (a rule fixed before reading test data)");
    expect(table).toContain("whose validation EO gap is at most half of B1's");
    expect(table).toContain('| 0 | M2w + EO, alpha 5 | 0.050 | yes | 0.850 | 0.040 | 0.840 | 0.030 |');
    expect(table).toContain('| fairlearn: ExponentiatedGradient, EO constraint | 0.841 | 0.023 | 4.95 s |');
    expect(table).toContain(FAIRLEARN_ADULT_REFERENCE.source);
    expect(table).toContain('| 1 | 0.8000 | 0.4000 | 0.7900 | 0.4100 | 2 |');
    // not Adult: no fairlearn figures
    expect(experimentTable(metricsOf(runs), { ...info, experiment: 'utkface-gender-race' })).not.toContain('fairlearn:');
    const readme = resultsReadme([{ info, metrics: metricsOf(runs) }]);
    expect(readme).toContain('## Operating point of every experiment');
    expect(readme).toContain('| adult | M2w + EO, alpha 5; M1 + EO, alpha 5 | 0.835 ± 0.007 | 0.025 ± 0.007 | 0.850 ± 0.000 | 0.090 ± 0.000 |');
  });

  it('draw the gap-transfer figure: one point per EO setting and panel, above the diagonal when the test gap is larger', () => {
    const svg = gapTransferFigure(metricsOf(runs), info);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    // EO settings: shipped, b1, m2w eo 5, m1 eo 5, threshold, full (not m2 + dp) -> 6 settings x 2 panels
    expect(svg.match(/<circle class="point"/g)?.length).toBe(12);
    expect(svg.match(/class="diagonal"/g)?.length).toBe(2);
    expect(svg).toContain('data-series="M2w"');
    expect(svg).not.toContain('M2 + DP');
  });
});
