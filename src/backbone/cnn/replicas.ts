/**
 * Data-parallel replicas of the CNN engine: R copies of the network, each with its own onnxruntime sessions on its
 * own thread (replica 0 on the calling thread, 1..R-1 in worker threads: ./replica-worker-body.ts), each running an
 * equal share of every batch. The engine (./engine.ts) sums their gradients and merges their BN statistics.
 *
 * Why: onnxruntime parallelises inside each operator, handing out blocks of every convolution and elementwise pass
 * to its threads and meeting at a barrier after each (several hundred per training step of the default network);
 * on a 2-vCPU machine that costs little in some minutes and, in others, makes the 2-thread step slower than the
 * 1-thread one (docs/performance.md, fourth round). A replica keeps its share of the activations on one core from
 * the first layer to the last and meets the others once per step. Measured on this machine: 70-73 ms for a step of
 * 64 images with 2 replicas of 1 thread, against 82-86 or 135-138 ms for one session of 2 threads, and 85-89 ms
 * for PyTorch's (bench/results/cnn.json).
 *
 * Internal.
 */
import { availableParallelism } from 'node:os';
import { startWorkerPool, type WorkerPool } from '../../train/_internal/worker-pool.ts';
import { replicaBufferLength, replicaViews, type ReplicaMessage, type ReplicaOp, type ReplicaShape, type ReplicaViews, type ReplicaWorkerData } from './replica-memory.ts';
import type { CnnArchitecture } from './network.ts';

/** The threads (total) an engine of `threads` runs on: `threads`, or one per CPU the process may use. */
export function totalThreads(threads: number | undefined): number {
  return threads ?? availableParallelism();
}

/**
 * Replicas for training with batches of `batchSize` in BN groups of `bnRows` on `threads` threads: one per thread,
 * as long as each gets a group.
 */
export function replicasFor(batchSize: number, bnRows: number, threads: number | undefined): number {
  return Math.min(totalThreads(threads), bnGroups(batchSize, bnRows).length);
}

/**
 * The BN groups of a batch of `n` rows: floor(n / bnRows) near-equal groups (the larger first), each of `bnRows`
 * rows or more; one group of all rows when n < 2 bnRows (or bnRows is Infinity).
 */
export function bnGroups(n: number, bnRows: number): number[] {
  return sharesOf(n, Math.max(1, Math.floor(n / bnRows)));
}

/** The worker side of R replicas (1..R-1) and the memory they share with the calling thread. */
export class ReplicaWorkers {
  /** Views of the slots of replicas 1..R-1 (index 0: replica 1). */
  readonly slots: readonly ReplicaViews[];
  private readonly pool: WorkerPool;

  /**
   * Start the worker threads of `replicas` - 1 replicas of `arch`, each with onnxruntime sessions of `threads`
   * intra-op threads, room for `rowsPerSlot` rows; `ready` settles when all have built their sessions.
   */
  constructor(readonly arch: CnnArchitecture, options: { replicas: number; threads: number; training: boolean; rowsPerSlot: number; bnRows: number }) {
    const shape: ReplicaShape = { arch, rowsPerSlot: options.rowsPerSlot, slots: options.replicas - 1 };
    const buffer = new SharedArrayBuffer(4 * replicaBufferLength(shape));
    this.rowsPerSlot = options.rowsPerSlot;
    this.slots = Array.from({ length: shape.slots }, (_, s) => replicaViews(buffer, shape, s + 1));
    const url = import.meta.url.endsWith('.ts') ? new URL('./replica-worker.mjs', import.meta.url) : new URL('./replica-worker-body.js', import.meta.url);
    const data = this.slots.map((_, s): ReplicaWorkerData => ({ shape, buffer, slot: s + 1, training: options.training, threads: options.threads, bnRows: options.bnRows }));
    this.pool = startWorkerPool(url, data, { label: 'cnn replica', closeBy: 'message' });
  }

  /** Rows a slot has room for. */
  readonly rowsPerSlot: number;

  /** Settles when every worker has its sessions (rejects with the first start-up error). */
  get ready(): Promise<void> {
    return this.pool.ready;
  }

  /** The shared params and running statistics (the same views in every slot). */
  get shared(): ReplicaViews {
    return this.slots[0] as ReplicaViews;
  }

  /**
   * Copy the rows of replicas 1..R-1 (`shares[r]` rows each, after replica 0's; none for replicas past the end) of
   * `src` (`perRow` values a row) into their slots' `region`.
   */
  putRows(region: 'x' | 'rowsIn', src: Float32Array, perRow: number, shares: readonly number[]): void {
    let at = (shares[0] as number) * perRow;
    this.slots.forEach((slot, s) => {
      const n = (shares[s + 1] ?? 0) * perRow;
      slot[region].set(src.subarray(at, at + n));
      at += n;
    });
  }

  /** Copy the rows the replicas 1..R-1 wrote in their slots' `region` into `dst`, after replica 0's. */
  getRows(region: 'logits' | 'embedding', dst: Float32Array, perRow: number, shares: readonly number[]): void {
    let at = (shares[0] as number) * perRow;
    this.slots.forEach((slot, s) => {
      const n = (shares[s + 1] ?? 0) * perRow;
      dst.set(slot[region].subarray(0, n), at);
      at += n;
    });
  }

  /**
   * Run `op` on every worker replica: `plan` (step, forward, backward: the BN groups of each replica, replica 0
   * first) or `rows` (infer: each replica's rows); resolves when all are done.
   */
  run(op: ReplicaOp, work: Omit<ReplicaMessage, 'op' | 'id'>): Promise<void> {
    return this.pool.run(op, work);
  }

  /** Release the workers' sessions and stop them. */
  close(): Promise<void> {
    return this.pool.close();
  }
}

/** `n` in min(`parts`, n) near-equal shares (the larger first; [n] when n < 2). */
export function sharesOf(n: number, parts: number): number[] {
  const count = Math.max(1, Math.min(parts, n));
  const base = Math.floor(n / count);
  return Array.from({ length: count }, (_, r) => base + (r < n % count ? 1 : 0));
}

/**
 * BN batch statistics of a whole batch from those of its shares: per channel, mean = sum(n_r m_r) / n and the
 * biased variance sum(n_r (v_r + (m_r - mean)^2)) / n (`shares[r]`: rows of share r; every share's statistics are
 * over rows x side x side values of each channel, so rows weigh them). Written into `into`.
 */
export function mergeStats(shares: readonly number[], means: readonly Float32Array[], variances: readonly Float32Array[], into: { mean: Float32Array; variance: Float32Array }): void {
  const n = shares.reduce((a, b) => a + b, 0);
  const c = into.mean.length;
  for (let j = 0; j < c; j++) {
    let m = 0;
    for (let r = 0; r < shares.length; r++) m += (shares[r] as number) * ((means[r] as Float32Array)[j] as number);
    m /= n;
    let v = 0;
    for (let r = 0; r < shares.length; r++) {
      const d = ((means[r] as Float32Array)[j] as number) - m;
      v += (shares[r] as number) * (((variances[r] as Float32Array)[j] as number) + d * d);
    }
    into.mean[j] = m;
    into.variance[j] = v / n;
  }
}
