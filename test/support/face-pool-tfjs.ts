/**
 * Test support (not a test): a pool of worker threads, each running face-api's net on its own tfjs wasm backend
 * (wasm threads are not available in Node, so one worker per core is how tfjs used more than one core): the engine
 * fairhead used before onnxruntime, kept as the reference of bench/backbones-face.ts.
 *
 * Workers are started from a `data:` URL module that registers tsx so the worker can import face-worker-tfjs.ts.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { FACE_EMBEDDING_DIM, FACE_INPUT_SIZE } from '../../src/backbone/_internal/face-net.ts';
import { imageBatches } from '../../src/data/images.ts';

/** Runs batches of 112 x 112 RGB bytes on free workers. */
export interface FacePool {
  readonly size: number;
  /** Bottlenecks of `count` images (count x 512), computed on the next free worker. */
  run(rgb: Uint8Array, count: number): Promise<Float32Array>;
  /** Stop every worker. */
  close(): Promise<void>;
}

type Reply = { id: number; z: Float32Array } | { id: number; error: string };

const require = createRequire(import.meta.url);

function workerSource(): string {
  const target = new URL('./face-worker-tfjs.ts', import.meta.url).href;
  const tsxApi = pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist/esm/api/index.mjs')).href;
  return `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(target)});`;
}

/** Start `size` workers and wait until each has loaded the net. */
export async function startTfjsFacePool(size: number): Promise<FacePool> {
  const url = new URL(`data:text/javascript,${encodeURIComponent(workerSource())}`);
  const workers = Array.from({ length: size }, () => new Worker(url));
  const pending = new Map<number, { resolve: (z: Float32Array) => void; reject: (e: Error) => void; worker: Worker }>();
  const idle: Worker[] = [];
  const waiting: ((w: Worker) => void)[] = [];
  let nextId = 0;
  let failure: Error | undefined;
  let closing = false;

  const release = (w: Worker): void => {
    const next = waiting.shift();
    if (next) next(w);
    else idle.push(w);
  };

  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('message', (m: { ready: boolean; error?: string }) => {
            if (m.ready) resolve();
            else reject(new Error(`face-api worker failed to start: ${m.error ?? 'unknown error'}`));
          });
          w.once('error', reject);
        }),
    ),
  ).catch(async (error: unknown) => {
    await Promise.all(workers.map((w) => w.terminate()));
    throw error;
  });

  for (const w of workers) {
    w.on('message', (m: Reply) => {
      const job = pending.get(m.id);
      if (!job) return;
      pending.delete(m.id);
      release(w);
      if ('error' in m) job.reject(new Error(`face-api worker: ${m.error}`));
      else job.resolve(m.z);
    });
    const fail = (error: Error): void => {
      failure ??= error;
      for (const [id, job] of pending) {
        if (job.worker === w) {
          pending.delete(id);
          job.reject(error);
        }
      }
      // callers waiting for a free worker are handed this dead one and see `failure`
      for (const next of waiting.splice(0)) next(w);
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (!closing) fail(new Error(`face-api worker exited unexpectedly (code ${code})`));
    });
    idle.push(w);
  }

  const acquire = (): Promise<Worker> => {
    const w = idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => waiting.push(resolve));
  };

  return {
    size,
    async run(rgb: Uint8Array, count: number): Promise<Float32Array> {
      if (failure) throw failure;
      const w = await acquire();
      if (failure) throw failure;
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject, worker: w });
        const copy = rgb.byteOffset === 0 && rgb.byteLength === rgb.buffer.byteLength ? rgb : rgb.slice();
        w.postMessage({ id, rgb: copy, count }, [copy.buffer as ArrayBuffer]);
      });
    },
    async close(): Promise<void> {
      closing = true;
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * fairhead 0.1's `embedImages` (no cache): sharp decodes batches of `batchSize` on libuv's pool while the pool's
 * workers run the net, each with one batch queued behind it. Returns the embeddings (row-major, skipped images
 * left out) and the indices of the embedded files.
 */
export async function embedImagesTfjs(pool: FacePool, files: readonly string[], batchSize = 16): Promise<{ z: Float32Array; rows: number[] }> {
  const z = new Float32Array(files.length * FACE_EMBEDDING_DIM);
  const rows: number[] = [];
  const inflight: Promise<void>[] = [];
  try {
    for await (const b of imageBatches(files, { size: FACE_INPUT_SIZE, batchSize })) {
      if (b.rows.length === 0) continue;
      const offset = rows.length * FACE_EMBEDDING_DIM;
      rows.push(...b.rows);
      const job = pool.run(b.pixels, b.rows.length).then((out) => z.set(out, offset));
      job.catch(() => undefined); // rethrown where awaited
      inflight.push(job);
      if (inflight.length >= 2 * pool.size) await inflight.shift();
    }
    await Promise.all(inflight);
  } finally {
    await Promise.allSettled(inflight);
  }
  return { z: z.slice(0, rows.length * FACE_EMBEDDING_DIM), rows };
}
