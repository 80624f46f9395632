import { describe, it, expect } from 'vitest';
import { ADULT_TEST, ADULT_TRAIN } from '../support/data.ts';
import { parseCsvText, readCsvTable } from '../../src/data/csv-table.ts';
import { encodeFeatures, encodeTabular, fitTabularEncoding, tabularEncodingFromJSON } from '../../src/data/tabular.ts';
import { loadTabular } from '../../src/data/load-tabular.ts';
import { InputError } from '../../src/errors.ts';

const adultTrain = ADULT_TRAIN;
const adultTest = ADULT_TEST;

// age: 20, 40, ?, 60 -> mean 40, std sqrt((400 + 0 + 400) / 3) = sqrt(800/3)
const tiny = parseCsvText(
  ['age,color,sex,income', '20,red,F,high', '40,blue,M,low', '?,red,F,low.', '60,?,M,high.'].join('\n'),
  'tiny.csv',
);

describe('fitTabularEncoding on a tiny table', () => {
  const enc = fitTabularEncoding(tiny, { target: 'income', positive: 'high', sensitive: ['sex'] });

  it('leaves the target and the sensitive column out of the features', () => {
    expect(enc.features.map((f) => f.column)).toEqual(['age', 'color']);
    expect(enc.featureNames).toEqual(['age', 'age=missing', 'color=?', 'color=blue', 'color=red']);
  });

  it('standardises numbers with the training mean and population std of the non-missing cells', () => {
    const age = enc.features[0];
    expect(age).toMatchObject({ kind: 'numeric', mean: 40, missingIndicator: true });
    expect(age?.kind === 'numeric' && age.std).toBeCloseTo(Math.sqrt(800 / 3), 12);
  });

  it('imputes a missing number with the mean (0 after standardising) and flags it', () => {
    const x = encodeFeatures(tiny, enc);
    const s = Math.sqrt(800 / 3);
    expect(x.rows).toBe(4);
    expect(x.cols).toBe(5);
    expect(Array.from(x.data.subarray(0, 5))).toEqual([Math.fround(-20 / s), 0, 0, 0, 1]);
    expect(Array.from(x.data.subarray(10, 15))).toEqual([0, 1, 0, 0, 1]);
    expect(Array.from(x.data.subarray(15, 20))).toEqual([Math.fround(20 / s), 0, 1, 0, 0]);
  });

  it('normalises labels: "low." is the same class as "low"', () => {
    const set = encodeTabular(tiny, enc);
    expect(enc.classes).toEqual(['low', 'high']);
    expect(Array.from(set.y)).toEqual([1, 0, 0, 1]);
    expect(set.groupNames).toEqual(['F', 'M']);
    expect(Array.from(set.group)).toEqual([0, 1, 0, 1]);
  });

  it('keeps the sensitive column as a feature with keepSensitive', () => {
    const kept = fitTabularEncoding(tiny, { target: 'income', positive: 'high', sensitive: ['sex'], keepSensitive: true });
    expect(kept.featureNames).toContain('sex=F');
  });

  it('drops columns named in drop', () => {
    const dropped = fitTabularEncoding(tiny, { target: 'income', positive: 'high', sensitive: ['sex'], drop: ['color'] });
    expect(dropped.featureNames).toEqual(['age', 'age=missing']);
  });

  it('encodes an unseen category as all zeros and needs no target or sensitive column for features', () => {
    const predict = parseCsvText('color,age\ngreen,40\n', 'predict.csv');
    expect(Array.from(encodeFeatures(predict, enc).data)).toEqual([0, 0, 0, 0, 0]);
  });

  it('survives a JSON round trip', () => {
    const back = tabularEncodingFromJSON(JSON.parse(JSON.stringify(enc)), 'enc.json');
    expect(back).toEqual(enc);
    expect(encodeFeatures(tiny, back).data).toEqual(encodeFeatures(tiny, enc).data);
  });
});

