import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fairhead-metrics-'));

/** Run the real CLI (async, so the test worker's event loop stays free while it runs). */
function fairhead(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/fairhead.js', 'metrics', ...args], { cwd: root, timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function csv(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

// a: y 0 1 1 0, ŷ 0 1 0 0 → acc 3/4, sel 1/4, tpr 1/2, fpr 0; b: y 1 0 1 1, ŷ 1 1 1 1 → acc 3/4, sel 1, tpr 1, fpr 1
const tiny = csv(
  'tiny.csv',
  'label,guess,proba,sex,race\n0,0,0.1,a,x\n1,1,0.9,a,y\n1,0,0.4,a,x\n0,0,0.2,a,y\n1,1,0.8,b,x\n0,1,0.7,b,x\n1,1,0.6,b,y\n1,1,0.9,b,y\n',
);

describe('fairhead metrics on a user CSV', { timeout: 60_000 }, () => {
  it('prints the by-group table and the fairness summary', async () => {
    const r = await fairhead('--data', tiny, '--target', 'label', '--pred', 'guess', '--sensitive', 'sex');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('8 rows; target "label" (positive "1")');
    expect(r.stdout).toMatch(/^a\s+4\s+0\.7500\s+0\.2500\s+0\.5000\s+0\.0000/m);
    expect(r.stdout).toMatch(/^b\s+4\s+0\.7500\s+1\.0000\s+1\.0000\s+1\.0000/m);
    expect(r.stdout).toMatch(/demographic parity \(selection rate\)\s+0\.7500\s+0\.2500/); // 1 − 1/4, (1/4) / 1
    expect(r.stdout).toMatch(/equalized odds \(worse of TPR, FPR\)\s+1\.0000\s+0\.0000/);
    expect(r.stdout).not.toContain('AUC'); // no --score
  });

  it('prints the same as JSON with --json, scores giving AUC', async () => {
    const r = await fairhead('--data', tiny, '--target', 'label', '--pred', 'guess', '--score', 'proba', '--sensitive', 'sex', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rows).toBe(8);
    expect(out.positive).toBe('1');
    expect(out.byGroup.a).toMatchObject({ count: 4, accuracy: 0.75, selectionRate: 0.25, tpr: 0.5, fpr: 0 });
    expect(out.summary.demographicParityDifference).toBe(0.75);
    expect(out.summary.equalizedOddsDifference).toBe(1);
    expect(out.summary.worstCellAccuracy).toBe(0); // (b, y=0): 0 of 1 right
    expect(out.byGroup.a.auc).toBe(1); // positives 0.9, 0.4 above negatives 0.1, 0.2
    expect(out.byGroup.b.auc).toBe(2 / 3); // negative 0.7 vs positives 0.8, 0.6, 0.9: 2 of 3 pairs ordered
  });

  it('crosses several sensitive columns into intersectional groups', async () => {
    const r = await fairhead('--data', tiny, '--target', 'label', '--pred', 'guess', '--sensitive', 'sex,race', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out.byGroup)).toEqual(['a & x', 'a & y', 'b & x', 'b & y']);
    expect(out.byGroup['b & x'].count).toBe(2);
  });

  it('scores one value against the rest with --positive', async () => {
    const file = csv('multi.csv', 'y,p,g\ncat,cat,a\ndog,cat,a\nbird,bird,b\ncat,dog,b\n');
    const r = await fairhead('--data', file, '--target', 'y', '--pred', 'p', '--sensitive', 'g', '--positive', 'cat', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.byGroup.a.tpr).toBe(1); // cat → cat
    expect(out.byGroup.a.fpr).toBe(1); // dog → cat
    expect(out.byGroup.b.tpr).toBe(0); // cat → dog
  });
});

