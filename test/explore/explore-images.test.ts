/**
 * `fairhead explore` on an image folder, in Chromium: a folder rendered here with sharp (so the test runs on a bare
 * clone) through the real face-api backbone; and, when FAIRHEAD_UTKFACE names the UTKFace folder (images/,
 * labels.csv), its balanced subset of 2,000 faces. The rendered folder is not test/support's makeImageFolder: its
 * labels are drawn for a head to separate exactly, and a head that separates its set has no gap for the penalty to
 * close, so moving the slider would change nothing. The slider moved with the keyboard gives what `fairhead run` gives, and the saved
 * model predicts as the one `run` writes.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { formatRate } from '../../src/report/format.ts';
import { launchChromium } from '../../src/report/screenshot.ts';
import type { MetricsFile } from '../../src/report/schema.ts';
import { fairhead } from '../hardening/cli.ts';
import { describeWithUtkface } from '../support/data.ts';
import { runArgs, screenshot, startExplore, waitSaved, waitShown } from './explore-cli.ts';

/**
 * `n` small PNG images in `dir/images`: label 1 redder, label 0 bluer (each image also tinted at random), group "a"
 * darker and mostly positive, group "b" lighter and mostly negative (a task with a gap between groups), seeded noise
 * on every pixel; and labels.csv, where one label in five is flipped.
 */
async function renderImages(dir: string, n: number): Promise<{ images: string; labels: string }> {
  const images = join(dir, 'images');
  mkdirSync(images, { recursive: true });
  const lines = ['file,label,group'];
  let seed = 7;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < n; i++) {
    const group = i % 2 === 0 ? 'a' : 'b';
    const label = random() < (group === 'a' ? 0.7 : 0.3) ? 1 : 0;
    const size = 48;
    const pixels = Buffer.alloc(size * size * 3);
    // the label moves the hue a little, each image's own tint as much: a task a head gets mostly, not all, right
    const tint = (label ? 20 : -20) + (random() - 0.5) * 100;
    const light = group === 'a' ? 80 : 130;
    for (let p = 0; p < size * size; p++) {
      pixels[3 * p] = Math.max(0, Math.min(255, light + tint + Math.floor(random() * 60)));
      pixels[3 * p + 1] = Math.min(255, light + Math.floor(random() * 60));
      pixels[3 * p + 2] = Math.max(0, Math.min(255, light - tint + Math.floor(random() * 60)));
    }
    const file = `img-${String(i).padStart(4, '0')}.png`;
    await sharp(pixels, { raw: { width: size, height: size, channels: 3 } }).png().toFile(join(images, file));
    // one label in five recorded wrong: no head fits the set exactly (it has more rows than the embedding has values)
    lines.push(`${file},${random() < 0.2 ? 1 - label : label},${group}`);
  }
  const labels = join(dir, 'labels.csv');
  writeFileSync(labels, `${lines.join('\n')}\n`);
  // the first 100 images, for the predictions (face-api embeds every image predict is given)
  writeFileSync(join(dir, 'some.csv'), `${lines.slice(0, 101).join('\n')}\n`);
  return { images, labels };
}

/** Open explore on an image folder at alpha 0.1, move the slider twenty steps (to 10), compare with `fairhead run`, save, and predict with both models. */
async function exploreImages(dir: string, args: string[], predictArgs: string[], shot: string): Promise<void> {
  const saved = join(dir, 'saved');
  const [explore, browser] = await Promise.all([startExplore([...args, '--alpha', '0.1', '--cache-dir', join(dir, 'cache'), '--out', saved, '--quiet'], dir, 600_000), launchChromium()]);
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(explore.url);
    const first = await waitShown(page, { method: 'm2', alpha: '0.1' });
    // alpha 0.1 -> 10: twenty steps of the slider, each a request (the stale ones are dropped)
    await page.focus('#alpha-slider');
    for (let i = 0; i < 20; i++) await page.keyboard.press('ArrowRight');
    const moved = await waitShown(page, { method: 'm2', alpha: '10' });
    // a new head: on the rows it was fitted on, the penalty's weight shows (a small test split may round alike)
    expect(moved.finetune).not.toEqual(first.finetune);
    console.log(`screenshots: ${await screenshot(page, shot)}`);
    const runDir = join(dir, 'run');
    const r = await fairhead(['run', ...runArgs((await page.locator('#command').textContent()) ?? '', runDir), '--json', '--quiet'], dir, 600_000);
    expect(r.code, r.stderr).toBe(0);
    const run = (JSON.parse(r.stdout) as MetricsFile).runs.at(-1)!;
    expect(run).toMatchObject({ method: 'm2', constraint: 'eo', alpha: 10 });
    expect(moved.values['accuracy']).toBe(formatRate(run.splits.test.accuracy));
    expect(moved.values['equalizedOddsDifference']).toBe(formatRate(run.splits.test.equalizedOddsDifference));
    await page.click('#save');
    expect(await waitSaved(page)).toMatch(/^Saved 4 files to /); // face-api: the manifest names its weights, shipped in the package
    const head = (d: string): unknown => (JSON.parse(readFileSync(join(d, 'model', 'manifest.json'), 'utf8')) as { head: unknown }).head;
    expect(head(saved)).toEqual(head(runDir));
    const predict = async (model: string): Promise<string> => {
      const p = await fairhead(['predict', '--model', model, ...predictArgs, '--quiet'], dir, 300_000);
      expect(p.code, p.stderr).toBe(0);
      return p.stdout;
    };
    const [fromSave, fromRun] = [await predict(join(saved, 'model')), await predict(join(runDir, 'model'))];
    expect(fromSave.trim().split('\n')).toHaveLength(101);
    expect(fromSave).toBe(fromRun);
  } finally {
    await browser.close();
    await explore.stop();
  }
}

describe('fairhead explore on an image folder (face-api) in Chromium', { timeout: 900_000 }, () => {
  it('on 1,200 images rendered here: the slider re-fits the head as fairhead run fits it, and save predicts as run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-explore-images-'));
    const { images, labels } = await renderImages(dir, 1200);
    await exploreImages(dir, ['--images', images, '--labels', labels, '--target', 'label', '--sensitive', 'group'], ['--images', images, '--labels', join(dir, 'some.csv')], 'images-generated-m2-alpha-10.png');
  });
});

describeWithUtkface('fairhead explore on UTKFace faces (face-api) in Chromium', (utkface) => {
  it('on the 2,000 faces of the balanced subset, target gender, sensitive race: the same', { timeout: 900_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fairhead-explore-utkface-'));
    const rows = readFileSync(join(utkface, 'labels.csv'), 'utf8').trim().split('\n');
    const labels = join(dir, 'labels.csv');
    // M2's set (1,600 rows) is then larger than an embedding (512 values)
    const chosen = rows.slice(1).filter((line) => line.endsWith(',1'));
    writeFileSync(labels, `${[rows[0], ...chosen].join('\n')}\n`);
    writeFileSync(join(dir, 'some.csv'), `${[rows[0], ...chosen.slice(0, 100)].join('\n')}\n`);
    const images = join(utkface, 'images');
    await exploreImages(dir, ['--images', images, '--labels', labels, '--target', 'gender', '--positive', '1', '--sensitive', 'race'], ['--images', images, '--labels', join(dir, 'some.csv')], 'images-utkface-m2-alpha-10.png');
  });
});
