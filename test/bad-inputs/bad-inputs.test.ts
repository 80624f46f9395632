import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fairhead, listFiles, QUICK_RUN, tinyCsv } from '../hardening/cli.ts';
import { CATALOGUE, type CatalogueContext } from './catalogue.ts';

const root = mkdtempSync(join(tmpdir(), 'fairhead-bad-inputs-'));
let ctx: CatalogueContext;

beforeAll(async () => {
  // one real model folder, copied (and spoiled) by the model cases
  const dir = join(root, 'base');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir);
  writeFileSync(join(dir, 'data.csv'), tinyCsv());
  const r = await fairhead(['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--out', 'out', '--method', 'b1', ...QUICK_RUN], dir);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  ctx = { modelDir: join(dir, 'out', 'model') };
}, 180_000);

describe('the bad-input catalogue', () => {
  it('has at least 30 bad inputs, unique names, and README.md lists every case with its kind', () => {
    const bad = CATALOGUE.filter((c) => c.kind === 'bad');
    expect(bad.length).toBeGreaterThanOrEqual(30);
    const ids = CATALOGUE.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    for (const c of CATALOGUE) expect(readme, c.id).toMatch(new RegExp(`^\\| \`${c.id}\` \\| ${c.kind} \\|`, 'm'));
  });
});

describe.concurrent('fairhead on each catalogued input', { timeout: 180_000 }, () => {
  for (const c of CATALOGUE) {
    const title =
      c.kind === 'bad'
        ? `${c.id}: ${c.what} -> exit 2 with one line naming the place, nothing written`
        : `${c.id}: ${c.what} -> read correctly`;
    (c.knownBug !== undefined ? it.fails : it)(c.knownBug !== undefined ? `${title} (KNOWN BUG: ${c.knownBug})` : title, async () => {
      const dir = mkdtempSync(join(root, `${c.id}-`));
      await c.setup(dir, ctx);
      const before = listFiles(dir);
      const r = await fairhead(c.args, dir);
      if (c.kind === 'bad') {
        expect(r.stdout).toBe('');
        expect(r.stderr.endsWith('\n')).toBe(true);
        const lines = r.stderr.slice(0, -1).split('\n');
        expect(lines, r.stderr).toHaveLength(1);
        const line = lines[0] as string;
        expect(line).toMatch(/^fairhead: /);
        expect(line).not.toMatch(/internal error|\bat .*:\d+:\d+/);
        expect(line).toMatch(c.message as RegExp);
        expect(r.code).toBe(2);
        // nothing written: no output folder content, no temporary files left anywhere in the case folder
        expect(listFiles(join(dir, 'out'))).toEqual([]);
        expect(listFiles(dir).filter((f) => !before.includes(f) && !f.startsWith('cache/'))).toEqual([]);
      } else {
        expect(r.code, r.stderr).toBe(0);
        c.check?.(r, dir);
        expect(listFiles(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
      }
    });
  }
});
