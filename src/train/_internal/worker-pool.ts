import { Worker } from 'node:worker_threads';
import { InputError, ShapeError } from '../../errors.ts';

/**
 * The worker threads behind the threaded and streaming LinearOps: one worker per row block, each sent the same
 * `{ op, id, ...extra }` message; a job settles when every worker has answered its id. Workers answer with the id alone,
 * or `{ id, error?, name? }` (an error named InputError or ShapeError keeps its class). Internal.
 */
export interface WorkerPool {
  /** Run `op` on every worker; rejects on a worker error, an exited worker, or after close(). */
  run(op: 'forward' | 'backward' | 'cells', extra?: object): Promise<void>;
  /** Stop the workers: `terminate` them, or send `{ op: 'close' }` and wait until each exits by itself. */
  close(): Promise<void>;
}

type Reply = number | { id: number; error?: string; name?: string };

/**
 * Start one worker per `workerData` entry and wait for each one's ready message (a reply with `error` rejects).
 * `label` names the pool in errors ("threaded LinearOps").
 */
export async function startWorkerPool(
  url: URL,
  workerData: readonly unknown[],
  label: string,
  closeBy: 'terminate' | 'message',
): Promise<WorkerPool> {
  const workers: Worker[] = [];
  const exited: Promise<void>[] = [];
  const ready: Promise<void>[] = [];
  for (const data of workerData) {
    const worker = new Worker(url, { workerData: data });
    workers.push(worker);
    exited.push(new Promise<void>((resolve) => worker.once('exit', () => resolve())));
    ready.push(
      new Promise<void>((resolve, reject) => {
        worker.once('message', (reply: Reply) => (typeof reply === 'object' && reply.error ? reject(new Error(reply.error)) : resolve()));
        worker.once('error', reject);
      }),
    );
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
  const failAll = (error: unknown): void => {
    failure ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  for (const worker of workers) {
    worker.on('message', (reply: Reply) => {
      const id = typeof reply === 'number' ? reply : reply.id;
      const p = pending.get(id);
      if (!p) return;
      if (typeof reply === 'object' && reply.error !== undefined) p.failed ??= rebuildError(reply.name, reply.error);
      if (--p.left === 0) {
        pending.delete(id);
        if (p.failed) p.reject(p.failed);
        else p.resolve();
      }
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => {
      if (!closed) failAll(new Error(`a ${label} worker thread exited (code ${code})`));
    });
  }

  let nextId = 0;
  return {
    run(op, extra) {
      if (closed) return Promise.reject(new Error(`${label} used after close()`));
      if (failure !== undefined) return Promise.reject(failure);
      const id = nextId++;
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { left: workers.length, failed: null, resolve, reject });
        for (const worker of workers) worker.postMessage({ ...extra, op, id });
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      failAll(new Error(`${label} closed`));
      if (closeBy === 'terminate') {
        await Promise.all(workers.map((wk) => wk.terminate()));
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
