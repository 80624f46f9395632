/**
 * Body of one replica worker thread of ./replicas.ts: a CnnEngine of its own (one network copy, its own
 * onnxruntime sessions) that runs its part of every batch. It reads the params, running statistics and its rows from
 * the shared memory (./replica-memory.ts) and writes back logits, embeddings, gradients and BN batch statistics;
 * the calling thread sums and merges them. Messages: `step`, `forward`, `backward` (each with the plan: the BN
 * groups of every replica), `infer` (the rows of every replica), `close`.
 * Internal: started only by ./replicas.ts (through replica-worker.mjs when running from sources).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';
import { CnnEngine, emptyWeights } from './engine.ts';
import { replicaViews, unpackFrom, type ReplicaMessage, type ReplicaWorkerData } from './replica-memory.ts';

const data = workerData as ReplicaWorkerData;
const { arch } = data.shape;
const k = arch.outputs;
const e = arch.channels[arch.channels.length - 1] as number;
const image = 3 * arch.size * arch.size;
const v = replicaViews(data.buffer, data.shape, data.slot);

let engine: CnnEngine;
try {
  engine = await CnnEngine.create(arch, { training: data.training, threads: data.threads, bnRows: data.bnRows });
} catch (error) {
  parentPort?.postMessage({ id: -1, error: error instanceof Error ? error.message : String(error) });
  throw error;
}
const w = engine.adopt(emptyWeights(arch));
// onnxruntime reads no SharedArrayBuffer: the rows are copied into memory of this thread's own
const x = new Float32Array(v.x.length);
const rowsIn = new Float32Array(v.rowsIn.length);
let saved: ort.InferenceSession.OnnxValueMapType[] = [];

async function serve(m: ReplicaMessage): Promise<void> {
  if (m.op === 'infer') {
    const n = m.rows?.[data.slot] ?? 0;
    if (n === 0) return;
    unpackFrom(v.params, w.params);
    unpackFrom(v.runningMean, w.runningMean);
    unpackFrom(v.runningVar, w.runningVar);
    x.set(v.x.subarray(0, n * image));
    const out = await engine.infer(w, x, n);
    v.logits.set(out.logits.subarray(0, n * k));
    v.embedding.set(out.embedding.subarray(0, n * e));
    return;
  }
  const groups = m.plan?.[data.slot] ?? [];
  const n = groups.reduce((a, b) => a + b, 0);
  if (n === 0) return;
  unpackFrom(v.params, w.params);
  if (m.op === 'backward') {
    if (saved.length !== groups.length) throw new Error('cnn replica: backward without its forward');
    rowsIn.set(v.rowsIn.subarray(0, n * k));
    await engine.backwardGroups(w, saved, rowsIn, groups);
    saved = [];
  } else {
    x.set(v.x.subarray(0, n * image));
    if (m.op === 'step') {
      rowsIn.set(v.rowsIn.subarray(0, n * k));
      await engine.trainGroups(w, x, rowsIn, groups, m.scale ?? 1, v);
    } else {
      saved = await engine.forwardGroups(w, x, groups, v);
    }
  }
  if (m.op !== 'forward') v.grads.set(engine.flatGrads);
}

parentPort?.on('message', (m: ReplicaMessage) => {
  if (m.op === 'close') {
    void engine.release().finally(() => parentPort?.close());
    return;
  }
  serve(m).then(
    () => parentPort?.postMessage({ id: m.id }),
    (error: unknown) => parentPort?.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error), name: error instanceof Error ? error.name : 'Error' }),
  );
});
parentPort?.postMessage({ id: -1 });
