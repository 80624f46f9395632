/**
 * The shared memory of the CNN engine's replicas (./replicas.ts): what the calling thread and the replica worker
 * threads (./replica-worker-body.ts) exchange at every run, in one SharedArrayBuffer of float32 values:
 *
 *     params (P) | running means (C) | running variances (C) | slot 1 | slot 2 | ...
 *     slot:  x (Q x 3 x S x S) | target or dlogits (Q x K) | logits (Q x K) | embedding (Q x E) | grads (P) | means (C) | variances (C)
 *
 * P: the network's param values, C: its BN channels (all layers), Q: a slot's row capacity, K: logits per row,
 * E: the embedding size. Slot s is replica s's (replica 0 runs on the calling thread and needs none). onnxruntime
 * cannot read a SharedArrayBuffer, so each side copies what it feeds in and what it fetches out: about 1.2 MB of
 * params and 1.5 MB of images per replica and step for the default network, a fraction of a millisecond.
 * Internal.
 */
import { describeNetwork, type CnnArchitecture } from './network.ts';

/** What fixes the layout: the architecture, the row capacity of a slot and the number of slots. */
export interface ReplicaShape {
  readonly arch: CnnArchitecture;
  readonly rowsPerSlot: number;
  readonly slots: number;
}

/** What ./replicas.ts passes to each worker (./replica-worker-body.ts). */
export interface ReplicaWorkerData {
  readonly shape: ReplicaShape;
  readonly buffer: SharedArrayBuffer;
  /** The worker's slot: its replica's number, 1..R-1. */
  readonly slot: number;
  readonly training: boolean;
  readonly threads: number;
  readonly bnRows: number;
}

/** The runs a worker replica does. */
export type ReplicaOp = 'step' | 'forward' | 'backward' | 'infer';

/** A message to the worker replicas (every worker gets the same one and reads its own part). */
export interface ReplicaMessage {
  readonly op: ReplicaOp | 'close';
  readonly id: number;
  /** step, forward, backward: the BN groups (rows of each) of every replica, replica 0 first. */
  readonly plan?: readonly (readonly number[])[];
  /** infer: the rows of every replica, replica 0 first. */
  readonly rows?: readonly number[];
  /** step: the loss's scale. */
  readonly scale?: number;
}

/** Views of one slot, and of the shared params and running statistics. */
export interface ReplicaViews {
  readonly params: Float32Array;
  readonly runningMean: Float32Array;
  readonly runningVar: Float32Array;
  readonly x: Float32Array;
  /** The training target rows (step), or d loss / d logits (backward). */
  readonly rowsIn: Float32Array;
  readonly logits: Float32Array;
  readonly embedding: Float32Array;
  readonly grads: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
}

function sizes(shape: ReplicaShape): { params: number; channels: number; image: number; slot: number[] } {
  const { params, bns } = describeNetwork(shape.arch);
  const p = params.reduce((s, q) => s + q.dims.reduce((a, b) => a * b, 1), 0);
  const c = bns.reduce((s, b) => s + b.channels, 0);
  const q = shape.rowsPerSlot;
  const k = shape.arch.outputs;
  const e = shape.arch.channels[shape.arch.channels.length - 1] as number;
  const image = 3 * shape.arch.size * shape.arch.size;
  return { params: p, channels: c, image, slot: [q * image, q * k, q * k, q * e, p, c, c] };
}

/** float32 values of the buffer. */
export function replicaBufferLength(shape: ReplicaShape): number {
  const s = sizes(shape);
  return s.params + 2 * s.channels + shape.slots * s.slot.reduce((a, b) => a + b, 0);
}

/** The views of slot `slot` (1-based: replica 1 has slot 1) in `buffer`. */
export function replicaViews(buffer: SharedArrayBuffer, shape: ReplicaShape, slot: number): ReplicaViews {
  const s = sizes(shape);
  const f = new Float32Array(buffer);
  let at = 0;
  const take = (n: number): Float32Array => {
    const v = f.subarray(at, at + n);
    at += n;
    return v;
  };
  const params = take(s.params);
  const runningMean = take(s.channels);
  const runningVar = take(s.channels);
  at += (slot - 1) * s.slot.reduce((a, b) => a + b, 0);
  const [x, rowsIn, logits, embedding, grads, mean, variance] = s.slot.map(take) as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  return { params, runningMean, runningVar, x, rowsIn, logits, embedding, grads, mean, variance };
}

/** Copy `parts` one after another into `flat`. */
export function packInto(flat: Float32Array, parts: readonly Float32Array[]): void {
  let at = 0;
  for (const p of parts) {
    flat.set(p, at);
    at += p.length;
  }
}

/** Copy `flat` out into `parts`, one after another. */
export function unpackFrom(flat: Float32Array, parts: readonly Float32Array[]): void {
  let at = 0;
  for (const p of parts) {
    p.set(flat.subarray(at, at + p.length));
    at += p.length;
  }
}
