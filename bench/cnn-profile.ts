/**
 * `npm run bench -- cnn-profile`: where the small ResNet's training step spends its time, per onnxruntime op type,
 * on 1 and on 2 intra-op threads (onnxruntime's profiler; per node the minimum over 15 runs, then summed by op
 * type), on one batch of 64 random 64 x 64 images (the architecture of `npm run bench -- cnn`). The ratio column
 * says which ops a second thread speeds up (about 2) and which it does not (about 1: onnxruntime runs them on one
 * thread). Writes bench/results/cnn-profile.json. Needs no data.
 *
 * Then 250 steps on 2 threads, each step's kernel time per op type: the quarter of steps that ran fastest against
 * the quarter that ran slowest (`bursts`). On a machine shared with other jobs, this says which ops its bursts slow
 * most (the slow quarter's ratio to the fast quarter's, per op type).
 *
 * Last (`handoff`, bench/handoff.ts), why: ten rounds of a parallel Add followed by onnxruntime's one-thread
 * BatchNormalization, on 1 and 2 intra-op threads. With 2 threads the Add's output is half written by the other
 * core, which the BatchNormalization then reads across.
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
import { handoffProbe } from './handoff.ts';
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

interface ProfileEvent { cat: string; name: string; dur: number; ts: number; args?: { op_name?: string } }

/** onnxruntime's profile of `runs` training steps on `threads` threads. */
async function profileEvents(threads: number, runs: number): Promise<ProfileEvent[]> {
  const prefix = join(os.tmpdir(), `fairhead-cnn-profile-${process.pid}-${threads}-${runs}`);
  const session = await ort.InferenceSession.create(graphs.train, {
    executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: 'all',
    intraOpNumThreads: threads, enableProfiling: true, profileFilePrefix: prefix,
  });
  const all = withDerivedFilters(feeds, graphs.derived, session.inputNames);
  for (let r = 0; r < runs; r++) await session.run(all);
  session.endProfiling();
  await session.release();
  const file = readdirSync(os.tmpdir()).map((f) => join(os.tmpdir(), f)).find((f) => f.startsWith(prefix));
  if (!file) throw new Error(`no profile written at ${prefix}*`);
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  unlinkSync(file);
  return events;
}

const isKernel = (e: ProfileEvent): boolean => e.cat === 'Node' && e.name.endsWith('_kernel_time');

/** Milliseconds per op type of one step on `threads` threads. */
async function profile(threads: number): Promise<Record<string, number>> {
  const events = await profileEvents(threads, RUNS);
  const byNode = new Map<string, { op: string; min: number }>();
  for (const e of events) {
    if (!isKernel(e)) continue;
    const node = byNode.get(e.name);
    if (!node) byNode.set(e.name, { op: e.args?.op_name ?? '?', min: e.dur });
    else node.min = Math.min(node.min, e.dur);
  }
  const byOp: Record<string, number> = {};
  for (const { op, min } of byNode.values()) byOp[op] = (byOp[op] ?? 0) + min / 1000;
  return byOp;
}

/**
 * `runs` steps on 2 threads (the first 5 left out), each step's wall time and kernel time per op type; the fastest
 * quarter of the steps against the slowest, op type by op type.
 */
async function bursts(runs: number): Promise<{ fastStepMs: number; slowStepMs: number; ops: { op: string; fastMs: number; slowMs: number; ratio: number }[] }> {
  const events = await profileEvents(2, runs);
  const steps = events.filter((e) => e.name === 'model_run').map((e) => ({ start: e.ts, end: e.ts + e.dur, ms: e.dur / 1000, byOp: {} as Record<string, number> }));
  let at = 0;
  for (const e of events.filter(isKernel).sort((a, b) => a.ts - b.ts)) {
    while (at < steps.length && e.ts > (steps[at] as { end: number }).end) at++;
    const step = steps[at];
    if (!step || e.ts < step.start) continue;
    const op = e.args?.op_name ?? '?';
    step.byOp[op] = (step.byOp[op] ?? 0) + e.dur / 1000;
  }
  const sorted = steps.slice(5).sort((a, b) => a.ms - b.ms);
  const quarter = Math.floor(sorted.length / 4);
  const fast = sorted.slice(0, quarter);
  const slow = sorted.slice(sorted.length - quarter);
  const mean = (set: typeof steps, f: (s: (typeof steps)[number]) => number): number => set.reduce((t, s) => t + f(s), 0) / set.length;
  const ops = Object.keys(fast[0]?.byOp ?? {}).map((op) => {
    const fastMs = mean(fast, (s) => s.byOp[op] ?? 0);
    const slowMs = mean(slow, (s) => s.byOp[op] ?? 0);
    return { op, fastMs: round(fastMs), slowMs: round(slowMs), ratio: round(slowMs / fastMs) };
  }).sort((a, b) => (b.slowMs - b.fastMs) - (a.slowMs - a.fastMs));
  return { fastStepMs: round(mean(fast, (s) => s.ms)), slowStepMs: round(mean(slow, (s) => s.ms)), ops };
}

