import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paretoFront } from '../../src/report/pareto-front.ts';

describe('paretoFront (x = fairness gap, lower is better; y = accuracy, higher is better)', () => {
  it('keeps the points no other point beats on both axes, sorted by gap', () => {
    const points = [
      { x: 0.2, y: 0.85 }, // most accurate: on the front
      { x: 0.05, y: 0.83 }, // fairest: on the front
      { x: 0.1, y: 0.8 }, // beaten by point 1 (smaller gap AND higher accuracy)
      { x: 0.1, y: 0.84 }, // between the two: on the front
      { x: 0.25, y: 0.85 }, // same accuracy as point 0 with a larger gap: beaten
    ];
    expect(paretoFront(points)).toEqual([1, 3, 0]);
  });

  it('keeps both copies of a duplicated front point and drops a point tied on gap but less accurate', () => {
    expect(paretoFront([{ x: 0.1, y: 0.9 }, { x: 0.1, y: 0.9 }, { x: 0.1, y: 0.8 }])).toEqual([0, 1]);
  });

  it('ignores points with NaN or infinite coordinates and gives [] for no points', () => {
    expect(paretoFront([{ x: Number.NaN, y: 1 }, { x: 0.3, y: 0.5 }, { x: 0, y: Infinity }])).toEqual([1]);
    expect(paretoFront([])).toEqual([]);
  });

  it('agrees with the brute-force definition on random points', () => {
    const point = fc.record({ x: fc.integer({ min: 0, max: 20 }).map((v) => v / 20), y: fc.integer({ min: 0, max: 20 }).map((v) => v / 20) });
    fc.assert(
      fc.property(fc.array(point, { maxLength: 30 }), (points) => {
        const brute = points
          .map((p, i) => ({ p, i }))
          .filter(({ p }) => !points.some((q) => q.x <= p.x && q.y >= p.y && (q.x < p.x || q.y > p.y)))
          .map(({ i }) => i);
        expect([...paretoFront(points)].sort((a, b) => a - b)).toEqual(brute);
      }),
    );
  });
});