describe('fairhead metrics --demo', { timeout: 60_000 }, () => {
  it('runs on the built-in UCI Adult predictions and agrees with a count done by hand from the CSV', async () => {
    const r = await fairhead('--demo', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rows).toBe(16281);
    expect(Object.keys(out.byGroup)).toEqual(['Female', 'Male']);
    // recount selection rates from the file with plain string splitting
    const lines = readFileSync(join(root, 'data/adult-predictions.csv'), 'utf8').trim().split('\n').slice(1);
    const sel = { Female: [0, 0], Male: [0, 0] } as Record<string, [number, number]>;
    for (const line of lines) {
      const [, sex, , , , pred] = line.split(',');
      const s = sel[sex as string] as [number, number];
      s[0] += pred === '>50K' ? 1 : 0;
      s[1] += 1;
    }
    const rate = (g: string) => (sel[g] as [number, number])[0] / (sel[g] as [number, number])[1];
    expect(out.byGroup.Female.selectionRate).toBeCloseTo(rate('Female'), 12);
    expect(out.summary.demographicParityDifference).toBeCloseTo(rate('Male') - rate('Female'), 12);
    expect(out.summary.accuracy).toBeGreaterThan(0.8); // a real model, not a coin
  });

  it('prints text with bootstrap intervals that are the same for the same seed', async () => {
    const [a, b] = await Promise.all([
      fairhead('--demo', '--sensitive', 'race', '--bootstrap', '50', '--seed', '3'),
      fairhead('--demo', '--sensitive', 'race', '--bootstrap', '50', '--seed', '3'),
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('Amer-Indian-Eskimo');
    expect(a.stdout).toContain('95% CI of difference');
    expect(a.stdout).toBe(b.stdout);
  });
});

describe('fairhead metrics refuses bad input with one line and exit code 2', { timeout: 60_000 }, () => {
  const cases: [string, string[], RegExp][] = [
    ['a missing column', ['--data', tiny, '--target', 'label', '--pred', 'nope', '--sensitive', 'sex'], /tiny\.csv: --pred column "nope" not found; columns are: label, guess, proba, sex, race/],
    ['a missing sensitive column', ['--data', tiny, '--target', 'label', '--pred', 'guess', '--sensitive', 'sex,age'], /--sensitive column "age" not found/],
    [
      'a non-binary target without --positive',
      ['--data', csv('three.csv', 'y,p,g\na,a,x\nb,a,x\nc,c,y\n'), '--target', 'y', '--pred', 'p', '--sensitive', 'g'],
      /three\.csv: --target column "y" has 3 values \("a", "b", "c"\); pass --positive VALUE/,
    ],
    [
      'a two-valued text target without --positive',
      ['--data', csv('income.csv', 'y,p,g\n<=50K,<=50K,x\n>50K,<=50K,y\n'), '--target', 'y', '--pred', 'p', '--sensitive', 'g'],
      /income\.csv: --target column "y" has two values that are not 0\/1 \("<=50K", ">50K"\); pass --positive VALUE/,
    ],
    [
      'a prediction that is not a target value',
      ['--data', csv('proba.csv', 'y,p,g\n1,1,x\n0,0.7,y\n'), '--target', 'y', '--pred', 'p', '--sensitive', 'g'],
      /proba\.csv: row 2 \(line 3\), column "p" \(--pred\): "0\.7" is not one of the target's values \("0", "1"\)/,
    ],
    [
      'a score that is not a number',
      ['--data', csv('score.csv', 'y,p,s,g\n1,1,0.9,x\n0,0,high,y\n'), '--target', 'y', '--pred', 'p', '--score', 's', '--sensitive', 'g'],
      /score\.csv: row 2 \(line 3\), column "s" \(--score\): "high" is not a number/,
    ],
    ['an empty file', ['--data', csv('empty.csv', ''), '--target', 'y', '--pred', 'p', '--sensitive', 'g'], /empty\.csv: file is empty/],
    ['a header without rows', ['--data', csv('header.csv', 'y,p,g\n'), '--target', 'y', '--pred', 'p', '--sensitive', 'g'], /header\.csv: has a header but no rows/],
    ['ragged rows', ['--data', csv('ragged.csv', 'y,p,g\n1,1,x\n0,0\n'), '--target', 'y', '--pred', 'p', '--sensitive', 'g'], /ragged\.csv: line 3 has 2 fields, expected 3/],
    ['a file that does not exist', ['--data', join(dir, 'absent.csv'), '--target', 'y', '--pred', 'p', '--sensitive', 'g'], /absent\.csv: file not found/],
    ['missing flags', ['--target', 'y'], /missing --data <file>, --pred <column>, --sensitive <columns>; or run fairhead metrics --demo/],
    ['a --positive that is nowhere in the data', ['--data', tiny, '--target', 'label', '--pred', 'guess', '--sensitive', 'sex', '--positive', 'yes'], /--positive "yes" is not a value of column "label"; values are: "0", "1"/],
  ];
  for (const [what, args, message] of cases) {
    it(`for ${what}`, async () => {
      const r = await fairhead(...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    });
  }
});
