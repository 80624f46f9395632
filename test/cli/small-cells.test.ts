/**
 * Gaps measured on a handful of rows are marked, with a footnote and their bootstrap interval, in the printed table,
 * report.md and report.html (issue 25); a data set without small groups shows no mark.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsFile } from '../../src/report/schema.ts';

const bin = fileURLToPath(new URL('../../bin/fairhead.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fairhead-small-cells-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fairhead(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * Groups a and b with 300 rows in each (label, group) cell, and with `small` a group c of 10 rows (5 per label):
 * the seeded 60/20/20 split leaves c 1 positive and 1 negative in test. y follows x1 with 20% noise.
 */
function writeCsv(name: string, small: boolean): string {
  let state = 11;
  const uniform = (): number => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines = ['x1,x2,g,y'];
  const add = (g: string, y: number): void => {
    const x1 = (y === 1 ? 1 : -1) * (uniform() < 0.8 ? 1 : -1) + uniform() - 0.5;
    lines.push(`${x1.toFixed(4)},${(uniform() * 2 - 1 + (g === 'b' ? 0.5 : 0)).toFixed(4)},${g},${y}`);
  };
  for (const g of ['a', 'b']) for (let i = 0; i < 600; i++) add(g, i % 2);
  if (small) for (let i = 0; i < 10; i++) add('c', i % 2);
  const file = join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const args = (csv: string, out: string): string[] => ['run', '--data', csv, '--target', 'y', '--sensitive', 'g', '--method', 'b1', '--epochs', '2', '--out', out, '--quiet'];
let small: { code: number; stdout: string; stderr: string };
let normal: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  [small, normal] = await Promise.all([fairhead(args(writeCsv('small.csv', true), 'small')), fairhead(args(writeCsv('normal.csv', false), 'normal'))]);
}, 180_000);

describe('a group with a handful of rows', () => {
  it('marks the gaps that rest on it in the printed table, with their interval, and names its rows in a footnote', () => {
    expect(small.stderr).toBe('');
    expect(small.code).toBe(0);
    const metrics = JSON.parse(readFileSync(join(dir, 'small', 'metrics.json'), 'utf8')) as MetricsFile;
    const b1 = metrics.runs.find((r) => r.method === 'b1')!;
    expect(b1.splits.test.byGroup['c']).toMatchObject({ count: 2, positives: 1 });
    const lines = small.stdout.split('\n');
    const row = lines.find((l) => l.startsWith('b1 '))!;
    const [lo, hi] = b1.splits.test.intervals!['equalizedOddsDifference']!;
    expect(row).toContain(`${b1.splits.test.equalizedOddsDifference.toFixed(3)}* [${lo.toFixed(3)}, ${hi.toFixed(3)}]`);
    // DP, worst group (test) and EO (train) rest on group c too; accuracy rests on every row
    expect(row.match(/\*/g)).toHaveLength(4);
    expect(row).toMatch(/^b1\s+none\s+0\s+0\s+\d\.\d{3}\s/);
    const note = lines.findIndex((l) => l.startsWith('* Fewer than 50 rows behind this number'));
    expect(note).toBeGreaterThan(0);
    expect(lines[note + 1]).toBe('  test: positives of group "c": 1 row, negatives of group "c": 1 row, group "c": 2 rows');
    // train: only EO is printed, and it rests on the cells, not on the whole group
    expect(lines[note + 2]).toMatch(/^ {2}train: (positives|negatives) of group "c": \d rows?, (positives|negatives) of group "c": \d rows?$/);
  });

  it('computes the interval of every printed split with a small group, though only test intervals were asked for', () => {
    const metrics = JSON.parse(readFileSync(join(dir, 'small', 'metrics.json'), 'utf8')) as MetricsFile;
    for (const r of metrics.runs) for (const split of ['train', 'validation', 'test'] as const) expect(r.splits[split]?.intervals, `${r.method} ${split}`).toBeDefined();
  });

  it('marks them in report.md and report.html, with the footnote', () => {
    const md = readFileSync(join(dir, 'small', 'report.md'), 'utf8');
    expect(md).toMatch(/\| \d\.\d{3}\\\* \(\d\.\d{3}–\d\.\d{3}\) \|/);
    expect(md).toContain('\\* Fewer than 50 rows behind this number');
    expect(md).toContain('Test: positives of group "c": 1 row, negatives of group "c": 1 row, group "c": 2 rows.');
    const html = readFileSync(join(dir, 'small', 'report.html'), 'utf8');
    expect(html).toMatch(/\d\.\d{3}\*<br><span class="ci">\(\d\.\d{3}–\d\.\d{3}\)<\/span>/);
    expect(html).toContain('* Fewer than 50 rows behind this number');
  });
});

describe('groups of hundreds of rows', () => {
  it('print no mark and no footnote, and compute no interval that was not asked for', () => {
    expect(normal.stderr).toBe('');
    expect(normal.code).toBe(0);
    expect(normal.stdout).not.toContain('*');
    const metrics = JSON.parse(readFileSync(join(dir, 'normal', 'metrics.json'), 'utf8')) as MetricsFile;
    expect(metrics.runs.every((r) => r.splits.train.intervals === undefined && r.splits.test.intervals !== undefined)).toBe(true);
    for (const report of ['report.md', 'report.html']) expect(readFileSync(join(dir, 'normal', report), 'utf8')).not.toContain('Fewer than 50 rows');
  });
});
