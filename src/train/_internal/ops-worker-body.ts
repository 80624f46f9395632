/**
 * Body of one worker thread of {@link createThreadedOps} with the JavaScript kernels (kernels.ts): owns the rows
 * `start..end-1` of the shared matrix X and answers `forward` / `backward` / `cells` messages by running the kernels
 * over its rows, writing into shared memory; `init` brings the data of a new LinearOps (worker-pool.ts reuses
 * idle workers), `release` drops the old one. (The WebAssembly kernels run in ops-worker-wasm.mjs, same protocol.)
 * Internal: started only by ../threaded-ops.ts (through ops-worker.mjs when running from TypeScript sources).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRangeRunner, type CellsMessage, type OpsWorkerData, type RangeOp } from './range-runner.ts';

type Message = CellsMessage & { op: RangeOp | 'init' | 'release'; id: number; data?: OpsWorkerData };

let run: ReturnType<typeof createRangeRunner> | null = createRangeRunner(workerData as OpsWorkerData);
parentPort?.on('message', (message: Message) => {
  if (message.op === 'release') {
    run = null;
    return;
  }
  if (message.op === 'init') run = createRangeRunner(message.data as OpsWorkerData);
  else run?.(message.op, message);
  parentPort?.postMessage(message.id);
});
parentPort?.postMessage('ready');
