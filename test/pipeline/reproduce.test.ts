import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { readMetricsFile } from '../../src/report/metrics-file.ts';
import type { RunRecord } from '../../src/report/schema.ts';
import { runReproduce } from '../../src/pipeline/reproduce/reproduce.ts';
import { makeImageFolder } from '../support/data.ts';

/** A UTKFace-shaped folder of 200 generated images (test/support/data.ts): gender = label, race = group 0..4. */
const utkface = mkdtempSync(join(tmpdir(), 'fairhead-repro-images-'));
const generated = await makeImageFolder(utkface, { count: 200 });

/** Test rows of a 60 / 20 / 20 split stratified by (label, group), rounded per cell: the sum of round(0.2 n). */
function testRows(cells: readonly string[]): number {
  const counts = new Map<string, number>();
  for (const c of cells) counts.set(c, (counts.get(c) ?? 0) + 1);
  return [...counts.values()].reduce((sum, n) => sum + Math.round(n * 0.2), 0);
}

function runsOf(runs: readonly RunRecord[], method: string): RunRecord[] {
  return runs.filter((r) => r.method === method);
}

describe('fairhead reproduce --quick', () => {
  it('writes table.md, metrics.json (run schema), report.html, run.json and README.md for Adult, with every method of the protocol', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fairhead-repro-'));
    const code = await main(['reproduce', '--experiment', 'adult', '--quick', '--out', out, '--quiet', '--cache-dir', join(out, 'cache')]);
    expect(code).toBe(0);
    for (const f of ['metrics.json', 'report.html', 'report.md', 'table.md', 'run.json']) expect(existsSync(join(out, 'adult', f))).toBe(true);
    const metrics = readMetricsFile(join(out, 'adult', 'metrics.json'));
    const methods = new Set(metrics.runs.map((r) => r.method));
    expect([...methods].sort()).toEqual(['b1', 'full', 'm1', 'm2', 'shipped', 'threshold']);
    for (const r of metrics.runs) {
      expect(r.splits.train.rows).toBe(26049);
      expect(r.splits.test.rows).toBe(16281);
      expect(r.splits.finetune.rows).toBeGreaterThan(0);
    }
    // the whole network trains all its parameters, (106 x 64 + 64) + (64 x 32 + 32) + (32 + 1) for the 106 encoded
    // columns of the categories in seed 0's training split; a head trains 32 weights + 1 bias
    expect(runsOf(metrics.runs, 'full')[0]?.cost.parametersTrained).toBe(106 * 64 + 64 + (64 * 32 + 32) + (32 + 1));
    expect(runsOf(metrics.runs, 'm2')[0]?.cost.parametersTrained).toBe(33);
    // thresholds are chosen on validation (its fine-tuning set) to equalise TPR and FPR there
    const threshold = runsOf(metrics.runs, 'threshold')[0] as RunRecord;
    expect(threshold.splits.finetune.rows).toBe(6512);
    expect(threshold.splits.finetune.equalizedOddsDifference).toBeLessThan(0.05);
    const table = readFileSync(join(out, 'adult', 'table.md'), 'utf8');
    expect(table).toContain('| M2 + EO, alpha 5 (last layer, fair) | 1 |');
    expect(table).toContain('fairhead reproduce --experiment adult --quick');
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toContain('**Does it work?** On UCI Adult');
    // --tables-only re-renders the same tables from metrics.json, without training
    expect(await main(['reproduce', '--tables-only', '--out', out, '--quiet'])).toBe(0);
    expect(readFileSync(join(out, 'adult', 'table.md'), 'utf8')).toBe(table);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toBe(readme);
  }, 240_000);

  it('--tables-only says when there is nothing to render (exit 2)', async () => {
    expect(await main(['reproduce', '--tables-only', '--out', mkdtempSync(join(tmpdir(), 'fairhead-repro-empty-')), '--quiet'])).toBe(2);
  });

  it('runs both UTKFace tasks on 200 balanced images: no shipped head for age, no whole-network run on images (said in the table)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fairhead-repro-utk-'));
    const outputs = await runReproduce({
      experiments: ['utkface-gender-race', 'utkface-age-gender'],
      quick: true,
      out,
      utkface,
      subset: 200,
      cacheDir: join(out, 'cache'),
    });
    expect(outputs.map((o) => o.experiment)).toEqual(['utkface-gender-race', 'utkface-age-gender']);
    const [gender, age] = outputs.map((o) => readMetricsFile(join(out, o.experiment, 'metrics.json')));
    expect(gender?.runs.map((r) => r.method)).toContain('shipped');
    expect(age?.runs.map((r) => r.method)).not.toContain('shipped');
    expect(gender?.runs.map((r) => r.method)).not.toContain('full');
    expect(Object.keys(gender?.runs[0]?.splits.test.byGroup ?? {}).sort()).toEqual(['non-white', 'white']);
    expect(Object.keys(age?.runs[0]?.splits.test.byGroup ?? {}).sort()).toEqual(['female', 'male']);
    // 200 images: 60 / 20 / 20 by (label, group) cell, rounded per cell
    expect(age?.runs[0]?.splits.test.rows).toBe(testRows(generated.rows.map((r) => `${r.age >= 30 ? 1 : 0}|${r.label}`)));
    expect(gender?.runs[0]?.splits.test.rows).toBe(testRows(generated.rows.map((r) => `${r.label}|${r.group === 0 ? 'white' : 'non-white'}`)));
    expect(readFileSync(join(out, 'utkface-gender-race', 'table.md'), 'utf8')).toContain('full (whole network trained with the penalty): not run');
  }, 240_000);

  it('compares the CNN pre-trained with ERM + a fair last layer against the CNN trained end to end with the penalty, on the same 200 images', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fairhead-repro-cnn-'));
    const [output] = await runReproduce({ experiments: ['utkface-gender-race-cnn'], quick: true, out, utkface, subset: 200, cacheDir: join(out, 'cache') });
    const metrics = readMetricsFile(join(out, 'utkface-gender-race-cnn', 'metrics.json'));
    expect(output?.metrics.runs.length).toBe(metrics.runs.length);
    expect(metrics.runs.map((r) => r.method)).toEqual(['shipped', 'b1', 'm1', 'm2', 'm2', 'threshold', 'full']);
    const shipped = runsOf(metrics.runs, 'shipped')[0] as RunRecord;
    const full = runsOf(metrics.runs, 'full')[0] as RunRecord;
    const m2 = runsOf(metrics.runs, 'm2')[0] as RunRecord;
    // both networks train every weight (the same architecture); a head trains 128 weights + 1 bias
    expect(full.cost.parametersTrained).toBe(shipped.cost.parametersTrained);
    expect(full.cost.parametersTrained).toBeGreaterThan(100_000);
    expect(m2.cost.parametersTrained).toBe(129);
    expect([full.constraint, full.alpha]).toEqual(['eo', 5]);
    // evaluated on the same splits: the same rows per split and per group
    for (const split of ['train', 'validation', 'test'] as const) {
      expect(full.splits[split]?.rows).toBe(shipped.splits[split]?.rows);
      const groups = (r: RunRecord): number[] => ['non-white', 'white'].map((g) => r.splits[split]?.byGroup[g]?.count ?? -1);
      expect(groups(full)).toEqual(groups(shipped));
    }
    // 60 / 20 / 20 by (label, group) cell, rounded per cell: 20 per label in group 0 (white), 80 per label in the others
    expect(full.splits.test.rows).toBe(2 * Math.round(20 * 0.2) + 2 * Math.round(80 * 0.2));
    expect(full.splits.finetune.rows).toBe(full.splits.train.rows);
    const table = readFileSync(join(out, 'utkface-gender-race-cnn', 'table.md'), 'utf8');
    expect(table).toContain('| full + EO, alpha 5 (whole network, fair) | 1 |');
    expect(table).toContain('full: the same CNN trained from scratch end to end');
    const fit = `The ERM network's accuracy is ${shipped.splits.train.accuracy.toFixed(3)} on its training split and ${shipped.splits.test.accuracy.toFixed(3)} on test`;
    expect(table).toContain(fit);
    expect(table).toContain('fairhead reproduce --experiment utkface-gender-race-cnn --quick');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('Training the whole network with the same penalty (full + EO, alpha 5)');
  }, 240_000);

  it('takes a folder of UTKFace-named files without labels.csv, reading the labels from the names', async () => {
    const faces = mkdtempSync(join(tmpdir(), 'fairhead-repro-names-'));
    // UTKFace's names: {age}_{gender}_{race}_{date}.jpg.chip.jpg
    for (const [i, r] of generated.rows.slice(0, 120).entries()) {
      copyFileSync(join(generated.images, r.file), join(faces, `${r.age}_${r.label}_${r.group}_2017${String(i).padStart(6, '0')}.jpg.chip.jpg`));
    }
    const out = mkdtempSync(join(tmpdir(), 'fairhead-repro-names-out-'));
    const [output] = await runReproduce({ experiments: ['utkface-gender-race'], quick: true, out, utkface: faces, cacheDir: join(out, 'cache') });
    const shipped = output?.metrics.runs[0] as RunRecord;
    expect(shipped.splits.train.rows + shipped.splits.validation!.rows + shipped.splits.test.rows).toBe(120);
    expect(Object.keys(shipped.splits.test.byGroup).sort()).toEqual(['non-white', 'white']);
    expect(readFileSync(join(out, 'cache', 'reproduce', 'utkface-labels-from-names.csv'), 'utf8').split('\n')[0]).toBe('file,age,gender,race,in_balanced_2000');
  }, 240_000);

  it('rejects an unknown experiment with the list of valid ones (exit 2)', async () => {
    expect(await main(['reproduce', '--experiment', 'celeba', '--quiet'])).toBe(2);
  });
});
