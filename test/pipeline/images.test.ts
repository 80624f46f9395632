import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/run.ts';
import { predictWithModel } from '../../src/pipeline/predict.ts';
import { describeWithUtkface, makeImageFolder } from '../support/data.ts';

/** 100 generated 64 x 64 images in 2 labels x 5 groups (see test/support/data.ts), UTKFace-shaped. */
const utk = mkdtempSync(join(tmpdir(), 'fairhead-generated-'));
await makeImageFolder(utk, { count: 100 });

/** 80 images of a UTKFace-shaped folder's balanced subset: 8 per gender x race cell, as a labels CSV in a temp folder. */
function balancedLabels(utk: string): { dir: string; labels: string; chosen: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'fairhead-images-'));
  const lines = readFileSync(join(utk, 'labels.csv'), 'utf8').trim().split('\n');
  const perCell = new Map<string, number>();
  const chosen = [lines[0]!];
  for (const line of lines.slice(1)) {
    const [, , gender, race, balanced] = line.split(',');
    const key = `${gender}|${race}`;
    if (balanced !== '1' || (perCell.get(key) ?? 0) >= 8) continue;
    perCell.set(key, (perCell.get(key) ?? 0) + 1);
    chosen.push(line);
  }
  const labels = join(dir, 'labels.csv');
  writeFileSync(labels, `${chosen.join('\n')}\n`);
  return { dir, labels, chosen };
}

describe('fairhead run on an image folder with the cnn backbone', () => {
  it('pre-trains a small ResNet on the images, fine-tunes its last layer, and predicts from the saved model', async () => {
    const { dir, labels } = balancedLabels(utk);
    const out = join(dir, 'out');
    const { metrics, prepared } = await runPipeline({
      images: join(utk, 'images'), labels, target: 'gender', sensitive: ['race'], backbone: 'cnn', epochs: 1, imageSize: 32,
      method: 'm1', constraint: 'eo', alpha: 1, optimizer: 'lbfgs', seed: 0, out,
    });
    expect(prepared.backbone.kind).toBe('cnn');
    expect(prepared.train.x.cols).toBe(128);
    expect(metrics.runs.map((r) => r.method)).toEqual(['shipped', 'm1']);
    expect(metrics.runs[0]!.cost.parametersTrained).toBeGreaterThan(100_000);
    const p = await predictWithModel(join(out, 'model'), { images: join(utk, 'images'), labels });
    expect(p.ids).toHaveLength(80);
    expect(p.classes).toEqual(['0', '1']);
    expect(Array.from(p.scores).every((s) => s >= 0 && s <= 1)).toBe(true);
    expect(metrics.runs[1]!.splits.test.rows + metrics.runs[1]!.splits.train.rows + metrics.runs[1]!.splits.validation!.rows).toBe(80);
  }, 240_000);
});

/** run with the face-api backbone on the balanced 80 of `folder`; returns what the tests check. */
async function faceApiRun(folder: string) {
  const { dir, labels, chosen } = balancedLabels(folder);
  expect(chosen).toHaveLength(81);
  const out = join(dir, 'out');
  const { metrics, prepared } = await runPipeline({
    images: join(folder, 'images'),
    labels,
    target: 'gender',
    sensitive: ['race'],
    cacheDir: join(dir, 'cache'),
    method: 'm1',
    constraint: 'eo',
    alpha: 1,
    optimizer: 'lbfgs',
    seed: 0,
    out,
  });
  expect(prepared.backbone.kind).toBe('face-api');
  expect(prepared.train.x.cols).toBe(512);
  expect(prepared.train.x.rows + prepared.validation.x.rows + prepared.test.x.rows).toBe(80);
  const shipped = metrics.runs[0]!;
  expect(shipped.method).toBe('shipped');
  expect(Object.keys(shipped.splits.train.byGroup).sort()).toEqual(['0', '1', '2', '3', '4']);
  const p = await predictWithModel(join(out, 'model'), { images: join(folder, 'images'), labels });
  expect(p.ids).toHaveLength(80);
  expect(p.ids[0]).toBe(chosen[1]!.split(',')[0]);
  expect(p.classes).toEqual(['0', '1']);
  return { shipped };
}

describe('fairhead run on an image folder with the face-api backbone', () => {
  it('embeds the images, evaluates the shipped gender head, trains a fair head, and predicts from the model folder', async () => {
    await faceApiRun(utk);
  }, 240_000);
});

describeWithUtkface('fairhead run on UTKFace faces with the face-api backbone', (faces) => {
  it('the shipped gender head is far better than chance on 80 real faces', async () => {
    const { shipped } = await faceApiRun(faces);
    expect(shipped.splits.train.accuracy).toBeGreaterThan(0.7);
  }, 240_000);
});
