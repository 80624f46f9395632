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
    expect([...methods].sort()).toEqual(['b1', 'full', 'm1', 'm2', 'm2p', 'm2w', 'shipped', 'threshold']);
    for (const r of metrics.runs) {
      expect(r.splits.train.rows).toBe(26049);
      expect(r.splits.test.rows).toBe(16281);
      expect(r.splits.finetune.rows).toBeGreaterThan(0);
    }
    // the whole network trains all its parameters, (106 x 64 + 64) + (64 x 32 + 32) + (32 + 1) for the 106 encoded
    // columns of the categories in seed 0's training split; a head trains 32 weights + 1 bias
    expect(runsOf(metrics.runs, 'full')[0]?.cost.parametersTrained).toBe(106 * 64 + 64 + (64 * 32 + 32) + (32 + 1));
    expect(runsOf(metrics.runs, 'm2')[0]?.cost.parametersTrained).toBe(33);
    // weighted M2 fits every row of train + validation (26,049 + 6,512); M2p the balanced sample of M2, moved
    expect(runsOf(metrics.runs, 'm2w')[0]?.cost.finetuneRows).toBe(26049 + 6512);
    expect(runsOf(metrics.runs, 'm2p')[0]?.cost.finetuneRows).toBe(runsOf(metrics.runs, 'm2')[0]?.cost.finetuneRows);
    // thresholds are chosen on validation (its fine-tuning set) to equalise TPR and FPR there
    const threshold = runsOf(metrics.runs, 'threshold')[0] as RunRecord;
    expect(threshold.splits.finetune.rows).toBe(6512);
    expect(threshold.splits.finetune.equalizedOddsDifference).toBeLessThan(0.05);
    const table = readFileSync(join(out, 'adult', 'table.md'), 'utf8');
    expect(table).toContain('| M2 + EO, alpha 5 (last layer, fair) | 1 |');
    expect(table).toContain('fairhead reproduce --experiment adult --quick');
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toContain('**adult** (UCI Adult, target income >50K');
    expect(readme).toContain("## M2's prior shift and two remedies");
    expect(readme).toContain('fairlearn: ExponentiatedGradient, EO constraint | 0.841 | 0.023 | 4.95 s');
    expect(existsSync(join(out, 'adult', 'gap-transfer.svg'))).toBe(true);
    // the MLP pre-trained here: its training curve, one entry per epoch (quick: 8)
    expect((JSON.parse(readFileSync(join(out, 'adult', 'run.json'), 'utf8')) as { curve: unknown[] }).curve.length).toBe(8);
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
    expect(metrics.runs.map((r) => r.method)).toEqual(['shipped', 'b1', 'm1', 'm2', 'm2w', 'm2p', 'm2', 'threshold', 'full']);
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
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('EO gap on the data fitted on / on test, alpha 5: full');
  }, 240_000);

  it('adult-overfit-mlp: the ERM MLP trained to its last epoch, then the whole network trained further from its weights with the penalty', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fairhead-repro-overfit-mlp-'));
    const [output] = await runReproduce({ experiments: ['adult-overfit-mlp'], quick: true, out, cacheDir: join(out, 'cache') });
    const runs = output?.metrics.runs ?? [];
    expect(runs.map((r) => r.method)).toEqual(['shipped', 'b1', 'm1', 'm2', 'm2w', 'm2p', 'm2', 'threshold', 'full']);
    const shipped = runsOf(runs, 'shipped')[0] as RunRecord;
    const full = runsOf(runs, 'full')[0] as RunRecord;
    // quick: hidden 64 x 64 on Adult's 106 encoded columns; the whole network trains every weight, a head 64 + 1
    expect(full.cost.parametersTrained).toBe(106 * 64 + 64 + (64 * 64 + 64) + (64 + 1));
    expect(shipped.cost.parametersTrained).toBe(full.cost.parametersTrained);
    expect(runsOf(runs, 'm1')[0]?.cost.parametersTrained).toBe(65);
    expect(full.cost.iterations).toBe(1);
    const info = JSON.parse(readFileSync(join(out, 'adult-overfit-mlp', 'run.json'), 'utf8')) as { curve: { epoch: number; trainAccuracy: number }[]; notes: string[] };
    expect(info.curve.map((e) => e.epoch)).toEqual([1, 2]);
    expect(info.notes.join(' ')).toContain('the last one kept (no early stopping)');
    expect(info.notes.join(' ')).toContain('full: the ERM network above trained further, every layer, from its weights');
    const table = readFileSync(join(out, 'adult-overfit-mlp', 'table.md'), 'utf8');
    expect(table).toContain('## Over-fitting: accuracy and EO gap on the training split, on the fine-tuning set and on test');
    expect(table).toContain('| full + EO, alpha 5 (whole network) | 1 |');
    expect(table).toContain('## Training curve of the ERM network');
    expect(table).toContain('fairlearn: ThresholdOptimizer for EO');
    const svg = readFileSync(join(out, 'adult-overfit-mlp', 'gap-transfer.svg'), 'utf8');
    expect(svg).toContain('data-series="Full network"');
  }, 240_000);

  it('utkface-overfit-cnn: the CNN trained without augmentation to its last epoch, and whole-network runs from its weights, on 200 generated images', async () => {
    const out = mkdtempSync(join(tmpdir(), 'fairhead-repro-overfit-cnn-'));
    const [output] = await runReproduce({ experiments: ['utkface-overfit-cnn'], quick: true, out, utkface, subset: 200, cacheDir: join(out, 'cache') });
    const runs = output?.metrics.runs ?? [];
    expect(runs.map((r) => r.method)).toEqual(['shipped', 'b1', 'm1', 'm2', 'm2w', 'm2p', 'm2', 'threshold', 'full']);
    const shipped = runsOf(runs, 'shipped')[0] as RunRecord;
    const full = runsOf(runs, 'full')[0] as RunRecord;
    expect(full.cost.parametersTrained).toBe(shipped.cost.parametersTrained);
    // quick: channels 4, 8, 16, 32: the heads train 32 weights + 1 bias on the 32-d embedding
    expect(runsOf(runs, 'm2w')[0]?.cost.parametersTrained).toBe(33);
    expect(full.splits.test.rows).toBe(shipped.splits.test.rows);
    const info = JSON.parse(readFileSync(join(out, 'utkface-overfit-cnn', 'run.json'), 'utf8')) as { curve: unknown[]; notes: string[]; command: string };
    expect(info.curve.length).toBe(2);
    expect(info.notes.join(' ')).toContain('without augmentation');
    expect(info.command).toContain('fairhead reproduce --experiment utkface-overfit-cnn --quick');
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('**utkface-overfit-cnn**');
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