const round = (v: number): number => Math.round(v * 100) / 100;
const one = await profile(1);
const two = await profile(2);
const ops = Object.keys(one).sort((a, b) => (one[b] as number) - (one[a] as number));
const rows = ops.map((op) => ({ op, oneThreadMs: round(one[op] as number), twoThreadsMs: round(two[op] ?? 0), speedup: round((one[op] as number) / (two[op] ?? Infinity)) }));
const total = (p: Record<string, number>): number => Object.values(p).reduce((s, v) => s + v, 0);
const serial = rows.filter((r) => r.speedup < 1.2);
for (const r of rows.slice(0, 20)) process.stdout.write(`${r.op.padEnd(22)} ${r.oneThreadMs.toFixed(2).padStart(7)} ${r.twoThreadsMs.toFixed(2).padStart(7)} ms  ${r.speedup.toFixed(2)}x\n`);
process.stdout.write(`total ${total(one).toFixed(1)} -> ${total(two).toFixed(1)} ms; ops a second thread does not speed up (< 1.2x): ${round(serial.reduce((s, r) => s + r.twoThreadsMs, 0))} ms on 2 threads\n`);
const burst = await bursts(250);
process.stdout.write(`250 steps on 2 threads: fastest quarter ${burst.fastStepMs} ms, slowest quarter ${burst.slowStepMs} ms; slowed most:\n`);
for (const r of burst.ops.slice(0, 12)) process.stdout.write(`${r.op.padEnd(22)} ${r.fastMs.toFixed(2).padStart(7)} ${r.slowMs.toFixed(2).padStart(7)} ms  ${r.ratio.toFixed(2)}x\n`);
const handoffs = await handoffProbe();
process.stdout.write(`parallel Add -> one-thread BatchNormalization x10: 1 thread ${handoffs.oneThreadMs} ms, 2 threads ${handoffs.twoThreadsMs} ms (${handoffs.ratio}x); BatchNormalization alone x10: ${handoffs.aloneOneThreadMs} / ${handoffs.aloneTwoThreadsMs} ms\n`);
writeResult('cnn-profile', {
  what: 'one training step of the small ResNet (batch 64, 64 x 64), kernel time per onnxruntime op type, per node the minimum over 15 runs',
  command: 'npm run bench -- cnn-profile',
  totalOneThreadMs: round(total(one)),
  totalTwoThreadsMs: round(total(two)),
  notParallelMsOnTwoThreads: round(serial.reduce((s, r) => s + r.twoThreadsMs, 0)),
  ops: rows,
  bursts: {
    what: '250 steps on 2 threads (first 5 left out): mean step and kernel time per op type of the fastest quarter of the steps and of the slowest quarter; ratio: slow / fast. Compute-bound ops (Conv, MatMul, Gemm) against memory-bound and one-thread ones (element-wise, copies, BatchNormalization)',
    ...burst,
  },
  handoff: {
    what: 'bench/handoff.ts: ten rounds of Add (parallel) then BatchNormalization in training mode (onnxruntime: one thread) on [64, 16, 32, 32], and BatchNormalization alone, median ms of 15 runs in 3 alternating blocks per thread count; ratio: the first on 2 threads over 1',
    ...handoffs,
  },
  load: round(os.loadavg()[0] as number),
});
process.exit(0);
