import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import {
  defaultImagePreprocessing,
  preprocessImageFile,
  readPreprocessorConfig,
  resolveImagePreprocessing,
  toPreprocessorConfig,
  type ImagePreprocessing,
} from '../../src/data/image-preprocessing.ts';
import { pilResize } from '../../src/data/_internal/pil-resample.ts';
import { readNpy } from '../../src/data/npy.ts';
import { InputError } from '../../src/errors.ts';

const fixtures = fileURLToPath(new URL('../fixtures/preprocessing/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fairhead-preprocess-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('preprocessing equals Pillow + torchvision on a committed picture (test/fixtures/preprocessing/make-reference.py)', () => {
  // [case, the model's input shape]: every tensor must equal the reference to float32 rounding (Pillow's resize is
  // reproduced byte for byte, so the only difference is the order of float operations)
  const cases: Array<[string, (number | string)[]]> = [
    ['torchvision-imagenet', ['N', 3, 32, 32]],
    ['hf-clip', ['N', 3, 'height', 'width']],
    ['hf-vit', ['N', 3, 32, 32]],
    ['timm', ['N', 3, 32, 32]],
    ['bgr-nhwc', ['N', 20, 30, 3]],
  ];
  for (const [name, shape] of cases) {
    it(`${name}: the same float32 tensor, every value within 1e-6`, async () => {
      const { preprocessing } = resolveImagePreprocessing({ file: join(dir, 'model.onnx'), name: 'x', shape }, { preprocess: join(fixtures, `${name}.json`) });
      const x = await preprocessImageFile(join(fixtures, 'photo.png'), preprocessing);
      const reference = readNpy(join(fixtures, `${name}.npy`));
      expect(maxAbsDiff(x, reference.data)).toBeLessThan(1e-6);
    });
  }

  it('the default (no config) is not the reference: feeding [0, 1] pixels to an ImageNet model is off by up to 2.6', async () => {
    const x = await preprocessImageFile(join(fixtures, 'photo.png'), defaultImagePreprocessing(32, 32));
    expect(maxAbsDiff(x, readNpy(join(fixtures, 'torchvision-imagenet.npy')).data)).toBeGreaterThan(1);
  });
});

describe('pilResize', () => {
  it('averages two pixels into one with the bilinear filter (Pillow rounds 127.5 up)', () => {
    expect(Array.from(pilResize(Uint8Array.of(0, 0, 0, 255, 255, 255), 2, 1, 1, 1, 'bilinear'))).toEqual([128, 128, 128]);
  });

  it('upscales 1 x 2 pixels to 1 x 4 with the bilinear filter: centres at 0.25 and 0.75 of each input pixel', () => {
    // output x centres in input space: 0.25, 0.75, 1.25, 1.75 -> weights of pixel 0: 1, 0.75, 0.25, 0 (clamped at edges)
    const out = pilResize(Uint8Array.of(0, 0, 0, 200, 200, 200), 2, 1, 4, 1, 'bilinear');
    expect(Array.from(out.filter((_, i) => i % 3 === 0))).toEqual([0, 50, 150, 200]);
  });
});

describe('readPreprocessorConfig', () => {
  it('reads an integer size as a square without a crop and as the shortest edge with one', () => {
    expect(readPreprocessorConfig(write('a.json', { size: 224 })).resize).toEqual({ height: 224, width: 224, fit: 'fill' });
    expect(readPreprocessorConfig(write('b.json', { size: 256, crop_size: 224 })).resize).toEqual({ shortestEdge: 256 });
  });

  it('turns do_rescale and do_normalize false into a factor of 1 and mean 0, std 1', () => {
    const o = readPreprocessorConfig(write('c.json', { do_rescale: false, do_normalize: false, image_mean: [9, 9, 9] }));
    expect(o).toMatchObject({ rescale: 1, mean: [0, 0, 0], std: [1, 1, 1] });
  });

  it('reads a timm config.json (pretrained_cfg) with crop_pct into a shortest-edge resize and a crop', () => {
    const o = readPreprocessorConfig(write('d.json', { pretrained_cfg: { input_size: [3, 224, 224], crop_pct: 0.9, interpolation: 'bicubic', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] } }));
    expect(o).toMatchObject({ resize: { shortestEdge: 248 }, crop: { height: 224, width: 224 }, resample: 'bicubic', mean: [0.5, 0.5, 0.5] });
  });

  it('names the file and the key of a value of the wrong type', () => {
    const file = write('e.json', { image_mean: '0.5' });
    expect(() => readPreprocessorConfig(file)).toThrow(new InputError(`${file}: "image_mean" should be a number or a list of 3 numbers, received "0.5"`));
    const f2 = write('f.json', { size: { height: 32 } });
    expect(() => readPreprocessorConfig(f2)).toThrow(`${f2}: "size.width" should be a positive integer, received undefined`);
    const f3 = write('g.json', { resample: 'cubic' });
    expect(() => readPreprocessorConfig(f3)).toThrow(/g\.json: "resample" should be a Pillow resampling code/);
    const f4 = write('h.json', '{ not json');
    expect(() => readPreprocessorConfig(f4)).toThrow(`${f4}: not valid JSON; expected a preprocessor_config.json (Hugging Face) or a timm pretrained_cfg`);
  });

  it('reads back what toPreprocessorConfig writes', () => {
    const p: ImagePreprocessing = { resize: { shortestEdge: 40 }, resample: 'bicubic', crop: { height: 32, width: 30 }, rescale: 1 / 255, mean: [0.1, 0.2, 0.3], std: [0.4, 0.5, 0.6], channels: 'bgr', layout: 'nhwc' };
    const file = write('round.json', toPreprocessorConfig(p));
    const { preprocessing } = resolveImagePreprocessing({ file: join(dir, 'm.onnx'), name: 'x', shape: ['N', 'h', 'w', 3] }, { preprocess: file });
    expect(preprocessing).toEqual(p);
  });
});

