import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fairhead, QUICK_RUN, tinyCsv } from './cli.ts';

/** metrics.json without what may differ between two identical runs: the clock (createdAt, seconds) only. */
function withoutClock(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutClock);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([k]) => k !== 'createdAt' && k !== 'seconds' && k !== 'backboneSeconds')
        .map(([k, v]) => [k, withoutClock(v)]),
    );
  }
  return value;
}

const read = (dir: string, file: string): unknown => JSON.parse(readFileSync(join(dir, file), 'utf8'));

describe('determinism', { timeout: 180_000 }, () => {
  it('the same `fairhead run` and seeds give identical model weights and identical metrics (but the measured seconds)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-determinism-'));
    writeFileSync(join(dir, 'data.csv'), tinyCsv());
    const args = (out: string): string[] => [
      'run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--method', 'm2', '--constraint', 'eo', '--seed', '3', '--split-seed', '1',
      ...QUICK_RUN, '--bootstrap', '30', '--out', out,
    ];
    const [a, b] = [await fairhead(args('a'), dir), await fairhead(args('b'), dir)];
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    // weights: byte-identical files (the backbone) and equal manifests but for the creation time
    expect(readFileSync(join(dir, 'b/model/backbone.json'), 'utf8')).toBe(readFileSync(join(dir, 'a/model/backbone.json'), 'utf8'));
    expect(withoutClock(read(dir, 'b/model/manifest.json'))).toEqual(withoutClock(read(dir, 'a/model/manifest.json')));
    expect(withoutClock(read(dir, 'b/metrics.json'))).toEqual(withoutClock(read(dir, 'a/metrics.json')));
    // the comparison is not vacuous: the files hold trained weights and bootstrap intervals
    const manifest = read(dir, 'a/model/manifest.json') as { head: { weights: number[] } };
    expect(manifest.head.weights.some((w) => w !== 0)).toBe(true);
    expect(readFileSync(join(dir, 'a/metrics.json'), 'utf8')).toMatch(/"low"|interval/i);
  });

  it('another seed gives another model (the seed is used)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-determinism-'));
    writeFileSync(join(dir, 'data.csv'), tinyCsv());
    const args = (out: string, seed: string): string[] => ['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--split-seed', seed, ...QUICK_RUN, '--out', out];
    const [a, b] = [await fairhead(args('a', '1'), dir), await fairhead(args('b', '2'), dir)];
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(join(dir, 'b/model/backbone.json'), 'utf8')).not.toBe(readFileSync(join(dir, 'a/model/backbone.json'), 'utf8'));
  });
});
