import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeSynth, writeSynthCsv } from '../support/synth.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { notConvergedWarning, runRecord } from '../../src/pipeline/finetune.ts';
import type { PreparedData } from '../../src/pipeline/prepare.ts';
import { fitHead } from '../../src/train/fit.ts';
import { buildReport } from '../../src/report/build-report.ts';
import { runSweep } from '../../src/pipeline/sweep.ts';
import { predictWithModel } from '../../src/pipeline/predict.ts';
import { prepareData } from '../../src/pipeline/prepare.ts';
import { evaluateHead } from '../../src/pipeline/evaluate.ts';
import { loadModelBundle } from '../../src/export/model-bundle.ts';
import type { MetricsFile } from '../../src/report/schema.ts';
import { makeRandomMlpClassifier } from '../fixtures/make-onnx-model.ts';

const adultTrain = new URL('../../data/adult/adult.data', import.meta.url).pathname;
const adultTest = new URL('../../data/adult/adult.test', import.meta.url).pathname;

let dir: string;
let adultSmall: string;
let adultSmallTest: string;
let embeddingsCsv: string;

/** The first `rows` data rows of a CSV (header kept). */
function head(file: string, rows: number, out: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  writeFileSync(out, `${lines.slice(0, rows + 1).join('\n')}\n`);
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fairhead-pipeline-'));
  adultSmall = head(adultTrain, 4000, join(dir, 'adult-small.csv'));
  adultSmallTest = head(adultTest, 2000, join(dir, 'adult-small-test.csv'));
  const synth = makeSynth({ nTrain: 6000, nVal: 0, nTest: 0, d: 24, seed: 3, cellProbs: [0.4, 0.35, 0.2, 0.05] });
  embeddingsCsv = join(dir, 'emb.csv');
  await writeSynthCsv(synth.train, embeddingsCsv);
});

