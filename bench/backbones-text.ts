/**
 * `npm run bench -- backbones-text`: a text classifier end to end, tokenise + embed 20,000 short texts with the tiny
 * BERT-shaped model of test/fixtures/make-text-model.ts (three int64 inputs, masked mean pooling, 4-d embedding)
 * and its WordPiece tokenizer.json, with 1 and 2 onnxruntime intra-op threads; and tokenising alone.
 *
 * Repetitions alternate 1 and 2 threads so that load from other processes hits both alike; the best repetition of
 * each counts. The model is tiny, so this measures fairhead's own cost per text (tokenising, padding, int64 feeds,
 * batching) more than onnxruntime's arithmetic: the thread speedup is expected to be small.
 *
 * Writes bench/results/backbones-text.json: textRowsPerSecond1Thread, textRowsPerSecond2Threads, textThreadSpeedup,
 * tokenizeRowsPerSecond, the seconds of every repetition, and the load average before and after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadOnnxBackbone } from '../src/backbone/onnx.ts';
import { embedTexts, openTextModel } from '../src/pipeline/model-inputs.ts';
import { textCsv, writeTinyBert } from '../test/fixtures/make-text-model.ts';
import { writeResult } from './machine.ts';

const rows = 20_000;
const repetitions = Number(process.env.BENCH_REPS ?? 3);
const dir = mkdtempSync(join(os.tmpdir(), 'fairhead-bench-text-'));
const file = writeTinyBert(dir);
const base = textCsv(160).trim().split('\n').slice(1).map((l) => l.split('"')[1] as string);
const texts = Array.from({ length: rows }, (_, i) => `${base[i % base.length] as string}${i % 3 === 0 ? ' and the music was fine' : ''}`);
const loadBefore = os.loadavg();

const one = await loadOnnxBackbone(file, { threads: 1 });
const two = await loadOnnxBackbone(file, { threads: 2 });
const model = openTextModel(one, join(dir, 'tokenizer.json'), 64);
await embedTexts(one, model, texts.slice(0, 256));
await embedTexts(two, model, texts.slice(0, 256));

const seconds: Record<'1' | '2' | 'tokenize', number[]> = { '1': [], '2': [], tokenize: [] };
for (let r = 0; r < repetitions; r++) {
  for (const [key, bb] of [['1', one], ['2', two]] as const) {
    const t0 = performance.now();
    await embedTexts(bb, model, texts, { batchSize: 256 });
    seconds[key].push((performance.now() - t0) / 1000);
  }
  const t0 = performance.now();
  for (let s = 0; s < rows; s += 256) model.tokenizer.encode(texts.slice(s, s + 256), model.maxLength);
  seconds.tokenize.push((performance.now() - t0) / 1000);
  process.stdout.write(`rep ${r + 1}: 1 thread ${seconds['1'].at(-1)?.toFixed(2)} s, 2 threads ${seconds['2'].at(-1)?.toFixed(2)} s, tokenising alone ${seconds.tokenize.at(-1)?.toFixed(2)} s\n`);
}
await one.close();
await two.close();
rmSync(dir, { recursive: true, force: true });

const best = (a: number[]): number => Math.min(...a);
const textRowsPerSecond1Thread = rows / best(seconds['1']);
const textRowsPerSecond2Threads = rows / best(seconds['2']);
const tokenizeRowsPerSecond = rows / best(seconds.tokenize);
process.stdout.write(`text: ${textRowsPerSecond1Thread.toFixed(0)} rows/s (1 thread), ${textRowsPerSecond2Threads.toFixed(0)} rows/s (2 threads); tokenising alone ${tokenizeRowsPerSecond.toFixed(0)} rows/s\n`);
writeResult('backbones-text', {
  textRowsPerSecond1Thread,
  textRowsPerSecond2Threads,
  textThreadSpeedup: textRowsPerSecond2Threads / textRowsPerSecond1Thread,
  tokenizeRowsPerSecond,
  secondsPerRepetition: seconds,
  fixture: { rows, maxLength: model.maxLength, batchSize: 256, repetitions, model: 'tiny BERT (test/fixtures/make-text-model.ts)' },
  loadAverageBefore: loadBefore,
  loadAverageAfter: os.loadavg(),
});
