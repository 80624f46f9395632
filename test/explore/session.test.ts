/**
 * The explore session without a browser, on a synthetic set of embeddings: its heads are those of the pipeline,
 * stale requests are superseded, the sweep fills the curve, and save writes what run writes.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExploreSession, SupersededError } from '../../src/explore/session.ts';
import { ALPHA_STEPS, type ExploreState } from '../../src/explore/state.ts';
import { finetuneAndEvaluate } from '../../src/pipeline/finetune.ts';
import type { PreparedData } from '../../src/pipeline/prepare.ts';
import type { MetricsFile } from '../../src/report/schema.ts';
import { makeSynth } from '../support/synth.ts';

const synth = makeSynth({ nTrain: 3000, nVal: 1000, nTest: 1000, d: 16, factors: 4, seed: 11 });
const prepared: PreparedData = {
  train: synth.train,
  validation: synth.val,
  test: synth.test,
  dataset: 'synth',
  input: { kind: 'embeddings' },
  warnings: [],
  backbone: { kind: 'embeddings', spec: 'embeddings', parameterCount: 0, seconds: 0 },
};
const sensitive = ['attribute'];
const out = mkdtempSync(join(tmpdir(), 'fairhead-session-'));
const sessions: ExploreSession[] = [];
function session(sweep: boolean): ExploreSession {
  const s = new ExploreSession({ prepared, task: { target: 'y', sensitive }, record: { embeddings: '/data/synth.parquet', target: 'y', sensitive }, out, sweep });
  sessions.push(s);
  return s;
}
afterAll(async () => {
  for (const s of sessions) await s.close();
});

describe('ExploreSession', () => {
  it('shows the head and metrics the pipeline gives for the same options, and fits each head once', async () => {
    const s = session(false);
    const state: ExploreState = { ...s.initial, method: 'm1', constraint: 'dp', alpha: 2, seed: 3 };
    const view = await s.view(state);
    const direct = await finetuneAndEvaluate(prepared, { method: 'm1', constraint: 'dp', alpha: 2, optimizer: 'lbfgs', seed: 3 });
    expect(view.record.splits).toEqual(direct.record.splits);
    expect(view.cached).toBe(false);
    expect(view.baseline.method).toBe('b1');
    expect(view.command).toBe(`fairhead run --embeddings /data/synth.parquet --target y --sensitive attribute --method m1 --constraint dp --alpha 2 --seed 3 --out ${out}`);
    const again = await s.view({ ...state, tolerance: 0.1, performance: ['auc'] });
    expect(again.cached).toBe(true);
    expect(again.record).toEqual(view.record);
    expect(again.fragments.metrics).toContain('id="metric-auc"');
  });

  it('a newer request supersedes a stale one; requests for the same head share its fit', async () => {
    const s = session(false);
    const states = [0.5, 5, 50].map((alpha) => ({ ...s.initial, alpha }));
    const [first, second, third] = states.map((st) => s.view(st));
    await expect(first).rejects.toBeInstanceOf(SupersededError);
    await expect(second).rejects.toBeInstanceOf(SupersededError);
    expect((await third!).record.alpha).toBe(50);
    const same = { ...s.initial, alpha: 7 };
    const [a, b] = await Promise.all([s.view(same), s.view({ ...same, baseline: 'b1' })]);
    expect(a.record).toEqual(b.record);
  });

  it('prefetch fits the first head and its baseline before the page asks', async () => {
    const s = session(false);
    s.prefetch();
    expect(s.backgroundPending).toBe(2);
    for (let i = 0; i < 600 && s.backgroundPending > 0; i++) await new Promise((r) => setTimeout(r, 20));
    const view = await s.view(s.initial);
    expect(view.cached).toBe(true);
    expect(view.baseline.method).toBe('b1');
  });

  it('the background sweep fits every strength of the slider, and the curve shows them', async () => {
    const s = session(true);
    const view = await s.view(s.initial);
    expect(view.curve.total).toBe(ALPHA_STEPS.length);
    for (let i = 0; i < 600 && s.backgroundPending > 0; i++) await new Promise((r) => setTimeout(r, 50));
    const curve = s.curve(s.initial);
    expect(curve.done).toBe(ALPHA_STEPS.length);
    expect(curve.html.match(/class="point/g)).toHaveLength(ALPHA_STEPS.length + 1); // and the baseline
    // a slider position the sweep has fitted is a cache hit
    expect((await s.view({ ...s.initial, alpha: ALPHA_STEPS[30] as number })).cached).toBe(true);
  });

  it('saves what run writes: model folder, metrics.json (with the options of the command), report.html, report.md', async () => {
    const s = session(false);
    const state: ExploreState = { ...s.initial, mode: 'target', maxGap: 0.04 };
    const saved = await s.save(state);
    expect(saved.command).toMatch(/ --method m2 --constraint eo --max-gap 0\.04 --seed 0 --out /);
    for (const f of ['metrics.json', 'report.html', 'report.md', 'model/manifest.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as MetricsFile;
    expect(metrics.context.options).toMatchObject({ method: 'm2', constraint: 'eo', maxGap: 0.04, seed: 0, embeddings: '/data/synth.parquet' });
    const run = metrics.runs.at(-1)!;
    expect(run.maxGap).toBe(0.04);
    expect(run.splits.test.intervals).toBeDefined(); // 200 bootstrap resamples, as run
  });
});
