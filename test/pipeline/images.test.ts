import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/run.ts';
import { predictWithModel } from '../../src/pipeline/predict.ts';

const utk = new URL('../../../shared/data/utkface/', import.meta.url).pathname;

/** 80 faces from UTKFace's balanced subset: 8 per gender x race cell, as a labels CSV in a temp folder. */
function balancedLabels(): { dir: string; labels: string; chosen: string[] } {
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
  it('pre-trains a small ResNet on real faces, fine-tunes its last layer, and predicts from the saved model', async () => {
    const { dir, labels } = balancedLabels();
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

describe('fairhead run on an image folder with the face-api backbone', () => {
  it('embeds real faces, evaluates the shipped gender head, trains a fair head, and predicts from the model folder', async () => {
    const { dir, labels, chosen } = balancedLabels();
    expect(chosen).toHaveLength(81);
    const out = join(dir, 'out');
    const { metrics, prepared } = await runPipeline({
      images: join(utk, 'images'),
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
    // the pre-trained gender head is far better than chance on real faces
    expect(shipped.splits.train.accuracy).toBeGreaterThan(0.7);
    expect(Object.keys(shipped.splits.train.byGroup).sort()).toEqual(['0', '1', '2', '3', '4']);
    const p = await predictWithModel(join(out, 'model'), { images: join(utk, 'images'), labels });
    expect(p.ids).toHaveLength(80);
    expect(p.ids[0]).toBe(chosen[1]!.split(',')[0]);
    expect(p.classes).toEqual(['0', '1']);
  }, 240_000);
});
