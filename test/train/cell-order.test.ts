import { describe, expect, it } from 'vitest';
import { binaryPredictionTable, cellOrder, drawFromCells, rowCells } from '../../src/train/cell-order.ts';
import { createRng } from '../../src/rng.ts';

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

describe('rowCells (each row\'s cell and the cells\' sizes, after the range checks)', () => {
  it('gives the codes and counts of the textbook loop, for 2-4 classes and 1-5 groups, around cellOrder calls', () => {
    for (const [n, classes, groups] of [[1, 2, 1], [13, 2, 2], [20_000, 3, 5], [6100, 4, 3]] as const) {
      const y = Int32Array.from({ length: n }, (_, i) => (i * 7) % classes);
      const group = Int32Array.from({ length: n }, (_, i) => (i * 13 + (i >> 3)) % groups);
      cellOrder(y, group, groups, classes * groups); // the same scratch memory, used in between
      const r = rowCells(y, group, classes, groups);
      if (!('codes' in r)) throw new Error(`row ${r.outside} refused`);
      const counts = new Array<number>(classes * groups).fill(0);
      y.forEach((label, i) => counts[label * groups + group[i]!]! += 1);
      expect(Array.from(r.codes)).toEqual(Array.from(y, (label, i) => label * groups + group[i]!));
      expect(Array.from(r.counts)).toEqual(counts);
    }
  });

  it('returns the first row whose label or group is out of range, negative ones too', () => {
    const y = Int32Array.of(0, 1, 1, 0, 1);
    const group = Int32Array.of(0, 1, 0, 1, 0);
    expect(rowCells(y, group, 2, 2)).toHaveProperty('codes');
    for (const [at, label, g] of [[3, 2, 1], [2, -1, 0], [4, 1, 2], [0, 0, -3]] as const) {
      const yy = Int32Array.from(y);
      const gg = Int32Array.from(group);
      yy[at] = label;
      gg[at] = g;
      expect(rowCells(yy, gg, 2, 2)).toEqual({ outside: at });
    }
    // a code inside 0..cells-1 from a group out of range is still refused: labels and groups are checked apart
    expect(rowCells(Int32Array.of(0), Int32Array.of(2), 2, 2)).toEqual({ outside: 0 });
    expect(() => rowCells(Int32Array.of(0, 1), Int32Array.of(0), 2, 2)).toThrow('rowCells: 2 labels but 1 groups');
  });
});

describe('binaryPredictionTable (a binary head\'s rows by (label, group, predicted class))', () => {
  it('counts as the plain loop does, z >= 0 predicting 1 (0 and -0 too, NaN not), on sets of any size', () => {
    for (const [n, cells] of [[5, 4], [6100, 4], [20_001, 6]] as const) {
      const z = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.7) * 3);
      const codes = Int32Array.from({ length: n }, (_, i) => (i * 5 + (i >> 2)) % cells);
      if (n === 5) z.set([0, -0, NaN, -1e-300, Infinity]);
      const expected = new Array<number>(2 * cells).fill(0);
      z.forEach((v, i) => (expected[2 * codes[i]! + (v >= 0 ? 1 : 0)]! += 1));
      expect(Array.from(binaryPredictionTable(z, codes, cells))).toEqual(expected);
    }
    expect(Array.from(binaryPredictionTable(Float64Array.of(0, -1, NaN, -0, 1e-300), Int32Array.of(0, 0, 1, 1, 1), 2))).toEqual([1, 1, 1, 2]);
  });

  it('refuses codes outside the cells, and lengths that differ', () => {
    expect(() => binaryPredictionTable(Float64Array.of(1, 1), Int32Array.of(0, 4), 4)).toThrow('binaryPredictionTable: row codes outside 0..3');
    expect(() => binaryPredictionTable(Float64Array.of(1, 1), Int32Array.of(0), 4)).toThrow('binaryPredictionTable: 2 logits but 1 codes');
  });
});

describe('drawFromCells (the group-balanced draw in WebAssembly)', () => {
  /** rng.ts's sampleFrom over each cell in turn with one generator, then sorted: what finetune-sets.ts draws without WebAssembly. */
  function reference(order: ReturnType<typeof cellOrder>, m: number, seed: number): Int32Array {
    const rng = createRng(seed);
    const out: number[] = [];
    for (let c = 0; c < order.size.length; c++) out.push(...rng.sampleFrom(order.byCell.subarray(order.first[c], order.first[c + 1]), m));
    return Int32Array.from(out).sort();
  }

  it('draws the rows rng.ts draws, for small and large cells, m up to the smallest cell, many seeds', () => {
    // cell sizes from 3 to ~25,000: sample's sparse (m < n / 16) and dense branches, and m equal to a cell's size
    const n = 60_000;
    const y = Int32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 1 : 0));
    const group = Int32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 0 : i % 11 === 0 ? 2 : 1));
    group[5] = 2;
    const order = cellOrder(y, group, 3, 6);
    const smallest = Math.min(...order.size);
    for (const m of [1, 2, Math.floor(smallest / 2), smallest]) {
      for (const seed of [0, 1, 2, 3, 4, 17, -5, 2 ** 31 + 3, 123456.7]) {
        const drawn = drawFromCells(order, m, seed);
        expect(drawn, `m ${m} seed ${seed}`).toEqual(reference(order, m, seed));
      }
    }
  });

  it('refuses m above a cell\'s size', () => {
    const order = cellOrder(Int32Array.of(0, 1, 1), Int32Array.of(0, 0, 0), 1, 2);
    expect(() => drawFromCells(order, 2, 0)).toThrow('drawFromCells: cell 0 has 1 rows, fewer than 2');
  });
});
