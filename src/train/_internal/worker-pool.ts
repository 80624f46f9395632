import { Worker } from 'node:worker_threads';
import { InputError, ShapeError } from '../../errors.ts';
import { CLAIM, claimPart, claimWord, CTRL_WORDS, DONE, EPOCH, EPOCH_MASK, FAILED, GEN_MASK, GENERATION, MAX_PARTS, OP, PARTS, SPINS, spinWhileBelow } from './fast-lane.mjs';

/**
 * The worker threads behind the threaded and streaming LinearOps. Two ways to give them work:
 * - messages (`run`): every worker is sent the same `{ op, id, ...extra }` message; a job settles when every worker
 *   has answered its id, with the id alone or `{ id, error?, name? }` (an error named InputError or ShapeError
 *   keeps its class);
 * - the fast lane (`runFast`, pools started with `lane: true`): an operation in parts taken from a shared counter
 *   by the calling thread and the workers (fast-lane.mjs).
 * Internal.
 */
export interface WorkerPool {
  /** Settles once every worker has started: resolves, or rejects with the first start-up error. */
  readonly ready: Promise<void>;
  /**
   * Send `op` to every worker (after `ready`) and wait for each one's answer; rejects on a worker error, an exited
   * worker, or after close().
   */
  run(op: string, extra?: object): Promise<void>;
  /**
   * Run fast-lane operation `op` (1, 2, 3, ...: its meaning is the worker script's) in `parts` parts: the calling
   * thread runs `runPart(part)` for the parts it takes and the workers in the lane take the others; resolves when
   * every part is done. Workers still starting take none, so the first operations need not wait for them; a
   * worker that is descheduled leaves its parts to the others. Costs a few microseconds where a message round
   * trip costs hundreds, which is what a pass over a few thousand rows takes.
   */
  runFast(op: number, parts: number, runPart: (part: number) => void): Promise<void>;
  /**
   * Send `message` to every worker, to be read before its next fast-lane part (a new setup): the workers leave the
   * lane, read it in their event loop, and rejoin. Nothing waits for them: until they are back, the calling thread
   * takes every part.
   */
  broadcast(message: object): void;
  /** Stop the workers (see {@link startWorkerPool}'s `closeBy`). */
  close(): Promise<void>;
}

interface AsyncWaitAtomics {
  waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<unknown> | string };
}

type Reply = number | string | { id: number; error?: string; name?: string };

/**
 * Idle workers by script URL, parked by pools closed with `park` or started ahead by {@link parkWorkers}: a later
 * pool of the same script takes them (an `init` message with its data) instead of starting threads, which costs
 * tens of milliseconds each; a fit that creates several LinearOps (target mode, sweeps, the M2 fine-tuning sets of
 * a benchmark) pays it once, and a command that starts them while it reads its data, not at all.
 * Parked workers are unref'd: they never keep the process alive.
 */
const parked = new Map<string, Worker[]>();

/** Workers started by parkable pools or {@link parkWorkers}, by script URL: ever, and alive (until they exit). */
const startedCount = new Map<string, number>();
const aliveCount = new Map<string, number>();

/**
 * A new worker of `url`. Plain-JavaScript workers (.mjs) start without the parent's loader flags (tsx's --import
 * costs ~100 ms and ~25 MB per worker); the TypeScript ones register their loader themselves (ops-worker.mjs).
 */
function spawnWorker(url: URL, workerData: unknown): Worker {
  return new Worker(url, { workerData, execArgv: [] });
}

/**
 * A worker of `url` that a pool closed with `park` (or {@link parkWorkers}) may shelve: for its whole life, an error
 * or exit takes it off the shelf and out of the count, and is never an unhandled error.
 */
function parkableWorker(url: URL, workerData: unknown): Worker {
  const worker = spawnWorker(url, workerData);
  startedCount.set(url.href, (startedCount.get(url.href) ?? 0) + 1);
  aliveCount.set(url.href, (aliveCount.get(url.href) ?? 0) + 1);
  worker.on('error', () => {});
  worker.on('exit', () => {
    aliveCount.set(url.href, (aliveCount.get(url.href) ?? 1) - 1);
    const shelf = parked.get(url.href);
    const at = shelf ? shelf.indexOf(worker) : -1;
    if (shelf && at >= 0) shelf.splice(at, 1);
  });
  return worker;
}

/** Parkable workers of `url` in this process: started ever, alive now (in pools or parked), and parked. */
export function poolWorkers(url: URL): { started: number; alive: number; parked: number } {
  return { started: startedCount.get(url.href) ?? 0, alive: aliveCount.get(url.href) ?? 0, parked: parked.get(url.href)?.length ?? 0 };
}

