import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.ts';
import { decodeImage, imageBatches, readImageLabels, type ImageBatch } from '../../src/data/images.ts';
import { describeWithUtkface, makeImageFolder } from '../support/data.ts';

const tmp = mkdtempSync(join(tmpdir(), 'fairhead-images-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** 5 generated 200 x 200 JPEGs (see test/support/data.ts). */
const generated = await makeImageFolder(join(tmp, 'generated'), { count: 5, size: 200 });
const utkImages = generated.images;
const realNames = generated.rows.map((r) => r.file);

/** A folder with the 5 generated images, a truncated copy of the first and a text file named .jpg, plus labels.csv. */
function smallSet(): { dir: string; labels: string } {
  const dir = mkdtempSync(join(tmp, 'set-'));
  for (const n of realNames) copyFileSync(join(utkImages, n), join(dir, n));
  const jpeg = readFileSync(join(utkImages, realNames[0] as string));
  writeFileSync(join(dir, 'truncated.jpg'), jpeg.subarray(0, 400));
  writeFileSync(join(dir, 'text.jpg'), 'this is not an image\n');
  const labels = join(dir, 'labels.csv');
  writeFileSync(labels, ['file,gender', ...realNames.slice(0, 2).map((n, i) => `${n},${i}`), 'truncated.jpg,0', ...realNames.slice(2).map((n) => `${n},1`), 'text.jpg,1'].join('\n'));
  return { dir, labels };
}

async function collect(gen: AsyncGenerator<ImageBatch>): Promise<ImageBatch[]> {
  const out: ImageBatch[] = [];
  for await (const b of gen) out.push(b);
  return out;
}

describeWithUtkface('readImageLabels on UTKFace', (utk) => {
  it('resolves every row of the real UTKFace labels.csv to an existing image (9,778 rows)', () => {
    const { files, table } = readImageLabels({ images: join(utk, 'images'), labels: join(utk, 'labels.csv'), imageColumn: 'file' });
    expect(files).toHaveLength(9778);
    expect(table.header).toEqual(['file', 'age', 'gender', 'race', 'in_balanced_2000']);
    expect(files[0]).toBe(join(utk, 'images', table.rows[0]?.[0] as string));
  });
});

describe('readImageLabels', () => {
  it('resolves every row of a labels CSV to its image in the folder', () => {
    const { files, table } = readImageLabels({ images: utkImages, labels: generated.labels, imageColumn: 'file' });
    expect(files).toEqual(realNames.map((n) => join(utkImages, n)));
    expect(table.header).toEqual(['file', 'age', 'gender', 'race', 'in_balanced_2000']);
  });

  it('names the first missing files with their CSV lines and counts the rest', () => {
    const labels = join(tmp, 'missing.csv');
    const rows = ['file', realNames[0], ...Array.from({ length: 7 }, (_, i) => `gone-${i}.jpg`)];
    writeFileSync(labels, rows.join('\n'));
    expect(() => readImageLabels({ images: utkImages, labels, imageColumn: 'file' })).toThrow(
      `${labels}: 7 of 8 images named in column "file" are missing from ${utkImages}: gone-0.jpg (line 3), gone-1.jpg (line 4), gone-2.jpg (line 5), gone-3.jpg (line 6), gone-4.jpg (line 7), ... (2 more)`,
    );
  });

  it('lists the columns when the image column is unknown', () => {
    const labels = join(tmp, 'cols.csv');
    writeFileSync(labels, `path,gender\n${realNames[0]},0\n`);
    expect(() => readImageLabels({ images: utkImages, labels, imageColumn: 'file' })).toThrow(`${labels}: --image-column "file" not found; columns are: path, gender`);
  });

  it('refuses a file name that leaves the image folder, and a missing folder', () => {
    const labels = join(tmp, 'escape.csv');
    writeFileSync(labels, 'file\n../labels.csv\n');
    expect(() => readImageLabels({ images: utkImages, labels, imageColumn: 'file' })).toThrow('line 2: image "../labels.csv" must be a path inside');
    expect(() => readImageLabels({ images: join(tmp, 'nope'), labels, imageColumn: 'file' })).toThrow(InputError);
  });
});

describe('decodeImage', () => {
  it('turns a 200x200 JPEG into 112 x 112 x 3 RGB bytes', async () => {
    const px = await decodeImage(join(utkImages, realNames[0] as string), 112);
    expect(px.length).toBe(112 * 112 * 3);
    expect(Math.max(...px.subarray(0, 3000))).toBeGreaterThan(0);
  });

  it('pads a wide image with black above and below under "contain", and crops it under "cover"', async () => {
    // 60 x 30 pure red: "contain" scales it to 8 x 4, centred in 8 x 8 -> rows 0-1 and 6-7 black, rows 2-5 red.
    const file = join(tmp, 'wide.png');
    await sharp({ create: { width: 60, height: 30, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toFile(file);
    const at = (px: Uint8Array, row: number, col: number): number[] => Array.from(px.subarray((row * 8 + col) * 3, (row * 8 + col) * 3 + 3));
    const contain = await decodeImage(file, 8, 'contain');
    expect(at(contain, 0, 4)).toEqual([0, 0, 0]);
    expect(at(contain, 7, 4)).toEqual([0, 0, 0]);
    expect(at(contain, 4, 4)).toEqual([255, 0, 0]);
    const cover = await decodeImage(file, 8, 'cover');
    expect(at(cover, 0, 4)).toEqual([255, 0, 0]);
  });

  it('gives RGB for a grey image with alpha', async () => {
    const file = join(tmp, 'grey.png');
    await sharp({ create: { width: 10, height: 10, channels: 4, background: { r: 100, g: 100, b: 100, alpha: 0.5 } } }).greyscale().png().toFile(file);
    const px = await decodeImage(file, 4);
    expect(px.length).toBe(4 * 4 * 3);
  });
});

describe('imageBatches', () => {
  it('skips a truncated JPEG and a text file with one warning each, keeping the other rows in order', async () => {
    const { dir, labels } = smallSet();
    const { files } = readImageLabels({ images: dir, labels, imageColumn: 'file' });
    const warnings: string[] = [];
    const batches = await collect(imageBatches(files, { size: 16, batchSize: 3, onWarning: (m) => warnings.push(m) }));
    // 7 files in batches of 3: [0,1,2(truncated)], [3,4,5], [6(text)]
    expect(batches.map((b) => b.rows)).toEqual([[0, 1], [3, 4, 5], []]);
    expect(batches.map((b) => b.done)).toEqual([3, 6, 7]);
    expect(batches[1]?.pixels.length).toBe(3 * 16 * 16 * 3);
    const last = batches[2] as ImageBatch;
    expect(last.skipped.map((s) => s.index)).toEqual([2, 6]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/truncated\.jpg: skipped, cannot decode image \(.+\)/);
    expect(warnings[1]).toContain('text.jpg: skipped');
  });

  it('fails on the first undecodable image with strict', async () => {
    const { dir, labels } = smallSet();
    const { files } = readImageLabels({ images: dir, labels, imageColumn: 'file' });
    const run = collect(imageBatches(files, { size: 16, strict: true }));
    await expect(run).rejects.toThrow(InputError);
    await expect(collect(imageBatches(files, { size: 16, strict: true }))).rejects.toThrow(/truncated\.jpg: cannot decode image .*run without --strict/);
  });

  it('gives the same pixels as decodeImage, batch by batch', async () => {
    const files = realNames.map((n) => join(utkImages, n));
    const batches = await collect(imageBatches(files, { size: 20, batchSize: 2, prefetch: 1 }));
    const second = batches[1] as ImageBatch;
    expect(second.rows).toEqual([2, 3]);
    const one = await decodeImage(files[3] as string, 20);
    expect(second.pixels.subarray(20 * 20 * 3)).toEqual(one);
  });

  it('rejects a size that is not a positive integer and an unknown fit', async () => {
    await expect(collect(imageBatches([], { size: 0 }))).rejects.toThrow('image size must be a positive integer, received 0');
    await expect(collect(imageBatches([], { size: 8, fit: 'stretch' as 'fill' }))).rejects.toThrow('unknown image fit "stretch". Valid: contain, cover, fill');
  });
});
