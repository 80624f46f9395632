import { describe, expect, it } from 'vitest';
import { finetuneSet } from '../../src/pipeline/finetune-sets.ts';
import { fitHead } from '../../src/train/fit.ts';
import { makeSynth } from '../support/synth.ts';

const synth = makeSynth({ nTrain: 3000, nVal: 1500, nTest: 10, d: 16, factors: 4, seed: 3 });

describe('fitHead stops when its signal aborts', () => {
  const ft = finetuneSet('m2', synth.train, synth.val, 0);
  it('an abort during the fit rejects with the signal\'s reason after that iteration, and a later fit still works', async () => {
    const controller = new AbortController();
    let iterations = 0;
    const reason = new Error('stale');
    const fit = fitHead(ft, {
      constraint: 'eo',
      alpha: 2,
      signal: controller.signal,
      onProgress: () => {
        iterations++;
        if (iterations === 3) controller.abort(reason);
      },
    });
    await expect(fit).rejects.toBe(reason);
    expect(iterations).toBe(3);
    const full = await fitHead(ft, { constraint: 'eo', alpha: 2 });
    expect(full.iterations).toBeGreaterThan(3);
  });
  it('an aborted signal rejects before any iteration, in target mode and with the paper recipe too', async () => {
    for (const options of [{}, { maxGap: 0.05 }, { optimizer: 'paper' as const }]) {
      let progressed = false;
      const fit = fitHead(ft, { constraint: 'eo', ...options, signal: AbortSignal.abort(), onProgress: () => (progressed = true) });
      await expect(fit).rejects.toMatchObject({ name: 'AbortError' });
      expect(progressed).toBe(false);
    }
  });
});
