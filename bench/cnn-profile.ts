/**
 * `npm run bench -- cnn-profile`: where the small ResNet's training step spends its time, per onnxruntime op type,
 * on 1 and on 2 intra-op threads (onnxruntime's profiler; per node the minimum over 15 runs, then summed by op
 * type), on one batch of 64 random 64 x 64 images (the architecture of `npm run bench -- cnn`). The ratio column
 * says which ops a second thread speeds up (about 2) and which it does not (about 1: onnxruntime runs them on one
 * thread). Writes bench/results/cnn-profile.json. Needs no data.
 */
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { initialWeights } from '../src/backbone/cnn/engine.ts';
import { withDerivedFilters } from '../src/backbone/cnn/filter-feeds.ts';
import { nchwcBlockSize } from '../src/backbone/cnn/nchwc.ts';
import { buildGraphs, describeNetwork } from '../src/backbone/cnn/network.ts';
import { defaultCnnOptions } from '../src/backbone/cnn.ts';
import { createRng } from '../src/rng.ts';
import { writeResult } from './machine.ts';

const RUNS = 15;
const arch = { size: 64, channels: [...defaultCnnOptions.channels], outputs: 1 };
const graphs = buildGraphs(arch, { nchwcBlock: await nchwcBlockSize() });
const { params } = describeNetwork(arch);
const rng = createRng(1);
const w = initialWeights(arch, rng);
const n = 64;
const feeds: Record<string, ort.Tensor> = {
  x: new ort.Tensor('float32', Float32Array.from({ length: n * 3 * 64 * 64 }, () => rng.normal()), [n, 3, 64, 64]),
  target: new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => i % 2), [n, 1]),
  scale: new ort.Tensor('float32', Float32Array.of(1 / n), []),
};
params.forEach((p, i) => {
  feeds[p.name] = new ort.Tensor('float32', w.params[i] as Float32Array, p.dims as number[]);
});

/** Milliseconds per op type of one step on `threads` threads. */
async function profile(threads: number): Promise<Record<string, number>> {
  const prefix = join(os.tmpdir(), `fairhead-cnn-profile-${process.pid}-${threads}`);
  const session = await ort.InferenceSession.create(graphs.train, {
    executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'all',
    intraOpNumThreads: threads, enableProfiling: true, profileFilePrefix: prefix,
  });
  const all = withDerivedFilters(feeds, graphs.derived, session.inputNames);
  for (let r = 0; r < RUNS; r++) await session.run(all);
  session.endProfiling();
  await session.release();
  const file = readdirSync(os.tmpdir()).map((f) => join(os.tmpdir(), f)).find((f) => f.startsWith(prefix));
  if (!file) throw new Error(`no profile written at ${prefix}*`);
  const events = JSON.parse(readFileSync(file, 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  unlinkSync(file);
  const byNode = new Map<string, { op: string; min: number }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const node = byNode.get(e.name);
    if (!node) byNode.set(e.name, { op: e.args?.op_name ?? '?', min: e.dur });
    else node.min = Math.min(node.min, e.dur);
  }
  const byOp: Record<string, number> = {};
  for (const { op, min } of byNode.values()) byOp[op] = (byOp[op] ?? 0) + min / 1000;
  return byOp;
}

const one = await profile(1);
const two = await profile(2);
const round = (v: number): number => Math.round(v * 100) / 100;
const ops = Object.keys(one).sort((a, b) => (one[b] as number) - (one[a] as number));
const rows = ops.map((op) => ({ op, oneThreadMs: round(one[op] as number), twoThreadsMs: round(two[op] ?? 0), speedup: round((one[op] as number) / (two[op] ?? Infinity)) }));
const total = (p: Record<string, number>): number => Object.values(p).reduce((s, v) => s + v, 0);
const serial = rows.filter((r) => r.speedup < 1.2);
for (const r of rows.slice(0, 20)) process.stdout.write(`${r.op.padEnd(22)} ${r.oneThreadMs.toFixed(2).padStart(7)} ${r.twoThreadsMs.toFixed(2).padStart(7)} ms  ${r.speedup.toFixed(2)}x\n`);
process.stdout.write(`total ${total(one).toFixed(1)} -> ${total(two).toFixed(1)} ms; ops a second thread does not speed up (< 1.2x): ${round(serial.reduce((s, r) => s + r.twoThreadsMs, 0))} ms on 2 threads\n`);
writeResult('cnn-profile', {
  what: 'one training step of the small ResNet (batch 64, 64 x 64), kernel time per onnxruntime op type, per node the minimum over 15 runs',
  command: 'npm run bench -- cnn-profile',
  totalOneThreadMs: round(total(one)),
  totalTwoThreadsMs: round(total(two)),
  notParallelMsOnTwoThreads: round(serial.reduce((s, r) => s + r.twoThreadsMs, 0)),
  ops: rows,
  load: round(os.loadavg()[0] as number),
});
process.exit(0);
