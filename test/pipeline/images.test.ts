import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runPipeline } from '../../src/pipeline/run.ts';
import { predictWithModel } from '../../src/pipeline/predict.ts';

const utk = new URL('../../../shared/data/utkface/', import.meta.url).pathname;

describe('fairhead run on an image folder with the face-api backbone', () => {
  it('embeds real faces, evaluates the shipped gender head, trains a fair head, and predicts from the model folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-images-'));
    // 80 faces from the balanced subset: 8 per gender x race cell
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
    expect(chosen).toHaveLength(81);
    const labels = join(dir, 'labels.csv');
    writeFileSync(labels, `${chosen.join('\n')}\n`);
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
