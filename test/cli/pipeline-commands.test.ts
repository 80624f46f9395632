import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { MetricsFile } from '../../src/report/schema.ts';
import { makeSynth, writeSynthCsv } from '../support/synth.ts';
import { makeRandomMlpClassifier } from '../fixtures/make-onnx-model.ts';

const bin = fileURLToPath(new URL('../../bin/fairhead.js', import.meta.url));

/** Run the real CLI; resolves with exit code, stdout and stderr. */
function fairhead(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'fairhead-cli-'));
});

describe('fairhead demo', () => {
  it('runs on the built-in Adult data, writes the report, and the fair head shrinks the test equalized-odds gap', async () => {
    const out = join(dir, 'demo');
    const r = await fairhead(['demo', '--out', out, '--quiet'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^method\s+constraint\s+alpha/);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as MetricsFile;
    const b1 = metrics.runs.find((x) => x.method === 'b1')!;
    const m2eo = metrics.runs.find((x) => x.method === 'm2' && x.constraint === 'eo')!;
    expect(b1.splits.test.rows).toBe(16281);
    expect(m2eo.splits.test.equalizedOddsDifference).toBeLessThan(b1.splits.test.equalizedOddsDifference);
    expect(m2eo.splits.test.accuracy).toBeGreaterThan(0.75);
    for (const f of ['report.html', 'report.md', 'model/manifest.json']) expect(existsSync(join(out, f)), f).toBe(true);
    // the saved run and the rule that chose it, printed under the table
    const chosen = metrics.runs[metrics.selection!.run]!;
    expect(r.stdout).toContain(
      `\nchosen operating point: ${chosen.method} ${chosen.constraint} alpha ${chosen.alpha} seed 0, the most accurate run whose equalized-odds difference on the validation data is at most 0.05 (--select equalizedOddsDifference<=0.05)\n`,
    );
  }, 180_000);
});

describe('run, export and predict through the CLI', () => {
  it('fine-tunes an ONNX classifier on CSV rows, exports the fair ONNX model, and predicts without the sensitive column', async () => {
    const synth = makeSynth({ nTrain: 1500, nVal: 0, nTest: 0, d: 20, seed: 5 });
    const csv = join(dir, 'rows.csv');
    await writeSynthCsv(synth.train, csv);
    writeFileSync(join(dir, 'net.onnx'), makeRandomMlpClassifier([20, 12, 2], 9));
    const out = join(dir, 'run-onnx');
    const run = await fairhead(['run', '--data', csv, '--backbone', 'onnx:net.onnx', '--target', 'y', '--sensitive', 'a', '--method', 'm1', '--constraint', 'eo', '--out', out, '--json'], dir);
    // 300 validation rows: one of its cells is thin, and the run says so (and nothing else)
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^warning: .*rows\.csv: the m1 fine-tuning set has only \d+ rows with label "\d" in group "\d": the eo penalty's rates/)]);
    expect(run.code).toBe(0);
    const metrics = JSON.parse(run.stdout) as MetricsFile;
    expect(metrics.runs.map((x) => x.method)).toEqual(['shipped', 'm1']);

    const exported = await fairhead(['export', '--model', join(out, 'model'), '--out', join(dir, 'fair.onnx'), '--quiet'], dir);
    expect(exported.code).toBe(0);
    expect(readFileSync(join(dir, 'fair.onnx')).equals(readFileSync(join(out, 'model', 'model.onnx')))).toBe(true);

    // new rows without the sensitive column a and without the label y
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    const header = lines[0]!.split(',');
    const keep = header.map((h, j) => (h === 'a' || h === 'y' ? -1 : j)).filter((j) => j >= 0);
    const blind = join(dir, 'blind.csv');
    writeFileSync(blind, `${lines.map((l) => { const c = l.split(','); return keep.map((j) => c[j]).join(','); }).join('\n')}\n`);
    const predicted = await fairhead(['predict', '--model', join(out, 'model'), '--data', blind], dir);
    expect(predicted.code).toBe(0);
    const rows = predicted.stdout.trim().split('\n');
    expect(rows[0]).toBe('id,prediction,score');
    expect(rows).toHaveLength(1501);
    for (const row of rows.slice(1, 20)) expect(row).toMatch(/^\d+,[01],[0-9.e-]+$/);
  }, 120_000);

  it('run --method m2w fits weighted M2 on every row of train + validation: M2\'s gap without its accuracy cost (Adult)', async () => {
    const adult = fileURLToPath(new URL('../../data/adult/', import.meta.url));
    const common = ['run', '--data', join(adult, 'adult.data'), '--test-data', join(adult, 'adult.test'), '--target', 'Y', '--positive', '>50K', '--sensitive', 'sex', '--epochs', '3', '--constraint', 'eo', '--alpha', '5', '--bootstrap', '0', '--json'];
    const [m2, m2w] = await Promise.all(['m2', 'm2w'].map((method) => fairhead([...common, '--method', method, '--out', join(dir, `run-${method}`)], dir)));
    expect([m2?.code, m2w?.code]).toEqual([0, 0]);
    const fair = (r: { stdout: string }, method: string) => (JSON.parse(r.stdout) as MetricsFile).runs.find((x) => x.method === method)!;
    const weighted = fair(m2w!, 'm2w');
    const sampled = fair(m2!, 'm2');
    const shipped = fair(m2w!, 'shipped');
    // 80 % of adult.data trains, 20 % validates: m2w fits all 32,561 rows, m2 a balanced sample of them
    expect(weighted.cost.finetuneRows).toBe(32561);
    expect(sampled.cost.finetuneRows).toBeLessThan(8000);
    expect(weighted.splits.test.accuracy).toBeGreaterThan(sampled.splits.test.accuracy + 0.03);
    expect(weighted.splits.test.equalizedOddsDifference).toBeLessThan(shipped.splits.test.equalizedOddsDifference / 2);
    expect(JSON.parse(readFileSync(join(dir, 'run-m2w', 'model', 'manifest.json'), 'utf8'))).toMatchObject({ run: { method: 'm2w' } });
  }, 180_000);

  it('exits 2 with one line naming the option for an unknown constraint', async () => {
    const r = await fairhead(['run', '--data', 'x.csv', '--target', 'y', '--sensitive', 'a', '--constraint', 'eq'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['fairhead: Unknown constraint "eq". Valid: eo, dp, eopp, di, ae, mmf']);
  });

  it('run --max-iterations caps L-BFGS: the run records its iterations as not converged and warns, even with --json or --quiet; 0 exits 2', async () => {
    const synth = makeSynth({ nTrain: 1200, nVal: 0, nTest: 0, d: 20, seed: 5 });
    const csv = join(dir, 'cap-emb.csv');
    await writeSynthCsv(synth.train, csv);
    const args = ['run', '--embeddings', csv, '--target', 'y', '--sensitive', 'a', '--method', 'm1', '--constraint', 'eo', '--alpha', '5', '--bootstrap', '0'];
    const capped = await fairhead([...args, '--max-iterations', '3', '--out', join(dir, 'cap-out')], dir);
    expect(capped.code).toBe(0);
    const run = (JSON.parse(readFileSync(join(dir, 'cap-out', 'metrics.json'), 'utf8')) as MetricsFile).runs.at(-1)!;
    expect([run.cost.iterations, run.cost.converged]).toEqual([3, false]);
    expect(capped.stderr).toContain('L-BFGS stopped after 3 iterations, before its tolerance');
    // --json and --quiet silence status lines, not warnings: stderr has the warning, stdout the JSON alone
    for (const flag of ['--json', '--quiet']) {
      const silent = await fairhead([...args, '--max-iterations', '3', '--out', join(dir, `cap-out${flag}`), flag], dir);
      expect(silent.code).toBe(0);
      const lines = silent.stderr.trim().split('\n');
      expect(lines.filter((l) => !l.includes('fine-tuning set has only'))).toEqual([expect.stringMatching(/^warning: .*L-BFGS stopped after 3 iterations, before its tolerance/)]);
      expect(lines.every((l) => l.startsWith('warning: '))).toBe(true);
      if (flag === '--json') expect((JSON.parse(silent.stdout) as MetricsFile).runs.at(-1)!.cost.converged).toBe(false);
      else expect(silent.stdout).not.toContain('warning');
    }
    const free = await fairhead([...args, '--out', join(dir, 'free-out'), '--json'], dir);
    const freeRun = (JSON.parse(free.stdout) as MetricsFile).runs.at(-1)!;
    expect(freeRun.cost.converged).toBe(true);
    expect(freeRun.cost.iterations).toBeGreaterThan(3);
    const zero = await fairhead([...args, '--max-iterations', '0', '--out', join(dir, 'zero-out')], dir);
    expect(zero.code).toBe(2);
    expect(zero.stderr.trim().split('\n')).toEqual(['fairhead: --max-iterations: expected an integer >= 1, received "0"']);
    expect(existsSync(join(dir, 'zero-out'))).toBe(false);
  }, 120_000);

  it('run --config reads the same keys as the flags, and a flag given on the command line overrides the file', async () => {
    const synth = makeSynth({ nTrain: 1200, nVal: 0, nTest: 0, d: 20, seed: 4 });
    const csv = join(dir, 'cfg-emb.csv');
    await writeSynthCsv(synth.train, csv);
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ embeddings: csv, target: 'y', sensitive: ['a'], method: 'm1', constraint: 'dp', alpha: 3, bootstrap: 0 }));
    const r = await fairhead(['run', '--config', 'run.json', '--alpha', '0.5', '--out', join(dir, 'cfg-out'), '--json'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout) as MetricsFile;
    const run = m.runs.at(-1)!;
    expect([run.method, run.constraint, run.alpha]).toEqual(['m1', 'dp', 0.5]);
  }, 120_000);

  it('report re-renders a metrics.json with another fairness metric and writes a PNG screenshot', async () => {
    const sample = fileURLToPath(new URL('../fixtures/metrics-sample.json', import.meta.url));
    const out = join(dir, 'rerendered');
    const r = await fairhead(['report', '--metrics', sample, '--out', out, '--fairness-metric', 'demographicParityDifference', '--screenshot', '--quiet'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(out, 'report.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('Demographic');
    const bad = await fairhead(['report', '--metrics', sample, '--out', out, '--fairness-metric', 'accuracy'], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^fairhead: Unknown fairness metric "accuracy"\. Valid: equalizedOddsDifference, /);
  }, 120_000);

  it('sweep --json reports the selected operating point and the Pareto front', async () => {
    const synth = makeSynth({ nTrain: 3000, nVal: 0, nTest: 0, d: 20, seed: 2, cellProbs: [0.4, 0.35, 0.2, 0.05] });
    const csv = join(dir, 'emb.csv');
    await writeSynthCsv(synth.train, csv);
    const r = await fairhead(['sweep', '--embeddings', csv, '--target', 'y', '--sensitive', 'a', '--methods', 'b1,m2', '--constraints', 'eo', '--alphas', '1,5', '--out', join(dir, 'sweep'), '--json'], dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as MetricsFile & { selected: number; front: number[] };
    expect(parsed.runs).toHaveLength(3);
    expect(parsed.front.length).toBeGreaterThan(0);
    expect(parsed.selected).toBeGreaterThanOrEqual(0);
    expect(existsSync(join(dir, 'sweep', 'model', 'manifest.json'))).toBe(true);
  }, 120_000);
});
