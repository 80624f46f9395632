import { describe, expect, it } from 'vitest';
import { sweepOrder } from '../../src/explore/session.ts';
import { ALPHA_STEPS, fitKey, GAP_STEPS, headOptions, initialState, nearestIndex, parseState } from '../../src/explore/state.ts';

const sensitive = ['sex', 'race'];
const base = initialState({}, sensitive, true);

describe('the sliders\' steps', () => {
  it('strength: 0, then 0.01 to 1,000 ten steps a decade, each exact as a --alpha flag', () => {
    expect(ALPHA_STEPS).toHaveLength(52);
    expect(ALPHA_STEPS.slice(0, 5)).toEqual([0, 0.01, 0.013, 0.016, 0.02]);
    expect(ALPHA_STEPS.slice(20, 24)).toEqual([0.79, 1, 1.3, 1.6]);
    expect(ALPHA_STEPS.at(-1)).toBe(1000);
    expect(ALPHA_STEPS.every((a) => Number(a.toPrecision(2)) === a)).toBe(true);
    expect(GAP_STEPS.slice(0, 3)).toEqual([0.005, 0.01, 0.015]);
    expect(GAP_STEPS.at(-1)).toBe(0.3);
  });

  it('a typed value maps to the nearest position, on a log scale', () => {
    expect(nearestIndex(ALPHA_STEPS, 3)).toBe(26);
    expect(ALPHA_STEPS[26]).toBe(3.2);
    expect(nearestIndex(ALPHA_STEPS, 0)).toBe(0);
    expect(nearestIndex(ALPHA_STEPS, 5000)).toBe(51);
    expect(nearestIndex(GAP_STEPS, 0.031)).toBe(5);
  });

  it('the sweep fits the neighbours of the slider first, then covers the range coarse to fine, each position once', () => {
    expect(sweepOrder(12, 6)).toEqual([5, 7, 4, 8, 0, 10, 1, 2, 3, 6, 9, 11]);
    expect(sweepOrder(12, 0)).toEqual([1, 2, 0, 10, 5, 3, 4, 6, 7, 8, 9, 11]);
    expect([...sweepOrder(52, 21)].sort((a, b) => a - b)).toEqual(Array.from({ length: 52 }, (_, i) => i));
  });
});

describe('parseState', () => {
  it('accepts the initial state and keeps the sensitive columns in --sensitive order', () => {
    expect(parseState(base, sensitive, true)).toEqual(base);
    expect(parseState({ ...base, groupBy: ['race', 'sex'] }, sensitive, true).groupBy).toEqual(['sex', 'race']);
  });

  it('names the field, what it received and the valid choices', () => {
    expect(() => parseState('x', sensitive, true)).toThrow('state: expected a JSON object');
    expect(() => parseState({ ...base, method: 'm3' }, sensitive, true)).toThrow('state.method: expected one of b1, b2, b3, m1, m2, m2w, received "m3"');
    expect(() => parseState({ ...base, alpha: -1 }, sensitive, true)).toThrow('state.alpha: expected a number from 0 to 1000000, received -1');
    expect(() => parseState({ ...base, seed: 1.5 }, sensitive, true)).toThrow('state.seed: expected an integer from 0 to 2147483647, received 1.5');
    expect(() => parseState({ ...base, groupBy: [] }, sensitive, true)).toThrow('state.groupBy: choose at least one of sex, race');
    expect(() => parseState({ ...base, groupBy: ['age'] }, sensitive, true)).toThrow('state.groupBy: expected a list of sex, race, received ["age"]');
    expect(() => parseState({ ...base, fairness: ['accuracy'] }, sensitive, true)).toThrow(/^state\.fairness: expected a list of equalizedOddsDifference/);
    expect(() => parseState({ ...base, baseline: 'shipped' }, sensitive, false)).toThrow('state.baseline: this backbone has no head of its own for this task; valid: b1');
    const { tolerance: _, ...missing } = base;
    expect(() => parseState(missing, sensitive, true)).toThrow('state.tolerance: expected a number from 0 to 1, received nothing');
  });
});

describe('fitKey: the head a state needs', () => {
  it('changes with what changes the head, and not with what only changes the view', () => {
    const key = fitKey(base, sensitive);
    expect(fitKey({ ...base, tolerance: 0.1, fairness: [], baseline: 'b1', curve: 'demographicParityDifference' }, sensitive)).toBe(key);
    for (const change of [{ alpha: 2 }, { seed: 1 }, { constraint: 'dp' as const }, { method: 'm1' as const }, { groupBy: ['sex'] }, { minGroupSize: 50 }]) {
      expect(fitKey({ ...base, ...change }, sensitive), JSON.stringify(change)).not.toBe(key);
    }
    // a minimum size only flagged does not regroup; B* methods have no penalty, target mode ignores the strength
    expect(fitKey({ ...base, minGroupSize: 50, smallGroups: 'flag' }, sensitive)).toBe(key);
    expect(fitKey({ ...base, method: 'b1', alpha: 5, constraint: 'dp' }, sensitive)).toBe(fitKey({ ...base, method: 'b1' }, sensitive));
    expect(fitKey({ ...base, mode: 'target', alpha: 5 }, sensitive)).toBe(fitKey({ ...base, mode: 'target', alpha: 1 }, sensitive));
  });

  it('target mode fits as run --max-gap does: from alpha 1', () => {
    expect(headOptions({ ...base, mode: 'target', alpha: 7, maxGap: 0.03 })).toEqual({ method: 'm2', constraint: 'eo', alpha: 1, maxGap: 0.03, optimizer: 'lbfgs', seed: 0 });
    expect(headOptions({ ...base, method: 'b3', mode: 'target', alpha: 7 })).toEqual({ method: 'b3', constraint: 'eo', alpha: 7, optimizer: 'lbfgs', seed: 0 });
  });
});