/**
 * Start workers of `url` until `count` of them are alive in this process (parked or in a pool), each with
 * `workerData`, and park them at once (unref'd) for the next pool of that script. A worker takes 20-50 ms to
 * start: started while a command reads its data, it is ready for the first fit. The script must wait for `init`
 * when its workerData has no work (as ops-worker-wasm.mjs does without a lane). Resolves once each new worker has
 * sent its first message or exited (nothing needs to wait for it).
 */
export function parkWorkers(url: URL, count: number, workerData: unknown): Promise<void> {
  const shelf = parked.get(url.href) ?? [];
  const up: Promise<void>[] = [];
  for (let i = aliveCount.get(url.href) ?? 0; i < count; i++) {
    const worker = parkableWorker(url, workerData);
    up.push(new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      worker.once('exit', () => resolve());
    }));
    worker.unref();
    shelf.push(worker);
  }
  parked.set(url.href, shelf);
  return Promise.all(up).then(() => {});
}

/** Options of {@link startWorkerPool}. */
export interface PoolOptions {
  /** Names the pool in errors ("threaded LinearOps"). */
  readonly label: string;
  /**
   * `terminate` the workers; send `{ op: 'close' }` and wait until each exits by itself (`message`); or `park`
   * them for reuse after a `{ op: 'release' }` message (their script must answer `init` and `release`).
   */
  readonly closeBy: 'terminate' | 'message' | 'park';
  /** Workers join the fast lane as soon as they have started (their script must answer `fast`). */
  readonly lane?: boolean;
}

/**
 * Start (or take from the parked ones) one worker per `workerData` entry. Returns at once: `ready` settles when
 * each has sent its first message (a reply with `error` is a start-up failure); `run` waits for it, `runFast`
 * does not.
 */
