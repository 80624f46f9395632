import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rgbImageClassifier, writeImages } from '../bad-inputs/catalogue.ts';
import { fairhead, listFiles, startFairhead, tinyCsv } from './cli.ts';

/** A temporary file or folder of a writer (`NAME.PID.tmp`), anywhere in the path. */
const TEMP = /\.\d+\.tmp(\/|$)/;

/** A file with a final name is complete: JSON parses, HTML ends with </html>, Markdown is not empty. */
function expectComplete(out: string, file: string): void {
  const text = readFileSync(join(out, file), 'utf8');
  if (file.endsWith('.json')) expect(() => JSON.parse(text), file).not.toThrow();
  else if (file.endsWith('.html')) expect(text.trimEnd().endsWith('</html>'), file).toBe(true);
  else if (file.endsWith('.md')) expect(text.length, file).toBeGreaterThan(0);
  else throw new Error(`unexpected output ${file}`);
}

const SWEEP = ['sweep', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--epochs', '2', '--hidden', '6', '--alphas', '0.5,1,2,5', '--constraints', 'eo,dp', '--methods', 'b1,m1,m2', '--out', 'out', '--quiet'];
function sameFile(file: string, text: string): boolean {
  try {
    return readFileSync(file, 'utf8') === text;
  } catch {
    return false; // renamed away between the listing and the read
  }
}

const EXPECTED = ['metrics.json', 'model/backbone.json', 'model/manifest.json', 'report.html', 'report.md'];

describe('nothing lost when fairhead is killed', { timeout: 240_000 }, () => {
  it('a sweep killed with SIGKILL while it writes over an older output leaves only complete files and a consistent model; a re-run completes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-kill-'));
    writeFileSync(join(dir, 'data.csv'), tinyCsv());
    const out = join(dir, 'out');
    // an older result in the same folder: its mlp has 8 hidden units, the sweep's has 6
    const older = await fairhead(['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--epochs', '2', '--hidden', '8', '--bootstrap', '0', '--method', 'b1', '--out', 'out', '--quiet'], dir);
    expect(older.code, older.stderr).toBe(0);
    const before = new Map(EXPECTED.map((f) => [f, readFileSync(join(out, f), 'utf8')]));
    const child = startFairhead(SWEEP, dir);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    // the fixed point: the sweep starts writing (a temporary file or a changed output appears); kill -9 right then
    const poll = setInterval(() => {
      let writing: boolean;
      try {
        writing = listFiles(out).some((f) => TEMP.test(f) || before.get(f) === undefined || !sameFile(join(out, f), before.get(f) as string));
      } catch {
        writing = true; // a file vanished between listing and reading: a rename is under way
      }
      if (writing) {
        child.kill('SIGKILL');
        clearInterval(poll);
      }
    }, 2);
    const signal = await exited;
    clearInterval(poll);
    const left = listFiles(out);
    // killed half-way (or, on a very slow poll, finished): every file with a final name is complete
    expect(signal === 'SIGKILL' || signal === null).toBe(true);
    for (const f of left.filter((f) => !TEMP.test(f))) expectComplete(out, f);
    // the model folder is one model, old or new: the head reads as many features as the backbone's last layer gives
    const model = left.filter((f) => f.startsWith('model/'));
    if (model.length > 0) {
      expect(model).toEqual(['model/backbone.json', 'model/manifest.json']);
      const backbone = JSON.parse(readFileSync(join(out, 'model/backbone.json'), 'utf8')) as { hidden: number[] };
      const manifest = JSON.parse(readFileSync(join(out, 'model/manifest.json'), 'utf8')) as { head: { inputDim: number } };
      expect(manifest.head.inputDim).toBe(backbone.hidden.at(-1));
    } // else: killed between moving the old model aside and renaming the new one in

    const again = await fairhead(SWEEP, dir);
    // warnings only (its small sets' thin cells), no error
    expect(again.stderr.trim().split('\n').filter((l) => l !== '' && !l.startsWith('warning: '))).toEqual([]);
    expect(again.code).toBe(0);
    expect(listFiles(out)).toEqual(EXPECTED); // complete set, stale temporary files removed
    for (const f of EXPECTED) expectComplete(out, f);
    expect((JSON.parse(readFileSync(join(out, 'model/manifest.json'), 'utf8')) as { head: { inputDim: number } }).head.inputDim).toBe(6);
  });

  it('a re-run removes temporary files a killed writer left, and keeps those of a running process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-stale-'));
    writeFileSync(join(dir, 'data.csv'), tinyCsv());
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'out', 'model'), { recursive: true });
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default (2^22): no such process
    writeFileSync(join(dir, 'out', `report.html.${dead}.tmp`), '<html><body>half');
    writeFileSync(join(dir, 'out', 'model', `manifest.json.${dead}.tmp`), '{"format": "fairh');
    writeFileSync(join(dir, 'out', `notes.${process.pid}.tmp`), 'still being written by the test process');
    const r = await fairhead(['run', '--data', 'data.csv', '--target', 'y', '--sensitive', 'sex', '--epochs', '2', '--hidden', '8', '--bootstrap', '0', '--method', 'b1', '--out', 'out', '--quiet'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(listFiles(join(dir, 'out'))).toEqual(['metrics.json', 'model/backbone.json', 'model/manifest.json', `notes.${process.pid}.tmp`, 'report.html', 'report.md']);
  });

  it('a corrupted embedding cache entry is detected by its checksum and rebuilt, giving the same result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-cache-'));
    await writeImages(dir);
    writeFileSync(join(dir, 'model.onnx'), rgbImageClassifier());
    const args = (out: string): string[] => ['run', '--images', 'img', '--labels', 'labels.csv', '--target', 'y', '--sensitive', 'g', '--backbone', 'onnx:model.onnx', '--method', 'b1', '--bootstrap', '0', '--cache-dir', 'cache', '--out', out];
    const first = await fairhead(args('out1'), dir);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).not.toMatch(/embedding cache/);
    const bins = listFiles(join(dir, 'cache')).filter((f) => !f.endsWith('.json'));
    expect(bins.length).toBe(1);
    const bin = join(dir, 'cache', bins[0] as string);
    const bytes = readFileSync(bin);
    bytes[0] = (bytes[0] as number) ^ 0xff; // one flipped byte, same length
    writeFileSync(bin, bytes);
    const second = await fairhead(args('out2'), dir);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/warning: embedding cache .*SHA-256 checksum; recomputing/);
    const runs = (out: string) => (JSON.parse(readFileSync(join(dir, out, 'metrics.json'), 'utf8')) as { runs: { splits: unknown }[] }).runs.map((x) => x.splits);
    expect(runs('out2')).toEqual(runs('out1'));
    expect(readFileSync(bin)).not.toEqual(bytes); // rebuilt
  });
});
