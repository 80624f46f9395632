import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fairhead, listFiles, QUICK_RUN, tinyCsv, tinyRow } from './cli.ts';

const SCRIPT = '<script>alert(1)</script>';
const MODEL_FILES = ['model/backbone.json', 'model/manifest.json'];
const OUTPUTS = ['metrics.json', ...MODEL_FILES, 'report.html', 'report.md'];

describe('security: user strings in the HTML report', { timeout: 180_000 }, () => {
  it('a group named <script>alert(1)</script> is escaped in report.html, through the real `fairhead run`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-xss-'));
    const rows = ['age,hours,color,sex,y'];
    for (let i = 0; i < 60; i++) {
      const f = tinyRow(i);
      rows.push([f[0], f[1], f[2], f[3] === 'F' ? `"${SCRIPT}"` : '"M & <b>"', f[4]].join(','));
    }
    writeFileSync(join(dir, 'data.csv'), `${rows.join('\n')}\n`);
    const r = await fairhead(['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', ...QUICK_RUN, '--out', 'out'], dir);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<b>"');
    expect(html).toContain('M &amp; &lt;b&gt;');
    // the group names are kept as they are in the data files (JSON escapes them itself)
    const manifest = JSON.parse(readFileSync(join(dir, 'out', 'model', 'manifest.json'), 'utf8')) as { input: { encoding: { groupNames: string[] } } };
    expect(manifest.input.encoding.groupNames).toContain(SCRIPT);
  });
});

describe('security: outputs go exactly under the resolved --out path, nowhere else', { timeout: 180_000 }, () => {
  // Rule: a run writes only under path.resolve(--out) (its ".." segments resolved like any path), plus the
  // embedding cache under --cache-dir for image and ONNX inputs. The files are fixed names (metrics.json,
  // report.html, report.md, model/...): no user string (group, column, file name) becomes part of a path.
  it('--out with ".." and "." segments writes the five outputs at the resolved folder and creates nothing else', async () => {
    const sandbox = mkdtempSync(join(tmpdir(), 'fairhead-out-'));
    const work = join(sandbox, 'work');
    mkdirSync(work);
    writeFileSync(join(work, 'data.csv'), tinyCsv());
    const before = listFiles(sandbox);
    const r = await fairhead(['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', ...QUICK_RUN, '--out', '../runs/x/.././y/../final'], work);
    expect(r.code, r.stderr).toBe(0);
    const created = listFiles(sandbox).filter((f) => !before.includes(f));
    expect(created).toEqual(OUTPUTS.map((f) => `runs/final/${f}`).sort());
    expect(existsSync(join(sandbox, 'runs', 'x'))).toBe(false); // ".." segments never materialise as folders
  });

  it('a group or column name that looks like a path creates no file of that name', async () => {
    const sandbox = mkdtempSync(join(tmpdir(), 'fairhead-out-'));
    const rows = ['age,../../escape,color,sex,y'];
    for (let i = 0; i < 60; i++) {
      const f = tinyRow(i);
      rows.push([f[0], f[1], f[2], f[3] === 'F' ? '../../../pwned' : '/tmp/abs', f[4]].join(','));
    }
    writeFileSync(join(sandbox, 'data.csv'), `${rows.join('\n')}\n`);
    const r = await fairhead(['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', ...QUICK_RUN, '--out', 'out'], sandbox);
    expect(r.code, r.stderr).toBe(0);
    expect(listFiles(sandbox)).toEqual(['data.csv', ...OUTPUTS.map((f) => `out/${f}`)].sort());
  });
});

describe('security: loading a model never evaluates code', { timeout: 180_000 }, () => {
  let base: string;
  let reference: string;

  beforeAll(async () => {
    base = mkdtempSync(join(tmpdir(), 'fairhead-model-'));
    writeFileSync(join(base, 'data.csv'), tinyCsv());
    writeFileSync(join(base, 'new.csv'), tinyCsv(6));
    const r = await fairhead(['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', ...QUICK_RUN, '--method', 'b1', '--out', 'out'], base);
    expect(r.code, r.stderr).toBe(0);
    const p = await fairhead(['predict', '--model', 'out/model', '--data', 'new.csv'], base);
    expect(p.code, p.stderr).toBe(0);
    reference = p.stdout;
  }, 180_000);

  /** A copy of the model folder with its manifest text replaced by `edit(text)`. */
  function spoiled(name: string, edit: (text: string) => string): string {
    const dir = join(base, name);
    cpSync(join(base, 'out', 'model'), dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), edit(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    return dir;
  }

  it('a manifest with "__proto__" and "constructor" keys pollutes nothing: the predictions are unchanged', async () => {
    const dir = spoiled('proto', (t) =>
      t
        .replace(/^\{/, '{ "__proto__": { "threshold": 2, "polluted": "yes" }, "constructor": { "prototype": { "polluted": "yes" } },')
        .replace('"head": {', '"head": { "__proto__": { "outputs": 7 },'),
    );
    const p = await fairhead(['predict', '--model', dir, '--data', 'new.csv'], base);
    expect(p.stderr).toBe('');
    expect(p.code).toBe(0);
    expect(p.stdout).toBe(reference);
  });

  it('JavaScript in manifest strings is never run', async () => {
    const marker = join(base, 'pwned');
    const js = `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`;
    const dir = spoiled('js', (t) => {
      const m = JSON.parse(t) as Record<string, unknown>;
      return JSON.stringify({ ...m, createdAt: `\${${js}}`, target: js, run: { ...(m['run'] as object), method: `(() => ${js})()` } });
    });
    const p = await fairhead(['predict', '--model', dir, '--data', 'new.csv'], base);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toBe(reference);
    expect(existsSync(marker)).toBe(false);
  });

  it('a model from a newer format version is refused with exit 2 and one line', async () => {
    const dir = spoiled('v2', (t) => t.replace('"version": 1', '"version": 2'));
    const p = await fairhead(['predict', '--model', dir, '--data', 'new.csv'], base);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/^fairhead: .*manifest\.json: model format version 2 is newer than this fairhead reads \(1\); upgrade fairhead\n$/);
  });

  it('a manifest whose threshold is not a number is refused', async () => {
    const dir = spoiled('threshold', (t) => t.replace(/"threshold": [0-9.]+/, '"threshold": "0.5"'));
    const p = await fairhead(['predict', '--model', dir, '--data', 'new.csv'], base);
    expect(p.code).toBe(2);
    expect(p.stderr).toMatch(/^fairhead: .*manifest\.json: threshold should be a number in \[0, 1\], received "0\.5"\n$/);
  });
});
