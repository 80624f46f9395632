/**
 * `fairhead demo` chooses the model it saves by a rule stated on validation data (sweep's --select rule), and says
 * the rule in metrics.json and in both reports (issue 25: it used to save M2 + EO whatever the numbers said).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_SELECT, runDemo } from '../../src/pipeline/demo.ts';
import type { MetricsFile, RunRecord } from '../../src/report/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'fairhead-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let metrics: MetricsFile;

beforeAll(async () => {
  ({ metrics } = await runDemo(dir));
}, 180_000);

const validation = (r: RunRecord): NonNullable<RunRecord['splits']['validation']> => r.splits.validation as NonNullable<RunRecord['splits']['validation']>;

describe('the demo\'s chosen model', () => {
  it('is the most accurate fine-tuned run on validation with an equalized-odds difference of at most 0.05', () => {
    expect(DEMO_SELECT).toBe('equalizedOddsDifference<=0.05');
    // the rule, applied here by hand: the shipped head is the baseline, not a candidate
    const candidates = metrics.runs.map((r, i) => i).filter((i) => metrics.runs[i]!.method !== 'shipped');
    const meeting = candidates.filter((i) => validation(metrics.runs[i]!).equalizedOddsDifference <= 0.05);
    expect(meeting.length).toBeGreaterThan(0);
    const best = meeting.reduce((a, b) => (validation(metrics.runs[b]!).accuracy > validation(metrics.runs[a]!).accuracy ? b : a));
    expect(metrics.selection).toEqual({ run: best, metric: 'equalizedOddsDifference', bound: 0.05, split: 'validation', boundMet: true });
  });

  it('is not beaten on validation by another run on both accuracy and the gap', () => {
    const chosen = validation(metrics.runs[metrics.selection!.run]!);
    for (const r of metrics.runs) {
      const v = validation(r);
      expect(v.accuracy > chosen.accuracy && v.equalizedOddsDifference < chosen.equalizedOddsDifference, `${r.method} ${r.constraint}`).toBe(false);
    }
  });

  it('is the model saved in model/', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'model', 'manifest.json'), 'utf8')) as { run: RunRecord };
    const chosen = metrics.runs[metrics.selection!.run]!;
    expect([manifest.run.method, manifest.run.constraint, manifest.run.alpha]).toEqual([chosen.method, chosen.constraint, chosen.alpha]);
    expect(manifest.run.splits.test.accuracy).toBe(chosen.splits.test.accuracy);
  });

  it('is explained by its rule in report.md and report.html', () => {
    const rule = 'the most accurate run whose equalized-odds difference on the validation data is at most 0.05 (--select equalizedOddsDifference<=0.05)';
    expect(readFileSync(join(dir, 'report.md'), 'utf8')).toContain(`— ${rule.replace('<', '\\<')}.`);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain(`— ${rule.replace('<', '&lt;')}.`);
    expect(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')).selection).toEqual(metrics.selection);
  });
});
