/**
 * `--min-group-size` and `--group-by` through the real CLI on UCI Adult (in the repository): race has two groups of
 * a few hundred rows (Amer-Indian-Eskimo, Other) beside White (about 28,000 in train + validation).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricsFile } from '../../src/report/schema.ts';
import { fairhead } from '../hardening/cli.ts';
import { ADULT_TEST, ADULT_TRAIN } from '../support/data.ts';

const ADULT = ['--data', ADULT_TRAIN, '--test-data', ADULT_TEST, '--target', 'Y', '--positive', '>50K'];
const QUICK = ['--epochs', '2', '--hidden', '16', '--bootstrap', '0', '--quiet'];

describe('run and sweep group the rows as --group-by and --min-group-size say', { timeout: 240_000 }, () => {
  it('run --min-group-size 500 folds the two small race groups into "(other)", warns, and records the option', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-groups-'));
    const r = await fairhead(['run', ...ADULT, '--sensitive', 'race', '--min-group-size', '500', ...QUICK, '--out', 'out'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*adult\.data: --min-group-size 500: 2 groups with fewer rows in train \+ validation were folded into one group "\(other\)" \(\d+ rows\): "Amer-Indian-Eskimo" \(\d+\), "Other" \(\d+\)/);
    const metrics = JSON.parse(readFileSync(join(dir, 'out', 'metrics.json'), 'utf8')) as MetricsFile;
    const m2 = metrics.runs.at(-1)!;
    expect(Object.keys(m2.splits.test.byGroup).sort()).toEqual(['(other)', 'Asian-Pac-Islander', 'Black', 'White']);
    // the test file's rows of the folded groups are in "(other)"
    expect(m2.splits.test.byGroup['(other)']!.count).toBe(159 + 135);
    expect(metrics.context.options).toMatchObject({ sensitive: ['race'], minGroupSize: 500, method: 'm2', data: ADULT_TRAIN });
  });

  it('sweep --group-by sex measures by sex alone while race stays out of the features', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-groups-'));
    const r = await fairhead(['sweep', ...ADULT, '--sensitive', 'sex,race', '--group-by', 'sex', '--methods', 'm2', '--constraints', 'eo', '--alphas', '1', ...QUICK, '--out', 'out'], dir);
    expect(r.code, r.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(dir, 'out', 'metrics.json'), 'utf8')) as MetricsFile;
    expect(Object.keys(metrics.runs.at(-1)!.splits.test.byGroup)).toEqual(['Female', 'Male']);
    expect(metrics.context.options).toMatchObject({ sensitive: ['sex', 'race'], groupBy: ['sex'] });
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'model', 'manifest.json'), 'utf8')) as { input: { encoding: { features: { column: string }[] } } };
    expect(manifest.input.encoding.features.map((f) => f.column)).not.toContain('race');
  });

  it('a --group-by column outside --sensitive exits 2 with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-groups-'));
    const r = await fairhead(['run', ...ADULT, '--sensitive', 'sex', '--group-by', 'race', ...QUICK, '--out', 'out'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['fairhead: --group-by "race" is not one of the --sensitive columns. Valid: sex']);
  });
});