describe('labels and groups', () => {
  const table = (rows: string[]): ReturnType<typeof parseCsvText> => parseCsvText(['x,g,h,y', ...rows].join('\n'), 't.csv');

  it('takes 0/1 labels without --positive', () => {
    const enc = fitTabularEncoding(table(['1,a,u,1', '2,b,v,0']), { target: 'y', sensitive: ['g'] });
    expect(enc.classes).toEqual(['0', '1']);
  });

  it('asks for --positive when the two values are not 0/1 or false/true', () => {
    expect(() => fitTabularEncoding(table(['1,a,u,yes', '2,b,v,no']), { target: 'y', sensitive: ['g'] })).toThrow(
      't.csv column "y": the target has two values ("no", "yes"); say which is the positive class with --positive, e.g. --positive "yes"',
    );
  });

  it('makes a multi-class task of 3 values with sorted classes, or one-vs-rest with --positive', () => {
    const t = table(['1,a,u,c', '2,b,v,a', '3,a,v,b']);
    expect(fitTabularEncoding(t, { target: 'y', sensitive: ['g'] }).classes).toEqual(['a', 'b', 'c']);
    const ovr = fitTabularEncoding(t, { target: 'y', positive: 'b', sensitive: ['g'] });
    expect(ovr.classes).toEqual(['not b', 'b']);
    expect(Array.from(encodeTabular(t, ovr).y)).toEqual([0, 0, 1]);
  });

  it('refuses 3 values when a binary target is required', () => {
    const t = table(['1,a,u,c', '2,b,v,a', '3,a,v,b']);
    expect(() => fitTabularEncoding(t, { target: 'y', sensitive: ['g'], requireBinary: true })).toThrow(/binary target is required but it has 3 values/);
  });

  it('refuses a sensitive column with one value', () => {
    expect(() => fitTabularEncoding(table(['1,a,u,1', '2,a,v,0']), { target: 'y', sensitive: ['g'] })).toThrow(
      't.csv: sensitive column "g" has only one value ("a"); group fairness needs at least two groups',
    );
  });

  it('refuses a --positive value that the target does not have, listing the values', () => {
    expect(() => fitTabularEncoding(table(['1,a,u,1', '2,b,v,0']), { target: 'y', positive: '2', sensitive: ['g'] })).toThrow(
      '--positive "2" is not a value of the target; values are: "0", "1"',
    );
  });

  it('names the line of a test label that training never saw', () => {
    const enc = fitTabularEncoding(table(['1,a,u,1', '2,b,v,0']), { target: 'y', sensitive: ['g'] });
    expect(() => encodeTabular(table(['1,a,u,1', '2,b,v,7']), enc)).toThrow('t.csv: line 3: target "7" is not a training class; classes are: "0", "1"');
  });

  it('crosses two sensitive columns into groups joined by "|" and appends groups unseen in training', () => {
    const enc = fitTabularEncoding(table(['1,a,u,1', '2,b,v,0', '3,a,v,0']), { target: 'y', sensitive: ['g', 'h'] });
    expect(enc.groupNames).toEqual(['a|u', 'a|v', 'b|v']);
    const set = encodeTabular(table(['1,b,u,1', '2,b,v,0']), enc);
    expect(set.groupNames).toEqual(['a|u', 'a|v', 'b|v', 'b|u']);
    expect(Array.from(set.group)).toEqual([3, 2]);
  });

  it('names the line of a word in a numeric column at prediction time', () => {
    const enc = fitTabularEncoding(table(['1,a,u,1', '2,b,v,0']), { target: 'y', sensitive: ['g'] });
    expect(() => encodeFeatures(table(['abc,a,u,1']), enc)).toThrow('t.csv: line 2: column "x" should be a number (it was numeric in training), received "abc"');
  });

  it('rejects a JSON encoding of another format, naming the file', () => {
    expect(() => tabularEncodingFromJSON({ format: 'other' }, 'model/enc.json')).toThrow(InputError);
    expect(() => tabularEncodingFromJSON({ format: 'other' }, 'model/enc.json')).toThrow(/^model\/enc.json: not a fairhead tabular encoding/);
  });
});

describe('UCI Adult (data/adult)', () => {
  const loaded = loadTabular({
    train: adultTrain,
    test: adultTest,
    validationFraction: 0,
    target: 'Y',
    positive: '>50K',
    sensitive: ['sex'],
  });
  const count = (a: Int32Array, v: number): number => a.reduce((n, x) => n + (x === v ? 1 : 0), 0);

  it('reads 32,561 training rows: 24,720 <=50K and 7,841 >50K', () => {
    expect(loaded.train.x.rows).toBe(32561);
    expect(loaded.encoding.classes).toEqual(['<=50K', '>50K']);
    expect(count(loaded.train.y, 0)).toBe(24720);
    expect(count(loaded.train.y, 1)).toBe(7841);
  });

  it('reads 16,281 test rows where ">50K." is the class ">50K": 12,435 / 3,846', () => {
    expect(loaded.test.x.rows).toBe(16281);
    expect(count(loaded.test.y, 0)).toBe(12435);
    expect(count(loaded.test.y, 1)).toBe(3846);
  });

  it('finds Female 10,771 / Male 21,790 in training', () => {
    expect(loaded.train.groupNames).toEqual(['Female', 'Male']);
    expect(count(loaded.train.group, 0)).toBe(10771);
    expect(count(loaded.train.group, 1)).toBe(21790);
  });

  it('counts the rows holding "?" (2,399 train, 1,221 test) both in the raw CSV and in the "=?" features', () => {
    const raw = (file: string): number => readCsvTable(file).rows.filter((row) => row.includes('?')).length;
    expect(raw(adultTrain)).toBe(2399);
    expect(raw(adultTest)).toBe(1221);
    const qCols = loaded.encoding.featureNames.flatMap((n, j) => (n.endsWith('=?') ? [j] : []));
    expect(qCols.map((j) => loaded.encoding.featureNames[j])).toEqual(['workclass=?', 'occupation=?', 'native-country=?']);
    const rowsWithQ = (x: typeof loaded.train.x): number => {
      let n = 0;
      for (let r = 0; r < x.rows; r++) if (qCols.some((j) => x.data[r * x.cols + j] === 1)) n++;
      return n;
    };
    expect(rowsWithQ(loaded.train.x)).toBe(2399);
    expect(rowsWithQ(loaded.test.x)).toBe(1221);
  });

  it('infers the 6 numeric columns and leaves sex out of the features', () => {
    expect(loaded.encoding.features.filter((f) => f.kind === 'numeric').map((f) => f.column)).toEqual([
      'age', 'fnlwgt', 'education-num', 'capital-gain', 'capital-loss', 'hours-per-week',
    ]);
    expect(loaded.encoding.features.some((f) => f.column === 'sex')).toBe(false);
  });

  it('standardised training columns have mean 0 and std 1', () => {
    const { x } = loaded.train;
    let sum = 0;
    let ss = 0;
    for (let r = 0; r < x.rows; r++) sum += x.data[r * x.cols] as number;
    for (let r = 0; r < x.rows; r++) ss += (x.data[r * x.cols] as number) ** 2;
    expect(sum / x.rows).toBeCloseTo(0, 5);
    expect(ss / x.rows).toBeCloseTo(1, 4);
  });
});
