import { describe, expect, it } from 'vitest';
import { continuationSteps, fitHead, FitPath } from '../../src/train/fit.ts';
import { makeSynth } from '../support/synth.ts';

const set = makeSynth({ nTrain: 2000, nVal: 10, nTest: 10, d: 32, factors: 4, seed: 6 }).train;

describe('the continuation of a strong penalty (FitOptions.continuation, FitPath)', () => {
  it('goes through 1, 10, 100, ... below alpha', () => {
    expect(continuationSteps(1)).toEqual([]);
    expect(continuationSteps(0.5)).toEqual([]);
    expect(continuationSteps(10)).toEqual([1]);
    expect(continuationSteps(300)).toEqual([1, 10, 100]);
    expect(continuationSteps(1000)).toEqual([1, 10, 100]);
    expect(continuationSteps(1001)).toEqual([1, 10, 100, 1000]);
  });

  it('gives the same head with a path kept between fits as without, and a path holds the heads of its steps', async () => {
    const path = new FitPath();
    const alone = await fitHead(set, { constraint: 'eo', alpha: 300 });
    const first = await fitHead(set, { constraint: 'eo', alpha: 300, path });
    expect(path.size).toBe(3);
    expect(Array.from(first.head.weights)).toEqual(Array.from(alone.head.weights));
    expect(first.iterations).toBe(alone.iterations);
    // 500 starts from the head at 100, already held: only its own iterations
    const next = await fitHead(set, { constraint: 'eo', alpha: 500, path });
    const nextAlone = await fitHead(set, { constraint: 'eo', alpha: 500 });
    expect(Array.from(next.head.weights)).toEqual(Array.from(nextAlone.head.weights));
    expect(next.iterations).toBeLessThan(nextAlone.iterations);
    // the steps' own fits are the heads fitHead gives at those strengths
    const at10 = await fitHead(set, { constraint: 'eo', alpha: 10 });
    const held = path.get(10)!;
    expect(Array.from(held.subarray(0, 32))).toEqual(Array.from(at10.head.weights));
  });

  it('is not used at alpha <= 1, without a penalty, from an init head, or when turned off', async () => {
    const cold = await fitHead(set, { constraint: 'eo', alpha: 300, continuation: false });
    const on = await fitHead(set, { constraint: 'eo', alpha: 300 });
    expect(Array.from(cold.head.weights)).not.toEqual(Array.from(on.head.weights));
    const path = new FitPath();
    await fitHead(set, { constraint: 'eo', alpha: 1, path });
    await fitHead(set, { constraint: 'none', alpha: 300, path });
    await fitHead(set, { constraint: 'eo', alpha: 300, init: cold.head, path });
    await fitHead(set, { constraint: 'eo', alpha: 300, continuation: false, path });
    expect(path.size).toBe(0);
  });
});
