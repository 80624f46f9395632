import { describe, expect, it } from 'vitest';
import { fitLabelCoding, labelIndex, parseThreshold } from '../../src/data/_internal/labels.ts';
import { fitTabularEncoding, encodeTabular, tabularEncodingFromJSON } from '../../src/data/tabular.ts';
import { parseCsvText } from '../../src/data/csv-table.ts';

describe('--positive as a numeric threshold', () => {
  it('reads >=, >, <= and < followed by a number, and nothing else', () => {
    expect(parseThreshold('>=30')?.(30)).toBe(true);
    expect(parseThreshold('>30')?.(30)).toBe(false);
    expect(parseThreshold('<= -1.5')?.(-2)).toBe(true);
    expect(parseThreshold('<1e3')?.(999)).toBe(true);
    expect(parseThreshold('>50K')).toBeNull();
    expect(parseThreshold('30')).toBeNull();
  });

  it('makes class 1 the numbers that meet it, and class 0 the rest', () => {
    const coding = fitLabelCoding(['12', '30', '45', '29'], '>=30', 'ages.csv column "age"', true);
    expect(coding.classes).toEqual(['not >=30', '>=30']);
    expect(['12', '30', '45', '29', '30.5'].map((v) => labelIndex(coding, v))).toEqual([0, 1, 1, 0, 1]);
  });

  it('keeps a target value spelt like a threshold as a plain label', () => {
    const coding = fitLabelCoding(['>=30', 'young'], '>=30', 'x', true);
    expect(coding.classes).toEqual(['young', '>=30']);
    expect(coding.oneVsRest).toBe(false);
  });

  it('refuses a threshold on a text target, or one that puts every row in one class', () => {
    expect(() => fitLabelCoding(['a', '3'], '>=1', 'f.csv column "t"', true)).toThrow('f.csv column "t": --positive ">=1" compares numbers, but the target holds "a"');
    expect(() => fitLabelCoding(['1', '2', '3'], '>=10', 'f.csv column "t"', true)).toThrow(/puts every row in one class/);
  });

  it('survives the saved tabular encoding, so test rows and predictions use the same threshold', () => {
    const train = parseCsvText('age,x,g\n12,1,a\n40,2,b\n31,3,a\n20,4,b\n', 'train.csv');
    const enc = tabularEncodingFromJSON(JSON.parse(JSON.stringify(fitTabularEncoding(train, { target: 'age', positive: '>=30', sensitive: ['g'] }))), 'enc.json');
    const test = parseCsvText('age,x,g\n29,1,a\n30,2,b\n77,3,a\n', 'test.csv');
    expect(Array.from(encodeTabular(test, enc).y)).toEqual([0, 1, 1]);
  });
});

describe('an unknown --positive on a numeric target', () => {
  it('suggests a threshold when the target has many numeric values, and not for a two-valued one', () => {
    expect(() => fitLabelCoding(['1', '2', '3'], '9', 'f.csv column "t"', true)).toThrow('f.csv column "t": --positive "9" is not a value of the target; values are: "1", "2", "3" (or a threshold on this numeric target, such as ">=30")');
    expect(() => fitLabelCoding(['0', '1'], 'maybe', 'f.csv column "t"', true)).toThrow(/values are: "0", "1"$/);
  });
});
