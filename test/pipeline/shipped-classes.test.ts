import { describe, expect, it } from 'vitest';
import { matrix } from '../../src/data/matrix.ts';
import { LinearHead } from '../../src/head/linear-head.ts';
import { alignShippedHead } from '../../src/pipeline/shipped-classes.ts';

describe('alignShippedHead (the backbone\'s own head against the task\'s classes)', () => {
  const head = new LinearHead(['male', 'female'], 2, Float64Array.of(1, -2), Float64Array.of(0.5));
  const x = matrix(Float32Array.of(3, 0, 0, 3, 1, 1, -2, 1), 4, 2);

  it('keeps a head whose classes are the task\'s, in any case and spacing, or unnamed on either side', () => {
    for (const classes of [['male', 'female'], [' Male', 'FEMALE '], ['0', '1']]) expect(alignShippedHead(head, classes).head).toBe(head);
    const unnamed = new LinearHead(['0', '1'], 2, head.weights, head.bias);
    expect(alignShippedHead(unnamed, ['no', 'yes']).head).toBe(unnamed);
  });

  it('flips a head whose two classes are the task\'s the other way round: each row gets the same class by name', () => {
    const { head: flipped } = alignShippedHead(head, ['Female', 'male']);
    expect(flipped!.classes).toEqual(['Female', 'male']);
    const own = Array.from(head.predict(x), (c) => head.classes[c]);
    const aligned = Array.from(flipped!.predict(x), (c) => flipped!.classes[c]!.toLowerCase());
    expect(aligned).toEqual(own);
    expect(new Set(own).size).toBe(2); // both classes occur, so a flip that did nothing would fail
  });

  it('gives no head, and says why, when the head predicts other classes than the task', () => {
    const r = alignShippedHead(head, ['no', 'yes']);
    expect(r.head).toBeUndefined();
    expect(r.mismatch).toBe('the backbone\'s own last layer predicts "male" / "female", not this target\'s "no" / "yes": no "shipped" baseline (B1, the plain ERM head, is the one to compare with)');
  });
});
