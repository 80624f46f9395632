import { describe, expect, it } from 'vitest';
import { describeSmallCell, hasSmallCells, SMALL_CELL_ROWS, smallCells, summarizeSplit } from '../../../src/fairness/metrics/index.ts';

/** Group a: 60 positives + 60 negatives; group b: 3 positives + 9 negatives (12 rows). Predictions: all right. */
function tinyGroupSplit(): ReturnType<typeof summarizeSplit> {
  const y: number[] = [];
  const g: string[] = [];
  for (let i = 0; i < 120; i++) (y.push(i < 60 ? 1 : 0), g.push('a'));
  for (let i = 0; i < 12; i++) (y.push(i < 3 ? 1 : 0), g.push('b'));
  return summarizeSplit(y, y, undefined, g);
}

describe('smallCells', () => {
  it('is 50 rows: a rate on n rows has a standard error up to 0.5 / sqrt(n), 0.07 at 50', () => {
    expect(SMALL_CELL_ROWS).toBe(50);
  });

  it('lists the (label, group) cells under 50 rows behind an equalized-odds gap, smallest first', () => {
    const s = tinyGroupSplit();
    expect(s.byGroup['b']).toMatchObject({ count: 12, positives: 3 });
    expect(smallCells(s, 'equalizedOddsDifference')).toEqual([
      { group: 'b', label: 'positive', rows: 3 },
      { group: 'b', label: 'negative', rows: 9 },
    ]);
    expect(smallCells(s, 'equalOpportunityDifference')).toEqual([{ group: 'b', label: 'positive', rows: 3 }]);
  });

  it('lists whole groups behind a demographic-parity gap and worst-group accuracy, nothing behind overall accuracy', () => {
    const s = tinyGroupSplit();
    expect(smallCells(s, 'demographicParityDifference')).toEqual([{ group: 'b', label: 'any', rows: 12 }]);
    expect(smallCells(s, 'worstGroupAccuracy')).toEqual([{ group: 'b', label: 'any', rows: 12 }]);
    expect(smallCells(s, 'accuracy')).toEqual([]);
    expect(hasSmallCells(s)).toBe(true);
  });

  it('skips empty cells (they are not part of the gap) and finds nothing in groups of 50 rows per cell', () => {
    const y = [...Array<number>(50).fill(1), ...Array<number>(50).fill(0), ...Array<number>(50).fill(1), ...Array<number>(50).fill(0), ...Array<number>(60).fill(0)];
    const g = [...Array<string>(100).fill('a'), ...Array<string>(100).fill('b'), ...Array<string>(60).fill('c')];
    const s = summarizeSplit(y, y, undefined, g);
    // group c has no positives: its TPR is undefined and left out of the gap, so its empty cell is not listed
    expect(smallCells(s, 'equalizedOddsDifference')).toEqual([]);
    expect(hasSmallCells(s)).toBe(false);
  });

  it('falls back to group sizes for a metrics.json written before the positives count', () => {
    const s = tinyGroupSplit();
    const withoutPositives = ({ positives: _, ...row }: (typeof s.byGroup)[string]) => row;
    const old = { ...s, byGroup: { a: withoutPositives(s.byGroup['a']!), b: withoutPositives(s.byGroup['b']!) } };
    expect(smallCells(old, 'equalizedOddsDifference')).toEqual([{ group: 'b', label: 'any', rows: 12 }]);
  });

  it('says which part is small in words', () => {
    expect(describeSmallCell({ group: 'b', label: 'positive', rows: 3 })).toBe('positives of group "b": 3 rows');
    expect(describeSmallCell({ group: 'b', label: 'negative', rows: 1 })).toBe('negatives of group "b": 1 row');
    expect(describeSmallCell({ group: 'b', label: 'any', rows: 12 })).toBe('group "b": 12 rows');
  });
});
