import { describe, expect, it } from 'vitest';
import { parseCsvText, readCsvTable } from '../../../src/data/csv-table.ts';
import { InputError } from '../../../src/errors.ts';
import { bootstrapInterval, demographicParityDifference, groupMetrics, predictionsFromTable } from '../../../src/fairness/metrics/index.ts';

const demoFile = new URL('../../../data/adult-predictions.csv', import.meta.url).pathname;

describe('predictionsFromTable', () => {
  it('codes 0/1 and false/true targets without --positive', () => {
    const t = parseCsvText('y,p,g\n1,0,a\n0,1,b\n', 'x.csv');
    const r = predictionsFromTable(t, { target: 'y', pred: 'p', sensitive: ['g'] });
    expect(r.positive).toBe('1');
    expect(Array.from(r.input.yTrue)).toEqual([1, 0]);
    expect(Array.from(r.input.yPred)).toEqual([0, 1]);
    const tf = parseCsvText('y,p,g\ntrue,true,a\nfalse,true,b\n', 'x.csv');
    expect(predictionsFromTable(tf, { target: 'y', pred: 'p', sensitive: ['g'] }).positive).toBe('true');
  });

  it('accepts a target with only negatives when it is 0/1-coded (predictions may still say 1)', () => {
    const t = parseCsvText('y,p,g\n0,1,a\n0,0,b\n', 'x.csv');
    const r = predictionsFromTable(t, { target: 'y', pred: 'p', sensitive: ['g'] });
    expect(Array.from(r.input.yPred)).toEqual([1, 0]);
  });

  it('refuses a target that needs --positive, naming the file and column', () => {
    const t = parseCsvText('y,p,g\nhi,lo,a\nlo,lo,b\n', 'x.csv');
    expect(() => predictionsFromTable(t, { target: 'y', pred: 'p', sensitive: ['g'] })).toThrow(InputError);
    expect(() => predictionsFromTable(t, { target: 'y', pred: 'p', sensitive: ['g'] })).toThrow('x.csv: --target column "y"');
  });

  it('reads the demo predictions: all 16,281 Adult test rows with their known label counts', () => {
    const r = predictionsFromTable(readCsvTable(demoFile), { target: 'Y', pred: 'pred', score: 'score', sensitive: ['sex'], positive: '>50K' });
    expect(r.rows).toBe(16281);
    expect(r.targetValues).toEqual(['<=50K', '>50K']);
    let positives = 0;
    for (const y of r.input.yTrue as Uint8Array) positives += y;
    expect(positives).toBe(3846); // data/README: test >50K. 3,846, <=50K. 12,435
    const m = groupMetrics(r.input);
    expect(m.counts.Female?.rows).toBe(5421);
    expect(m.counts.Male?.rows).toBe(10860);
    // a sex-blind model still selects men far more often
    expect(demographicParityDifference(m)).toBeGreaterThan(0.1);
    const ci = bootstrapInterval(r.input, (x) => demographicParityDifference(x), { samples: 100, seed: 0 });
    expect(ci.low).toBeGreaterThan(0.1);
    expect(ci.high).toBeLessThan(0.3);
    expect(ci.low).toBeLessThan(ci.estimate);
  });
});