export function startWorkerPool(url: URL, workerData: readonly unknown[], options: PoolOptions): WorkerPool {
  const { label, closeBy } = options;
  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  const started: Promise<void>[] = [];
  const stopListening: (() => void)[] = [];
  const idle = closeBy === 'park' ? (parked.get(url.href) ?? []) : [];
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_WORDS));
  let epoch = 0;
  let gen = 0;
  let closed = false;
  let failure: unknown;
  const pending = new Map<number, { left: number; failed: Error | null; resolve: () => void; reject: (e: unknown) => void }>();
  // rejected (once) on the first worker error or exit: what a fast-lane wait races against
  let onFailure: (error: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    onFailure = reject;
  });
  failed.catch(() => {});
  const failAll = (error: unknown): void => {
    failure ??= error;
    onFailure(failure);
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  /** Where a worker of a lane pool finds the lane (in its workerData, `init` and `fast` messages). */
  const lane = (): { ctrl: SharedArrayBuffer; epoch: number } | undefined => (options.lane ? { ctrl: ctrl.buffer as SharedArrayBuffer, epoch } : undefined);

  const onMessage = (reply: Reply): void => {
    if (typeof reply === 'string') return;
    const id = typeof reply === 'number' ? reply : reply.id;
    if (id === -2 && typeof reply === 'object') {
      // a fast-lane part failed in that worker (the operation itself rejects through FAILED); it is back in its
      // event loop, out of the lane
      failAll(new Error(reply.error ?? `a ${label} worker thread failed`));
      return;
    }
    const p = pending.get(id);
    if (!p) return;
    if (typeof reply === 'object' && reply.error !== undefined) p.failed ??= rebuildError(reply.name, reply.error);
    if (--p.left === 0) {
      pending.delete(id);
      if (p.failed) p.reject(p.failed);
      else p.resolve();
    }
  };
  const onExit = (code: number): void => {
    if (!closed) failAll(new Error(`a ${label} worker thread exited (code ${code})`));
  };

  workerData.forEach((data) => {
    const reused = idle.pop();
    const startData = options.lane ? { ...(data as object), lane: lane() } : data;
    const worker = reused ?? (closeBy === 'park' ? parkableWorker(url, startData) : spawnWorker(url, startData));
    workers.push(worker);
    if (closeBy === 'message') exited.push(new Promise<void>((resolve) => worker.once('exit', () => resolve())));
    started.push(
      new Promise<void>((resolve, reject) => {
        const onReady = (reply: Reply): void => {
          worker.off('error', onError);
          if (typeof reply === 'object' && reply.error) {
            reject(new Error(reply.error));
            return;
          }
          resolve();
          if (!closed) worker.on('message', onMessage);
        };
        const onError = (error: unknown): void => {
          worker.off('message', onReady);
          reject(error);
        };
        worker.once('message', onReady);
        worker.once('error', onError);
        // a pool closed before its workers started (a short fit) stops listening for them
        stopListening.push(() => {
          worker.off('message', onReady);
          worker.off('error', onError);
        });
      }),
    );
    worker.on('error', failAll);
    worker.on('exit', onExit);
    if (reused) {
      reused.ref();
      reused.postMessage({ op: 'init', id: -1, data, lane: lane() });
    }
  });
  const ready = Promise.all(started).then(() => {});
  ready.catch((error: unknown) => {
    failAll(error);
    if (!closed) void Promise.all(workers.map((wk) => wk.terminate()));
  });

  const waitAsync = (Atomics as unknown as AsyncWaitAtomics).waitAsync.bind(Atomics);
  /** Leave the lane: every worker in it returns to its event loop at its next check. */
  const leaveLane = (): void => {
    epoch = (epoch + 1) & EPOCH_MASK;
    Atomics.store(ctrl, EPOCH, epoch);
    Atomics.add(ctrl, GENERATION, 1);
    Atomics.notify(ctrl, GENERATION);
  };

  /**
   * Post `message` to every worker. In a lane pool the workers leave the lane first, to read it in their event loop,
   * and a `fast` message after it brings each back (a worker still starting reads both once started).
   */
  const sendAll = (message: object): void => {
    if (options.lane) leaveLane();
    for (const worker of workers) {
      worker.postMessage(message);
      if (options.lane) worker.postMessage({ op: 'fast', id: -1, lane: lane() });
    }
  };

  let nextId = 0;
  return {
    ready,
    async run(op, extra) {
      await ready;
      if (closed) throw new Error(`${label} used after close()`);
      if (failure !== undefined) throw failure;
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { left: workers.length, failed: null, resolve, reject });
        sendAll({ ...extra, op, id });
      });
    },
    async runFast(op, parts, runPart) {
      if (closed) throw new Error(`${label} used after close()`);
      if (failure !== undefined) throw failure;
      if (!(parts >= 1 && parts <= MAX_PARTS)) throw new RangeError(`fast-lane parts must be 1..${MAX_PARTS}, received ${parts}`);
      gen = (gen + 1) & GEN_MASK;
      const opened = claimWord(epoch, gen);
      Atomics.store(ctrl, OP, op);
      Atomics.store(ctrl, PARTS, parts);
      Atomics.store(ctrl, DONE, 0);
      Atomics.store(ctrl, FAILED, 0);
      Atomics.store(ctrl, CLAIM, opened);
      Atomics.add(ctrl, GENERATION, 1);
      Atomics.notify(ctrl, GENERATION);
      let localError: unknown = null;
      for (let part = claimPart(ctrl, opened, parts); part >= 0; part = claimPart(ctrl, opened, parts)) {
        if (localError === null) {
          try {
            runPart(part);
          } catch (error) {
            localError = error;
          }
        }
        Atomics.add(ctrl, DONE, 1);
      }
      for (let done = spinWhileBelow(ctrl, DONE, parts, SPINS); done < parts; done = Atomics.load(ctrl, DONE)) {
        const wait = waitAsync(ctrl, DONE, done);
        if (wait.async) await Promise.race([wait.value, failed]);
      }
      if (Atomics.load(ctrl, FAILED) !== 0) throw new Error(`a ${label} worker thread failed`);
      if (localError !== null) throw localError;
    },
    broadcast(message) {
      if (closed) throw new Error(`${label} used after close()`);
      sendAll({ ...message, id: -1 });
    },
    async close() {
      if (closed) return;
      closed = true;
      leaveLane();
      const broken = failure !== undefined;
      failAll(new Error(`${label} closed`));
      for (const stop of stopListening) stop();
      for (const wk of workers) {
        wk.off('message', onMessage);
        wk.off('error', failAll);
        wk.off('exit', onExit);
      }
      if (closeBy === 'terminate' || (closeBy === 'park' && broken)) {
        await Promise.all(workers.map((wk) => wk.terminate()));
        return;
      }
      if (closeBy === 'park') {
        // at once, started or not: a later pool's `init` waits in the queue of a worker that is still starting
        const shelf = parked.get(url.href) ?? [];
        for (const wk of workers) {
          wk.postMessage({ op: 'release', id: -1 });
          wk.unref();
          shelf.push(wk);
        }
        parked.set(url.href, shelf);
        return;
      }
      for (const wk of workers) wk.postMessage({ op: 'close', id: -1 });
      await Promise.all(exited);
    },
  };
}

function rebuildError(name: string | undefined, message: string): Error {
  if (name === 'InputError') return new InputError(message);
  if (name === 'ShapeError') return new ShapeError(message);
  return new Error(message);
}
