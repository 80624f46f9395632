import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNumericCsv } from '../../src/data/numeric-csv.ts';

const dir = mkdtempSync(join(tmpdir(), 'fairhead-numcsv-'));
let n = 0;
const csv = (text: string | Uint8Array): string => {
  const file = join(dir, `t${n++}.csv`);
  writeFileSync(file, text);
  return file;
};

describe('readNumericCsv', () => {
  it('reads f0.. columns as features and keeps the label as text', () => {
    const t = readNumericCsv(csv('f0,f1,label\n0.5,-1,yes\n2,3e-1,no\n'), { text: ['label'] });
    expect(t.featureColumns).toEqual(['f0', 'f1']);
    expect(Array.from(t.x.data)).toEqual([0.5, -1, 2, Math.fround(0.3)]);
    expect(t.text).toEqual([['yes', 'no']]);
    expect(Array.from(t.lines)).toEqual([2, 3]);
  });

  it('orders f-columns by their number, not by header position', () => {
    const t = readNumericCsv(csv('f1,y,f0\n1,a,0\n'), { text: ['y'] });
    expect(t.featureColumns).toEqual(['f0', 'f1']);
    expect(Array.from(t.x.data)).toEqual([0, 1]);
  });

  it('without f-columns takes every numeric column except the text ones (judged on the first row)', () => {
    const t = readNumericCsv(csv('id,a,b,race,y\nimg1.jpg,1,2,Black,1\nimg2.jpg,3,4,White,0\n'), { text: ['y', 'race'] });
    expect(t.featureColumns).toEqual(['a', 'b']);
    expect(t.text).toEqual([['1', '0'], ['Black', 'White']]);
  });

  it('handles a BOM, CRLF, spaces after commas, quoted text, semicolons and a missing final newline', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('f0; f1; g\r\n 1.25 ; 2 ;"x;""y"""\r\n\r\n3;4;z')]);
    const t = readNumericCsv(csv(bytes), { text: ['g'] });
    expect(Array.from(t.x.data)).toEqual([1.25, 2, 3, 4]);
    expect(t.text).toEqual([['x;"y"', 'z']]);
    expect(Array.from(t.lines)).toEqual([2, 4]);
  });

  it('parses exponents, signs and leading dots like Number()', () => {
    const t = readNumericCsv(csv('f0,f1,f2,f3,f4,y\n-1e-3,+.5,7.,1E+2,-0,a\n'), { text: ['y'] });
    expect(Array.from(t.x.data)).toEqual([Math.fround(-1e-3), 0.5, 7, 100, -0]);
  });

  it('names the line and column of a non-number, an empty cell and NaN', () => {
    expect(() => readNumericCsv(csv('f0,f1,y\n1,2,a\n1,abc,b\n'), { text: ['y'] })).toThrow(/t\d+\.csv: line 3, column "f1": expected a finite number, received "abc"/);
    expect(() => readNumericCsv(csv('f0,f1,y\n1,,a\n'), { text: ['y'] })).toThrow(/line 2, column "f1": expected a finite number, received ""/);
    expect(() => readNumericCsv(csv('f0,f1,y\n1,nan,a\n'), { text: ['y'] })).toThrow(/received "nan"/);
  });

  it('refuses a row with too few or too many fields', () => {
    expect(() => readNumericCsv(csv('f0,f1,y\n1,2\n'), { text: ['y'] })).toThrow(/line 2 has 2 fields, expected 3 \(as in the header\)/);
    expect(() => readNumericCsv(csv('f0,f1,y\n1,2,a,b\n'), { text: ['y'] })).toThrow(/line 2 has more than 3 fields, expected 3/);
  });

  it('names a missing label column and lists the columns', () => {
    expect(() => readNumericCsv(csv('f0,f1\n1,2\n'), { text: ['label'] })).toThrow(/column "label" not found; columns are: f0, f1/);
  });

  it('reads rows that straddle the 4 MB read chunks', () => {
    const rows = 40000;
    const lines = ['f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,y'];
    for (let r = 0; r < rows; r++) lines.push(`${Array.from({ length: 10 }, (_, k) => (r * 10 + k) / 7).join(',')},${r % 2}`);
    const text = lines.join('\n');
    expect(text.length).toBeGreaterThan(4 * 1024 * 1024);
    const t = readNumericCsv(csv(text), { text: ['y'] });
    expect(t.x.rows).toBe(rows);
    for (const r of [0, 1, 12345, 23456, rows - 1]) {
      for (let k = 0; k < 10; k++) expect(t.x.data[r * 10 + k]).toBe(Math.fround((r * 10 + k) / 7));
    }
    expect(t.text[0]?.[rows - 1]).toBe(String((rows - 1) % 2));
  });

  it('gives the same float32 as Number() for any double written by JavaScript', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e30, max: 1e30 }), { minLength: 1, maxLength: 50 }), (values) => {
        const file = csv(`f0,y\n${values.map((v) => `${v},a`).join('\n')}\n`);
        const t = readNumericCsv(file, { text: ['y'] });
        return values.every((v, i) => Object.is(t.x.data[i], Math.fround(Number(String(v)))));
      }),
      { numRuns: 100 },
    );
  });
});

describe('readNumericCsv on what pandas writes', () => {
  it('skips the unnamed index column of df.to_csv()', () => {
    const t = readNumericCsv(csv(',a,b,y\n0,1.5,2,x\n1,3,4,z\n'), { text: ['y'] });
    expect(t.featureColumns).toEqual(['a', 'b']);
    expect(Array.from(t.x.data)).toEqual([1.5, 2, 3, 4]);
  });
});
