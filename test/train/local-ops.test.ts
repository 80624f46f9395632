import { describe, expect, it } from 'vitest';
import { matrix } from '../../src/data/matrix.ts';
import { createLinearOps } from '../../src/train/create-ops.ts';
import { stratifiedHoldout } from '../../src/train/holdout.ts';
import { createLocalOps } from '../../src/train/local-ops.ts';
import { createRng } from '../../src/rng.ts';

describe('createLocalOps', () => {
  // X = [[1, 2], [3, 4], [5, 6]]
  const x = matrix(Float32Array.of(1, 2, 3, 4, 5, 6), 3, 2);
  it('forward: z = X w + b = [1*10 + 2*1 + 0.5, 3*10 + 4*1 + 0.5, 5*10 + 6*1 + 0.5] = [12.5, 34.5, 56.5]', async () => {
    const z = new Float64Array(3);
    await createLocalOps(x, 1).forward(Float64Array.of(10, 1), Float64Array.of(0.5), z);
    expect([...z]).toEqual([12.5, 34.5, 56.5]);
  });
  it('backward: gw = X^T g = [1 - 3 + 5*2, 2 - 4 + 6*2] = [8, 10], gb = 1 - 1 + 2 = 2 (old contents overwritten)', async () => {
    const gw = Float64Array.of(99, 99);
    const gb = Float64Array.of(99);
    await createLocalOps(x, 1).backward(Float64Array.of(1, -1, 2), gw, gb);
    expect([...gw]).toEqual([8, 10]);
    expect([...gb]).toEqual([2]);
  });
  it('two outputs: logits row-major n x 2', async () => {
    const z = new Float64Array(6);
    await createLocalOps(x, 2).forward(Float64Array.of(1, 0, 0, 1), Float64Array.of(0, 100), z);
    expect([...z]).toEqual([1, 102, 3, 104, 5, 106]);
  });
  it('checks buffer sizes', async () => {
    await expect(createLocalOps(x, 1).forward(new Float64Array(3), new Float64Array(1), new Float64Array(3))).rejects.toThrow(
      'forward w: expected 2 values, received 3',
    );
  });
  it('createLinearOps gives ops of the requested shape', async () => {
    const ops = await createLinearOps(x, 2);
    expect([ops.rows, ops.cols, ops.outputs]).toEqual([3, 2, 2]);
    await ops.close();
  });
});

describe('stratifiedHoldout', () => {
  it('holds out round(0.2 m) rows of each (label, group) cell, at least 1 when m >= 2, none from a single-row cell', () => {
    // cells: (0,0) 10 rows -> 2; (1,0) 3 rows -> round(0.6) = 1; (0,1) 1 row -> 0
    const y = Int32Array.from([...Array(10).fill(0), 1, 1, 1, 0]);
    const group = Int32Array.from([...Array(13).fill(0), 1]);
    const { fit, holdout } = stratifiedHoldout(y, group, 2, 2, 0.2, createRng(0));
    expect(holdout.length).toBe(3);
    expect(fit.length).toBe(11);
    expect([...fit, ...holdout].sort((a, b) => a - b)).toEqual(Array.from({ length: 14 }, (_, i) => i));
    expect(fit.includes(13)).toBe(true);
    expect([...holdout].filter((i) => y[i] === 1).length).toBe(1);
  });
});