describe('resolveImagePreprocessing', () => {
  const model = (shape: (number | string)[]) => ({ file: join(dir, 'model.onnx'), name: 'pixel_values', shape });

  it('keeps fairhead\'s default for a fixed-size model that nothing configures', () => {
    expect(resolveImagePreprocessing(model(['N', 3, 64, 48]), {}).preprocessing).toEqual(defaultImagePreprocessing(64, 48));
  });

  it('lets flags override the config file: mean, std and channel order', () => {
    const file = write('cfg.json', { size: { height: 8, width: 8 }, image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5] });
    const { preprocessing } = resolveImagePreprocessing(model(['N', 3, 8, 8]), { preprocess: file, imageMean: [0, 0, 0], channels: 'bgr' });
    expect(preprocessing).toMatchObject({ mean: [0, 0, 0], std: [0.5, 0.5, 0.5], channels: 'bgr', resample: 'bilinear' });
  });

  it('feeds a dynamic height and width the --input-size', () => {
    const { preprocessing } = resolveImagePreprocessing(model(['N', 3, 'H', 'W']), { inputSize: [3, 48, 192] });
    expect(preprocessing.resize).toEqual({ height: 48, width: 192, fit: 'contain' });
  });

  it('refuses a dynamic height and width with no size from a config, the flags or the model', () => {
    expect(() => resolveImagePreprocessing(model(['N', 3, 'H', 'W']), { imageMean: [0.5, 0.5, 0.5] })).toThrow(
      /model\.onnx: model input "pixel_values" \[N, 3, H, W\] has a dynamic height and width, and no size comes from .*; expected e\.g\. --input-size 3x224x224/,
    );
  });

  it('refuses a preprocessing whose size differs from the model\'s fixed size, naming both', () => {
    expect(() => resolveImagePreprocessing(model(['N', 3, 224, 224]), { imageSize: 256, crop: 200 })).toThrow(/the preprocessing makes 200x200 images, the model's input "pixel_values" \[N, 3, 224, 224\] takes 224x224/);
  });

  it('refuses an input that is not 3 channels', () => {
    expect(() => resolveImagePreprocessing(model(['N', 1, 28, 28]), {})).toThrow(/an image model needs a 3-channel input \[N, 3, H, W\] or \[N, H, W, 3\], the model's input "pixel_values" is \[N, 1, 28, 28\]/);
  });
});

describe('preprocessImageFile', () => {
  it('applies EXIF orientation, then resizes: a 4 x 2 picture rotated by its EXIF tag is 2 wide and 4 high', async () => {
    const file = join(dir, 'rotated.jpg');
    await sharp({ create: { width: 4, height: 2, channels: 3, background: { r: 255, g: 0, b: 0 } } }).jpeg().withMetadata({ orientation: 6 }).toFile(file);
    const p: ImagePreprocessing = { resize: { shortestEdge: 2 }, resample: 'nearest', crop: { height: 4, width: 2 }, rescale: 1, mean: [0, 0, 0], std: [1, 1, 1], channels: 'rgb', layout: 'nchw' };
    const x = await preprocessImageFile(file, p);
    expect(x.length).toBe(3 * 4 * 2);
    expect(x[0]).toBeGreaterThan(200); // red channel, not black padding
  });
});
