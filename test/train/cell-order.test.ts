import { describe, expect, it } from 'vitest';
import { cellOrder } from '../../src/train/cell-order.ts';

describe('cellOrder (counting sort of rows by (label, group) cell)', () => {
  it('gives each cell its rows in ascending order, as the textbook loops do, over calls of different sizes', () => {
    for (const [n, groups] of [[1, 1], [10, 2], [20_000, 3], [7, 4]] as const) {
      const y = Int32Array.from({ length: n }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
      const group = Int32Array.from({ length: n }, (_, i) => (i * 13) % groups);
      const cells = 2 * groups;
      const r = cellOrder(y, group, groups, cells);
      for (let c = 0; c < cells; c++) {
        const rows = [...y.keys()].filter((i) => y[i]! * groups + group[i]! === c);
        expect(r.size[c]).toBe(rows.length);
        expect([...r.byCell.subarray(r.first[c], r.first[c + 1])]).toEqual(rows);
      }
      expect(r.first[cells]).toBe(n);
    }
  });

  it('names the first row whose label and group fall outside the cells', () => {
    const y = Int32Array.of(0, 1, 2, 1);
    const group = Int32Array.of(0, 1, 0, 1);
    expect(() => cellOrder(y, group, 2, 4)).toThrow('row 2: label 2 and group 0 make cell 4, outside 0..3');
    expect(() => cellOrder(Int32Array.of(0, -1), Int32Array.of(0, 0), 2, 4)).toThrow('row 1: label -1 and group 0 make cell -2, outside 0..3');
  });
});
