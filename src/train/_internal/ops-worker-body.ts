/**
 * Body of one worker thread of {@link createThreadedOps} with the JavaScript kernels (kernels.ts): owns the rows
 * `start..end-1` of the shared matrix X and answers `forward` / `backward` messages by running the kernels over
 * its rows, writing into shared memory. (The WebAssembly kernels run in ops-worker-wasm.mjs, same protocol.)
 * Internal: started only by ../threaded-ops.ts (through ops-worker.mjs when running from TypeScript sources).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRangeRunner, type CellsMessage, type OpsWorkerData, type RangeOp } from './range-runner.ts';

const run = createRangeRunner(workerData as OpsWorkerData);
parentPort?.on('message', (message: CellsMessage & { op: RangeOp; id: number }) => {
  run(message.op, message);
  parentPort?.postMessage(message.id);
});
parentPort?.postMessage('ready');
