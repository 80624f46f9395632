// Worker thread of threaded-ops.ts for the WebAssembly kernels, in plain JavaScript so that it starts fast and
// small (no TypeScript loader in the worker: about 10 MB instead of 35 MB per thread). Its rows' work is
// wasm-range.mjs, as on the calling thread (range-runner.ts); this file is the message and fast-lane protocol.
import { parentPort, workerData } from 'node:worker_threads';
import { fastLane } from './fast-lane.mjs';
import { createWasmRange, FAST_OPS } from './wasm-range.mjs';

// Reused by later LinearOps (worker-pool.ts parks idle workers): `init` brings a new OpsWorkerData, `release`
// drops the references to the old buffers while the worker waits.
let current = createWasmRange(workerData);

function runFast(op) {
  if (op === FAST_OPS.forward) current.forward();
  else if (op === FAST_OPS.backward) current.backward();
  else current.cells(undefined);
}

parentPort.on('message', (message) => {
  // worker-pool.ts's fast lane (FAST_OPS; cells after a `cells` message with the setup)
  if (message.op === 'fast') return fastLane(new Int32Array(message.ctrl), message.generation, runFast, parentPort);
  if (message.op === 'init') current = createWasmRange(message.data);
  else if (message.op === 'release') current = null;
  else if (message.op === 'forward') current.forward();
  else if (message.op === 'cells') current.cells(message.setup);
  else current.backward();
  if (message.op !== 'release') parentPort.postMessage(message.id);
});
parentPort.postMessage('ready');
