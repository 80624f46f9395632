import { describe, expect, it } from 'vitest';
import { MANY_NUMERIC_GROUPS, numericGroupWarnings } from '../../src/pipeline/numeric-groups.ts';

const numbers = (n: number): string[] => Array.from({ length: n }, (_, i) => String(18 + i * 1.5));

describe('numericGroupWarnings', () => {
  it('warns, naming the column, when its training groups are more than a few numbers', () => {
    const [warning, ...rest] = numericGroupWarnings(numbers(MANY_NUMERIC_GROUPS + 1), ['age'], 'loans.csv');
    expect(rest).toEqual([]);
    expect(warning).toMatch(/^loans\.csv: sensitive column "age" has 11 numeric values in the training data, and each became a group of its own/);
    expect(numericGroupWarnings(numbers(MANY_NUMERIC_GROUPS), ['age'], 'd')).toEqual([]);
  });

  it('says nothing for named groups, and reads each crossed column apart, without (missing)', () => {
    expect(numericGroupWarnings([...numbers(20).map((v) => `x${v}`)], ['code'], 'd')).toEqual([]);
    const crossed = numbers(12).flatMap((age) => [`F|${age}`, `M|${age}`]).concat(['F|(missing)']);
    const warnings = numericGroupWarnings(crossed, ['sex', 'age'], 'd');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('sensitive column "age" has 12 numeric values');
    // 10 numbers and (missing): not more than 10 numeric values
    expect(numericGroupWarnings([...numbers(10), '(missing)'], ['age'], 'd')).toEqual([]);
  });
});
