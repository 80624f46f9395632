import { describe, expect, it } from 'vitest';
import { THIN_CELL_ROWS, thinCellWarning } from '../../src/pipeline/thin-cells.ts';

/** Labels and groups with `rows[label][group]` rows in each cell (labels 'no', 'yes'; groups 'a', 'b'). */
function cells(rows: number[][]) {
  const y: number[] = [];
  const group: number[] = [];
  rows.forEach((byGroup, label) => byGroup.forEach((n, g) => {
    for (let i = 0; i < n; i++) {
      y.push(label);
      group.push(g);
    }
  }));
  return { y: Int32Array.from(y), group: Int32Array.from(group), classes: ['no', 'yes'], groupNames: ['a', 'b'] };
}

describe('thinCellWarning', () => {
  const big = cells([[200, 200], [200, 200]]);

  it('m2: every cell holds the smallest cell of train + validation, and that cell is named', () => {
    const train = cells([[500, 300], [120, 12]]);
    const validation = cells([[60, 40], [20, 7]]);
    const warning = thinCellWarning(train, validation, 'm2', 'eo', 'loans.csv');
    // 12 + 7 = 19 in the (yes, b) cell: m2 draws 19 rows from every cell, and names the cell that limits it
    expect(warning).toMatch(/^loans\.csv: the m2 fine-tuning set has only 19 rows with label "yes" in group "b": the eo penalty's rates there have a standard error of up to 0\.11,/);
    expect(warning).toContain('as many rows as its smallest cell of train + validation has, label "yes" in group "b"');
    expect(thinCellWarning(cells([[500, 300], [120, THIN_CELL_ROWS - 7]]), validation, 'm2', 'eo', 'x')).toBeUndefined();
    // eopp measures the positive cells, all 19 rows; the limiting cell is a negative one, and still named
    const eopp = thinCellWarning(cells([[500, 12], [120, 300]]), cells([[60, 7], [20, 40]]), 'm2', 'eopp', 'x');
    expect(eopp).toContain('only 19 rows with label "yes" in group "a"');
    expect(eopp).toContain('its smallest cell of train + validation has, label "no" in group "b"');
    // dp measures groups: 2 labels x 19 rows is enough, 2 x 12 is not
    expect(thinCellWarning(cells([[500, 300], [120, 12]]), validation, 'm2', 'dp', 'x')).toBeUndefined();
    expect(thinCellWarning(cells([[500, 300], [120, 5]]), validation, 'm2', 'dp', 'x')).toContain('only 24 rows in group "b"');
  });

  it('m2w: every row of train + validation counts; m2p: as m2', () => {
    const train = cells([[500, 300], [120, 12]]);
    const validation = cells([[60, 40], [20, 7]]);
    expect(thinCellWarning(train, validation, 'm2w', 'eo', 'x')).toMatch(/m2w fine-tuning set has only 19 rows with label "yes" in group "b".*m2w uses every row of train \+ validation already/);
    expect(thinCellWarning(train, validation, 'm2w', 'dp', 'x')).toBeUndefined();
    expect(thinCellWarning(train, validation, 'm2p', 'dp', 'x')).toBeUndefined();
    expect(thinCellWarning(cells([[500, 300], [120, 5]]), validation, 'm2p', 'dp', 'x')).toContain('the m2p fine-tuning set has only 24 rows in group "b"');
  });

  it('m1: the validation set alone counts, whatever train holds', () => {
    expect(thinCellWarning(big, cells([[80, 60], [40, 5]]), 'm1', 'eo', 'd')).toMatch(/m1 fine-tuning set has only 5 rows with label "yes" in group "b".* 0\.22,.*m2 draws its set from train \+ validation/);
    expect(thinCellWarning(cells([[1, 1], [1, 1]]), big, 'm1', 'eo', 'd')).toBeUndefined();
  });

  it('dp, di and ae measure whole groups; eopp the positive label only; eo and mmf every cell', () => {
    // group b: 10 negatives + 40 positives = 50 rows
    const validation = cells([[80, 10], [60, 40]]);
    for (const constraint of ['dp', 'di', 'ae', 'eopp']) expect(thinCellWarning(big, validation, 'm1', constraint, 'd')).toBeUndefined();
    for (const constraint of ['eo', 'mmf']) expect(thinCellWarning(big, validation, 'm1', constraint, 'd')).toContain('10 rows with label "no" in group "b"');
    expect(thinCellWarning(big, cells([[80, 20], [60, 5]]), 'm1', 'dp', 'd')).toContain('25 rows in group "b"');
    expect(thinCellWarning(big, cells([[80, 60], [60, 8]]), 'm1', 'eopp', 'd')).toContain('8 rows with label "yes" in group "b"');
  });

  it('says nothing for the cross-entropy methods, or for an empty cell (fitting refuses that itself)', () => {
    const thin = cells([[3, 3], [3, 3]]);
    for (const method of ['b1', 'b2', 'b3'] as const) expect(thinCellWarning(thin, thin, method, 'eo', 'd')).toBeUndefined();
    expect(thinCellWarning(cells([[80, 60], [60, 0]]), cells([[80, 60], [60, 0]]), 'm2', 'eo', 'd')).toBeUndefined();
  });
});
