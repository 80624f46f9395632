import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { parseSelect, selectRun } from '../../src/pipeline/select-run.ts';
import { run, split } from '../report/tiny-metrics.ts';

/** (validation accuracy, validation gap): b1 (0.86, 0.20), m2 (0.80, 0.04), m1 (0.84, 0.03), m1 dp (0.90, 0.30); test says otherwise. */
const runs = [
  run('shipped', 'none', 0, 0, 0.99, 0.0),
  run('b1', 'none', 0, 0, 0.5, 0.5, { splits: { validation: split(0.86, 0.2) } }),
  run('m2', 'eo', 5, 0, 0.99, 0.0, { splits: { validation: split(0.8, 0.04) } }),
  run('m1', 'eo', 5, 0, 0.5, 0.5, { splits: { validation: split(0.84, 0.03) } }),
  run('m1', 'dp', 5, 0, 0.5, 0.5, { splits: { validation: split(0.9, 0.3) } }),
];

describe('selectRun', () => {
  it('takes the most accurate candidate on validation whose gap meets the bound, never reading test data', () => {
    // m2 and m1 meet 0.05; m1 is the more accurate (0.84 > 0.80); shipped (index 0) is not a candidate
    expect(selectRun(runs, [1, 2, 3, 4], parseSelect('equalizedOddsDifference<=0.05'))).toEqual({
      run: 3, metric: 'equalizedOddsDifference', bound: 0.05, split: 'validation', boundMet: true, front: [3, 1, 4],
    });
  });

  it('takes the candidate with the smallest gap when none meets the bound', () => {
    expect(selectRun(runs, [1, 2, 3, 4], parseSelect('equalizedOddsDifference<=0.01'))).toMatchObject({ run: 3, boundMet: false });
  });

  it('refuses an empty candidate list and a rule that is not METRIC<=BOUND', () => {
    expect(() => selectRun(runs, [], parseSelect('equalizedOddsDifference<=0.05'))).toThrow(InputError);
    expect(() => parseSelect('accuracy>=0.8')).toThrow('--select "accuracy>=0.8": expected METRIC<=BOUND with METRIC one of equalizedOddsDifference, demographicParityDifference, equalOpportunityDifference, accuracyEqualityDifference');
  });
});
