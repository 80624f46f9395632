/**
 * `npm run bench -- backbones`: runs the backbone benchmarks (mlp on Adult, face-api on UTKFace, ONNX thread
 * scaling, a text model, a real OCR image model), then merges their headline numbers into
 * bench/results/backbones.json: adultMlpSeconds, adultMlpTestAccuracy, utkfaceEmbedSeconds, utkfaceCachedSeconds,
 * utkfaceSpeedupVsTfjs, onnxThreadSpeedup, textRowsPerSecond1Thread, textRowsPerSecond2Threads, ocrImagesPerSecond.
 * `--merge-only` skips the runs and merges the existing results.
 */
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeResult } from './machine.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const parts = ['backbones-mlp', 'backbones-face', 'backbones-onnx', 'backbones-text', 'backbones-ocr'] as const;
if (!process.argv.includes('--merge-only')) {
  for (const name of parts) {
    process.stdout.write(`== bench ${name}\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${name}.ts`], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 1);
  }
}
const read = (name: string): Record<string, unknown> => JSON.parse(readFileSync(`${dir}results/${name}.json`, 'utf8')) as Record<string, unknown>;
const mlp = read('backbones-mlp');
const face = read('backbones-face');
const onnx = read('backbones-onnx');
const text = read('backbones-text');
const ocr = read('backbones-ocr');
const merged = {
  adultMlpSeconds: mlp['adultMlpSeconds'],
  adultMlpTestAccuracy: mlp['adultMlpTestAccuracy'],
  utkfaceEmbedSeconds: face['utkfaceEmbedSeconds'],
  utkfaceCachedSeconds: face['utkfaceCachedSeconds'],
  utkfaceSpeedupVsTfjs: face['speedupVsTfjs'],
  onnxThreadSpeedup: onnx['onnxThreadSpeedup'],
  textRowsPerSecond1Thread: text['textRowsPerSecond1Thread'],
  textRowsPerSecond2Threads: text['textRowsPerSecond2Threads'],
  ocrImagesPerSecond: ocr['ocrImagesPerSecond'],
  sources: { mlp: 'backbones-mlp.json', face: 'backbones-face.json', onnx: 'backbones-onnx.json', text: 'backbones-text.json', ocr: 'backbones-ocr.json' },
};
writeResult('backbones', merged);
process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
