import { Worker } from 'node:worker_threads';
import { InputError, ShapeError } from '../../errors.ts';
import { DONE, FAILED, GENERATION, OP } from './fast-lane.mjs';

/**
 * The worker threads behind the threaded and streaming LinearOps: one worker per row block, each sent the same
 * `{ op, id, ...extra }` message; a job settles when every worker has answered its id. Workers answer with the id
 * alone, or `{ id, error?, name? }` (an error named InputError or ShapeError keeps its class). Internal.
 */
export interface WorkerPool {
  /** Run `op` on every worker; rejects on a worker error, an exited worker, or after close(). */
  run(op: 'forward' | 'backward' | 'cells', extra?: object): Promise<void>;
  /**
   * Run fast-lane operation `op` (1, 2, 3, ...: its meaning is the worker script's) on every worker, woken through
   * shared memory instead of a message, while `local` runs on the calling thread (its own share of the work);
   * resolves when both are done. Costs tens of microseconds where a message round trip costs hundreds, which is
   * what a pass over a few thousand rows takes. The worker script must answer the `fast` message (see below).
   */
  runFast(op: number, local: () => void): Promise<void>;
  /** Stop the workers (see {@link startWorkerPool}'s `closeBy`). */
  close(): Promise<void>;
}

/**
 * The fast lane's shared words: [generation, op, done, failed]. A worker sent `{ op: 'fast', ctrl, generation }`
 * leaves its event loop and waits (Atomics.wait) for the generation to change; it then runs `op` (0: go back to
 * the event loop), adds 1 to `done` and notifies it; on an error it sets `failed`, adds to `done`, posts
 * `{ id: -2, error }` and goes back to its event loop. Messages are sent only after op 0. The worker side, and the
 * words' indices: fast-lane.mjs.
 */
/** Checks of `done` before the calling thread waits asynchronously (a worker usually finishes within them). */
const SPINS = 20_000;

interface AsyncWaitAtomics {
  waitAsync(array: Int32Array, index: number, value: number): { async: boolean; value: Promise<unknown> | string };
}

type Reply = number | { id: number; error?: string; name?: string };

/**
 * Idle workers by script URL, parked by pools closed with `park`: a later pool of the same script takes them
 * (an `init` message with its data) instead of starting threads, which costs tens of milliseconds each; a fit
 * that creates several LinearOps (target mode, sweeps, the M2 fine-tuning sets of a benchmark) pays it once.
 * Parked workers are unref'd: they never keep the process alive.
 */
const parked = new Map<string, Worker[]>();

/**
 * Start (or take from the parked ones) one worker per `workerData` entry and wait for each one's ready message
 * (a reply with `error` rejects). `label` names the pool in errors ("threaded LinearOps"). `closeBy`:
 * `terminate` the workers; send `{ op: 'close' }` and wait until each exits by itself (`message`); or `park`
 * them for reuse after a `{ op: 'release' }` message (their script must answer `init` and `release`).
 */
export async function startWorkerPool(
  url: URL,
  workerData: readonly unknown[],
  label: string,
  closeBy: 'terminate' | 'message' | 'park',
): Promise<WorkerPool> {
  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  const ready: Promise<void>[] = [];
  const idle = closeBy === 'park' ? (parked.get(url.href) ?? []) : [];
  for (const data of workerData) {
    const reused = idle.pop();
    // Plain-JavaScript workers (.mjs) start without the parent's loader flags (tsx's --import costs ~100 ms
    // and ~25 MB per worker); the TypeScript ones register their loader themselves (ops-worker.mjs).
    const worker = reused ?? new Worker(url, { workerData: data, execArgv: [] });
    if (!reused && closeBy === 'park') {
      // for the worker's whole life: a parked worker that fails or exits is forgotten, never an unhandled error
      worker.on('error', () => {});
      worker.on('exit', () => {
        const shelf = parked.get(url.href);
        const i = shelf ? shelf.indexOf(worker) : -1;
        if (shelf && i >= 0) shelf.splice(i, 1);
      });
    }
    workers.push(worker);
    if (closeBy === 'message') exited.push(new Promise<void>((resolve) => worker.once('exit', () => resolve())));
    ready.push(
      new Promise<void>((resolve, reject) => {
        const onReady = (reply: Reply): void => {
          worker.off('error', onError);
          if (typeof reply === 'object' && reply.error) reject(new Error(reply.error));
          else resolve();
        };
        const onError = (error: unknown): void => {
          worker.off('message', onReady);
          reject(error);
        };
        worker.once('message', onReady);
        worker.once('error', onError);
      }),
    );
    if (reused) {
      reused.ref();
      reused.postMessage({ op: 'init', id: -1, data });
    }
  }
  try {
    await Promise.all(ready);
  } catch (error) {
    await Promise.all(workers.map((wk) => wk.terminate()));
    throw error;
  }

  const pending = new Map<number, { left: number; failed: Error | null; resolve: () => void; reject: (e: unknown) => void }>();
  let failure: unknown;
  let closed = false;
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
  const ctrl = new Int32Array(new SharedArrayBuffer(16));
  let fastActive = false;
  const leaveFastLane = (): void => {
    if (!fastActive) return;
    fastActive = false;
    Atomics.store(ctrl, OP, 0);
    Atomics.add(ctrl, GENERATION, 1);
    Atomics.notify(ctrl, GENERATION);
  };
  const waitAsync = (Atomics as unknown as AsyncWaitAtomics).waitAsync.bind(Atomics);
  const onMessage = (reply: Reply): void => {
    const id = typeof reply === 'number' ? reply : reply.id;
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
  for (const worker of workers) {
    worker.on('message', onMessage);
    worker.on('error', failAll);
    worker.on('exit', onExit);
  }

  let nextId = 0;
  return {
    run(op, extra) {
      if (closed) return Promise.reject(new Error(`${label} used after close()`));
      if (failure !== undefined) return Promise.reject(failure);
      leaveFastLane();
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { left: workers.length, failed: null, resolve, reject });
        for (const worker of workers) worker.postMessage({ ...extra, op, id });
      });
    },
    async runFast(op, local) {
      if (closed) throw new Error(`${label} used after close()`);
      if (failure !== undefined) throw failure;
      if (!fastActive) {
        const generation = Atomics.load(ctrl, GENERATION);
        for (const worker of workers) worker.postMessage({ op: 'fast', ctrl: ctrl.buffer, generation, id: -1 });
        fastActive = true;
      }
      const count = workers.length;
      Atomics.store(ctrl, DONE, 0);
      Atomics.store(ctrl, FAILED, 0);
      Atomics.store(ctrl, OP, op);
      Atomics.add(ctrl, GENERATION, 1);
      Atomics.notify(ctrl, GENERATION);
      let localError: unknown = null;
      try {
        local();
      } catch (error) {
        localError = error;
      }
      for (let spin = 0; spin < SPINS && Atomics.load(ctrl, DONE) < count; spin++);
      for (let done = Atomics.load(ctrl, DONE); done < count; done = Atomics.load(ctrl, DONE)) {
        const wait = waitAsync(ctrl, DONE, done);
        if (wait.async) await Promise.race([wait.value, failed]);
      }
      if (Atomics.load(ctrl, FAILED) !== 0) {
        fastActive = false;
        throw new Error(`a ${label} worker thread failed`);
      }
      if (localError !== null) throw localError;
    },
    async close() {
      if (closed) return;
      closed = true;
      leaveFastLane();
      const broken = failure !== undefined;
      failAll(new Error(`${label} closed`));
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