describe('fairhead run on tabular data with the mlp backbone', () => {
  let metrics: MetricsFile;
  let out: string;
  beforeAll(async () => {
    out = join(dir, 'run-adult');
    const result = await runPipeline({
      data: adultSmall,
      testData: adultSmallTest,
      target: 'Y',
      positive: '>50K',
      sensitive: ['sex'],
      epochs: 3,
      method: 'm2',
      constraint: 'eo',
      alpha: 2,
      optimizer: 'lbfgs',
      seed: 0,
      out,
      bootstrap: 20,
    });
    metrics = result.metrics;
  });

  it('records the shipped MLP head and the fair head, with every split and the documented keys', () => {
    expect(metrics.runs.map((r) => r.method)).toEqual(['shipped', 'm2']);
    const m2 = metrics.runs[1]!;
    expect(m2.constraint).toBe('eo');
    expect(m2.alpha).toBe(2);
    for (const split of ['train', 'finetune', 'test'] as const) {
      const s = m2.splits[split];
      for (const key of ['accuracy', 'balancedAccuracy', 'auc', 'demographicParityDifference', 'demographicParityRatio', 'equalizedOddsDifference', 'equalizedOddsRatio', 'accuracyEqualityDifference', 'worstGroupAccuracy'] as const) {
        expect(Number.isFinite(s[key]), `${split}.${key}`).toBe(true);
      }
      expect(Object.keys(s.byGroup).sort()).toEqual(['Female', 'Male']);
    }
    expect(m2.splits.test.rows).toBe(2000);
    expect(m2.splits.test.intervals?.['accuracy']).toHaveLength(2);
    expect(m2.cost.parametersTrained).toBeLessThan(m2.cost.parametersTotal);
    expect(m2.cost.finetuneRows).toBeGreaterThan(0);
    expect(m2.cost.converged).toBe(true);
    // a run marked not converged says so in the report's cost table
    const capped = { ...metrics, runs: metrics.runs.map((r, i) => (i === 1 ? { ...r, cost: { ...r.cost, converged: false } } : r)) };
    expect(JSON.stringify(buildReport(capped))).toContain(`lbfgs (${m2.cost.iterations} it., not converged)`);
    expect(JSON.stringify(buildReport(metrics))).not.toContain('not converged');
  });

  it('writes metrics.json, report.html, report.md and a model folder', () => {
    for (const f of ['metrics.json', 'report.html', 'report.md', 'model/manifest.json', 'model/backbone.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    const written = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as MetricsFile;
    expect(written.runs).toHaveLength(2);
  });

  it('predicts new rows from the model folder without the sensitive column, matching the evaluated accuracy', async () => {
    // drop the sensitive column and the target from the prediction input: neither is needed
    const table = readFileSync(adultSmallTest, 'utf8').trim().split('\n').map((l) => l.split(', '));
    const header = table[0]!;
    const keep = header.map((h, j) => (h === 'sex' || h === 'Y' ? -1 : j)).filter((j) => j >= 0);
    const noSensitive = join(dir, 'no-sensitive.csv');
    writeFileSync(noSensitive, `${table.map((r) => keep.map((j) => r[j]).join(',')).join('\n')}\n`);
    const p = await predictWithModel(join(out, 'model'), { data: noSensitive });
    expect(p.ids).toHaveLength(2000);
    const truth = table.slice(1).map((r) => (r[header.indexOf('Y')]!.startsWith('>50K') ? 1 : 0));
    const correct = truth.filter((t, i) => t === p.predicted[i]).length;
    expect(correct / truth.length).toBeCloseTo(metrics.runs[1]!.splits.test.accuracy, 10);
  });
});

describe('a fit stopped before its tolerance', () => {
  it('is recorded as not converged, named in a warning and in the report; a converged fit is not', async () => {
    const set = makeSynth({ nTrain: 800, nVal: 0, nTest: 0, d: 8, factors: 4, seed: 4 }).train;
    const prepared = { backbone: { parameterCount: 0, seconds: 0 } } as unknown as PreparedData;
    const options = { method: 'm1', constraint: 'eo', alpha: 5, seed: 2, optimizer: 'lbfgs' } as const;
    const split = { train: undefined, finetune: undefined, test: undefined } as never;
    const capped = runRecord(prepared, options, await fitHead(set, { constraint: 'eo', alpha: 5, maxIterations: 2 }), split, 800);
    const done = runRecord(prepared, options, await fitHead(set, { constraint: 'eo', alpha: 5 }), split, 800);
    expect(capped.cost.converged).toBe(false);
    expect(done.cost.converged).toBe(true);
    expect(notConvergedWarning(capped)).toBe('m1 + eo, alpha 5, seed 2: L-BFGS stopped after 2 iterations, before its tolerance; the head is the last iterate, not the optimum');
    expect(notConvergedWarning(done)).toBeUndefined();
    const paper = runRecord(prepared, { ...options, optimizer: 'paper' }, await fitHead(set, { constraint: 'eo', alpha: 5, optimizer: 'paper', maxIterations: 3 }), split, 800);
    expect(paper.cost.converged).toBeUndefined();
  });
});

describe('fairhead sweep on user embeddings', () => {
  it('trains the grid, finds a Pareto front, and selects a run whose validation gap meets the bound', async () => {
    const out = join(dir, 'sweep');
    const result = await runSweep({
      embeddings: embeddingsCsv,
      backbone: 'embeddings',
      target: 'y',
      sensitive: ['a'],
      methods: ['b1', 'm2'],
      constraints: ['eo'],
      alphas: [1, 10],
      seeds: 1,
      optimizer: 'lbfgs',
      select: 'equalizedOddsDifference<=0.15',
      out,
    });
    expect(result.metrics.runs.map((r) => `${r.method}:${r.alpha}`)).toEqual(['b1:0', 'm2:1', 'm2:10']);
    expect(result.front.length).toBeGreaterThan(0);
    const chosen = result.metrics.runs[result.selected]!;
    if (result.boundMet) expect(chosen.splits.validation!.equalizedOddsDifference).toBeLessThanOrEqual(0.15);
    const b1 = result.metrics.runs[0]!;
    const m2 = result.metrics.runs[2]!;
    // the penalty must actually reduce the gap on held-out data for this strongly biased set
    expect(m2.splits.test.equalizedOddsDifference).toBeLessThan(b1.splits.test.equalizedOddsDifference);
    const model = loadModelBundle(join(out, 'model'));
    expect(model.manifest.run.method).toBe(chosen.method);
  });
});

describe('fairhead run with an ONNX backbone', () => {
  it('uses the model\'s own features, evaluates its shipped head and exports a fair ONNX model that predict runs', async () => {
    // a CSV with 6 numeric features, a label and a group; the ONNX classifier takes the 6 features
    const rows: string[] = ['x1,x2,x3,x4,x5,x6,label,group'];
    let s = 7;
    const rand = (): number => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (let i = 0; i < 1200; i++) {
      const x = Array.from({ length: 6 }, rand);
      const g = i % 3 === 0 ? 'b' : 'a';
      const y = x[0]! + 0.5 * x[1]! + (g === 'b' ? 0.4 : 0) + 0.3 * rand() > 0 ? 1 : 0;
      rows.push(`${x.map((v) => v.toFixed(4)).join(',')},${y},${g}`);
    }
    const csv = join(dir, 'onnx-rows.csv');
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const modelFile = join(dir, 'classifier.onnx');
    writeFileSync(modelFile, makeRandomMlpClassifier([6, 8, 2], 5));
    const out = join(dir, 'run-onnx');
    const result = await runPipeline({
      data: csv,
      backbone: `onnx:${modelFile}`,
      target: 'label',
      sensitive: ['group'],
      method: 'm1',
      constraint: 'dp',
      alpha: 1,
      optimizer: 'lbfgs',
      seed: 0,
      out,
    });
    expect(result.metrics.runs.map((r) => r.method)).toEqual(['shipped', 'm1']);
    expect(existsSync(join(out, 'model', 'model.onnx'))).toBe(true);
    const p = await predictWithModel(join(out, 'model'), { data: csv });
    // every row in train (no split): the library's embeddings of the original model + the fair head
    const all = await prepareData({ data: csv, backbone: `onnx:${modelFile}`, target: 'label', sensitive: ['group'], validationFraction: 0, testFraction: 0 });
    const model = loadModelBundle(join(out, 'model'));
    const libScores = model.head.positiveScore(all.train.x);
    expect(p.scores.length).toBe(1200);
    let worst = 0;
    for (let i = 0; i < 1200; i++) worst = Math.max(worst, Math.abs(libScores[i]! - p.scores[i]!));
    expect(worst).toBeLessThan(1e-5);
    const prepared = await prepareData({ data: csv, backbone: `onnx:${modelFile}`, target: 'label', sensitive: ['group'] });
    expect(evaluateHead(model.head, prepared.test).accuracy).toBeCloseTo(result.metrics.runs[1]!.splits.test.accuracy, 10);
  });
});

describe('prepareData on a CSV with an identifier column', () => {
  it('warns that the column looks like an identifier and names the --drop that leaves it out', async () => {
    const rows = ['id,x,group,y'];
    for (let i = 0; i < 120; i++) rows.push(`row-${i},${(i % 10) / 10},${i % 2 ? 'a' : 'b'},${i % 3 === 0 ? 1 : 0}`);
    const csv = join(dir, 'with-id.csv');
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const warnings: string[] = [];
    await prepareData({ data: csv, target: 'y', sensitive: ['group'], epochs: 1, hidden: [4] }, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/column "id" has 72 distinct values in 72 training rows and looks like an identifier; .*--drop id\)$/);
  });
});
