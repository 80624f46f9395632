/**
 * `fairhead explore --from DIR` reads a run's folder again (its recorded options and head), through the real CLI;
 * and the command's own mistakes (an old folder, a port in use) exit 2 with one line.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricsFile } from '../../src/report/schema.ts';
import { fairhead, QUICK_RUN, tinyCsv } from '../hardening/cli.ts';
import { startExplore } from './explore-cli.ts';

describe('fairhead explore --from', { timeout: 240_000 }, () => {
  it('opens on the head of a run folder, from another working folder, and shows the metrics the run wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-explore-from-'));
    writeFileSync(join(dir, 'data.csv'), tinyCsv(120));
    const run = await fairhead(['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--method', 'm1', '--constraint', 'dp', '--alpha', '2', '--seed', '1', ...QUICK_RUN, '--out', 'out'], dir);
    expect(run.code, run.stderr).toBe(0);
    const written = (JSON.parse(readFileSync(join(dir, 'out', 'metrics.json'), 'utf8')) as MetricsFile).runs.at(-1)!;
    // another folder: the recorded paths are absolute
    const elsewhere = mkdtempSync(join(tmpdir(), 'fairhead-explore-elsewhere-'));
    const explore = await startExplore(['--from', join(dir, 'out'), '--quiet'], elsewhere);
    try {
      const page = await fetch(explore.url);
      const initial = JSON.parse(/data-initial="([^"]*)"/.exec(await page.text())![1]!.replace(/&quot;/g, '"')) as Record<string, unknown>;
      expect(initial).toMatchObject({ method: 'm1', constraint: 'dp', alpha: 2, seed: 1, mode: 'alpha' });
      const view = await fetch(`${explore.origin}/api/view`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-fairhead-token': explore.token }, body: JSON.stringify(initial) });
      const { record } = (await view.json()) as { record: MetricsFile['runs'][number] };
      expect(record).toMatchObject({ method: 'm1', constraint: 'dp', alpha: 2, seed: 1 });
      expect(record.splits.test).toEqual(written.splits.test);
    } finally {
      await explore.stop();
    }
  });

  it('a folder whose metrics.json records no options, or a port in use, exits 2 with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-explore-from-'));
    const metrics = { format: 'fairhead.metrics', version: 1, context: { dataset: 'd', backbone: 'mlp', target: 'y', sensitive: ['sex'], createdAt: '2025-01-01T00:00:00Z' }, runs: [] };
    writeFileSync(join(dir, 'metrics.json'), JSON.stringify(metrics));
    const old = await fairhead(['explore', '--from', dir], dir);
    expect(old.code).toBe(2);
    expect(old.stderr.trim().split('\n')).toEqual([`fairhead: --from ${dir}: ${join(dir, 'metrics.json')} does not record the options of its command (written by an older fairhead); give the data flags (--data, --target, ...) instead`]);

    writeFileSync(join(dir, 'data.csv'), tinyCsv(120));
    const flags = ['--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--epochs', '2', '--hidden', '8', '--quiet'];
    const first = await startExplore(flags, dir);
    try {
      const second = await fairhead(['explore', ...flags, '--port', new URL(first.origin).port], dir);
      expect(second.code).toBe(2);
      expect(second.stderr.trim().split('\n')).toEqual([`fairhead: --port ${new URL(first.origin).port}: already in use; choose another or 0 for any free port`]);
    } finally {
      await first.stop();
    }
  });
});
