import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { parseMetricsFile, readMetricsFile } from '../../src/report/metrics-file.ts';
import { pathInside, writeReport } from '../../src/report/write-report.ts';
import { metricsOf, run } from './tiny-metrics.ts';

const root = mkdtempSync(join(tmpdir(), 'fairhead-report-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const samplePath = new URL('../fixtures/metrics-sample.json', import.meta.url).pathname;

describe('writeReport', () => {
  it('writes metrics.json, report.html and report.md into a new folder, with no temporary file left', async () => {
    const dir = join(root, 'out', 'nested');
    const metrics = readMetricsFile(samplePath);
    const { files } = await writeReport(dir, metrics);
    expect(files).toEqual([join(resolve(dir), 'metrics.json'), join(resolve(dir), 'report.html'), join(resolve(dir), 'report.md')]);
    expect(readdirSync(dir).sort()).toEqual(['metrics.json', 'report.html', 'report.md']);
    // metrics.json keeps the schema's names: reading it back gives the same object
    expect(readMetricsFile(join(dir, 'metrics.json'))).toEqual(metrics);
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toMatch(/^# Fairness report — UCI Adult\n/);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<svg');
  });

  it('writes nothing when the options are wrong', async () => {
    const dir = join(root, 'refused');
    await expect(writeReport(dir, metricsOf([run('b1', 'none', 0, 0, 0.8, 0.1)]), { selected: 3 })).rejects.toThrow(InputError);
    expect(() => readdirSync(dir)).toThrow(/ENOENT/);
  });

  it('refuses file names that resolve outside the output folder', () => {
    expect(pathInside('out', 'report.html')).toBe(resolve('out', 'report.html'));
    expect(() => pathInside('out', '../report.html')).toThrow('../report.html: resolves outside the output folder out; use a plain file name');
    expect(() => pathInside('out', '/etc/passwd')).toThrow(InputError);
    expect(() => pathInside('out', 'a/../../b')).toThrow(InputError);
    expect(() => pathInside('out', '.')).toThrow(InputError);
  });
});

describe('parseMetricsFile', () => {
  const good = readFileSync(samplePath, 'utf8');

  it('reads the sample and turns null numbers (JSON for NaN) back into NaN', () => {
    const data = JSON.parse(good);
    data.runs[0].splits.test.byGroup.Female.auc = null;
    const metrics = parseMetricsFile(JSON.stringify(data), 'm.json');
    expect(metrics.runs).toHaveLength(50);
    expect(metrics.runs[0]?.splits.test.byGroup['Female']?.auc).toBeNaN();
  });

  it('names the file and the JSON path of the first problem', () => {
    const data = JSON.parse(good);
    data.runs[3].splits.test.accuracy = '0.8';
    expect(() => parseMetricsFile(JSON.stringify(data), 'out/metrics.json')).toThrow(
      'out/metrics.json: runs[3].splits.test.accuracy: expected a number, received "0.8"',
    );
    data.runs[3].splits.test.accuracy = 0.8;
    data.runs[2].cost.converged = 'yes';
    expect(() => parseMetricsFile(JSON.stringify(data), 'm.json')).toThrow('m.json: runs[2].cost.converged: expected true or false, received "yes"');
    data.runs[2].cost.converged = false;
    expect(parseMetricsFile(JSON.stringify(data), 'm.json').runs[2]?.cost.converged).toBe(false);
    data.runs[1].method = 'm3';
    expect(() => parseMetricsFile(JSON.stringify(data), 'm.json')).toThrow(
      'm.json: runs[1].method: expected one of b1, b2, b3, m1, m2, m2w, m2p, full, shipped, threshold, received "m3"',
    );
  });

  it('reads a selection and names what is wrong in one', () => {
    const data = JSON.parse(good);
    data.selection = { run: 4, metric: 'equalizedOddsDifference', bound: 0.05, split: 'validation', boundMet: true };
    expect(parseMetricsFile(JSON.stringify(data), 'm.json').selection).toEqual(data.selection);
    data.selection.run = 50;
    expect(() => parseMetricsFile(JSON.stringify(data), 'm.json')).toThrow('m.json: selection.run: expected a run index from 0 to 49, received 50');
    data.selection.run = 4;
    data.selection.split = 'test';
    expect(() => parseMetricsFile(JSON.stringify(data), 'm.json')).toThrow('m.json: selection.split: expected "validation" or "finetune", received "test"');
  });

  it('refuses another format or version, and text that is not JSON', () => {
    expect(() => parseMetricsFile('{"format":"fairhead.metrics","version":2}', 'm.json')).toThrow(
      'm.json: version: expected 1, received 2 (written by a newer fairhead?)',
    );
    expect(() => parseMetricsFile('{"format":"other"}', 'm.json')).toThrow('m.json: format: expected "fairhead.metrics", received "other"');
    expect(() => parseMetricsFile('{', 'm.json')).toThrow(/^m\.json: not valid JSON/);
  });

  it('says when the file is missing', () => {
    const missing = join(root, 'missing.json');
    expect(() => readMetricsFile(missing)).toThrow(`${missing}: file not found, expected a metrics.json written by fairhead`);
    writeFileSync(join(root, 'empty.json'), '');
    expect(() => readMetricsFile(join(root, 'empty.json'))).toThrow(InputError);
  });
});
