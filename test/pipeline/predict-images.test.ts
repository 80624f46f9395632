/**
 * `fairhead predict --images DIR --labels FILE --id COL`: the output's id column copies COL of the labels CSV (and
 * is the image's file name without --id). Images are generated with sharp; the model is a small cnn.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsvText } from '../../src/data/csv-table.ts';
import { predictWithModel } from '../../src/pipeline/predict.ts';
import { runPipeline } from '../../src/pipeline/run.ts';
import { makeImageFolder } from '../support/data.ts';

const bin = fileURLToPath(new URL('../../bin/fairhead.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fairhead-predict-images-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Face {
  readonly file: string;
  readonly gender: number;
  readonly white: number;
  readonly id: string;
}

/** 48 generated images of 24 x 24 (test/support/data.ts) and faces.csv (file,gender,white,id), ids unlike the file names, one holding a comma. */
async function writeFaces(): Promise<{ images: string; labels: string; faces: Face[] }> {
  const { images, rows } = await makeImageFolder(dir, { count: 48, size: 24, groups: 2 });
  const faces = rows.map((r, i) => ({ file: r.file, gender: r.label, white: r.group, id: i === 5 ? 'case 5, left' : `P${1000 + i}` }));
  const labels = join(dir, 'faces.csv');
  const field = (v: string): string => (v.includes(',') ? `"${v}"` : v);
  writeFileSync(labels, `file,gender,white,id\n${faces.map((f) => `${f.file},${f.gender},${f.white},${field(f.id)}`).join('\n')}\n`);
  return { images, labels, faces };
}

function fairhead(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let set: Awaited<ReturnType<typeof writeFaces>>;
const model = join(dir, 'out', 'model');

beforeAll(async () => {
  set = await writeFaces();
  await runPipeline({
    images: set.images, labels: set.labels, target: 'gender', sensitive: ['white'], backbone: 'cnn', epochs: 1, imageSize: 32,
    method: 'b1', constraint: 'eo', alpha: 0, optimizer: 'lbfgs', seed: 0, out: join(dir, 'out'), bootstrap: 0,
  });
}, 240_000);

describe('predict on an image folder listed by a labels CSV', () => {
  it('copies the --id column of the labels CSV into the output (issue 25)', async () => {
    const p = await predictWithModel(model, { images: set.images, labels: set.labels, id: 'id' });
    expect(p.ids).toEqual(set.faces.map((f) => f.id));
  });

  it('names each row by its image file without --id', async () => {
    const p = await predictWithModel(model, { images: set.images, labels: set.labels });
    expect(p.ids).toEqual(set.faces.map((f) => f.file));
  });

  it('writes the id column through the CLI, quoting an id that holds a comma', async () => {
    const out = join(dir, 'pred.csv');
    const r = await fairhead(['predict', '--model', model, '--images', set.images, '--labels', set.labels, '--id', 'id', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const table = parseCsvText(readFileSync(out, 'utf8'), out);
    expect(table.header).toEqual(['id', 'prediction', 'score']);
    expect(table.rows.map((row) => row[0])).toEqual(set.faces.map((f) => f.id));
  }, 60_000);

  it('refuses an --id column the labels CSV does not have, listing its columns', async () => {
    await expect(predictWithModel(model, { images: set.images, labels: set.labels, id: 'ID' })).rejects.toThrow(
      `${set.labels}: --id "ID" not found; columns are: file, gender, white, id`,
    );
  });

  it('refuses --id without --labels: the ids come from the labels CSV', async () => {
    await expect(predictWithModel(model, { images: set.images, id: 'id' })).rejects.toThrow(
      '--id id: with --images, ids come from a column of --labels FILE.csv; give --labels (without --id, rows are named by their image file)',
    );
  });
});
