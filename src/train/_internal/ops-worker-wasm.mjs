// Worker thread of threaded-ops.ts for the WebAssembly kernels, in plain JavaScript so that it starts fast and
// small (no TypeScript loader in the worker: about 10 MB instead of 35 MB per thread). A part's rows' work is
// wasm-range.mjs, as on the calling thread; this file is the message and fast-lane protocol. The worker can run
// any part (it takes them from the fast lane's shared counter), so it prepares all of them.
import { parentPort, workerData } from 'node:worker_threads';
import { fastLane } from './fast-lane.mjs';
import { createWasmRange, runFastOp } from './wasm-range.mjs';

// Reused by later LinearOps (worker-pool.ts parks idle workers): `init` brings new data, `release` drops the
// references to the old buffers while the worker waits.
let parts = workerData.parts.map(createWasmRange);

function runPart(op, part) {
  runFastOp(parts[part], op);
}

/** Serve the lane until the pool leaves it (a message to read, or close), then return to the event loop. */
function join(lane) {
  fastLane(new Int32Array(lane.ctrl), lane.epoch, runPart, parentPort);
}

parentPort.on('message', (message) => {
  // a `setup` (worker-pool.ts broadcast) arrives before the `fast` message that rejoins the lane
  if (message.op === 'fast') return join(message.lane);
  if (message.op === 'setup') return parts.forEach((range) => range.setupCells(message.setup, false));
  if (message.op === 'release') {
    parts = null;
    return;
  }
  if (message.op === 'init') {
    parts = message.data.parts.map(createWasmRange);
    parentPort.postMessage(message.id);
    join(message.lane);
  }
});
parentPort.postMessage('ready');
// straight into the lane: the calling thread learns nothing from this thread's event loop before a fit ends; a
// worker started ahead of any pool (startTrainerThreads) has no lane yet and waits for its `init`
if (workerData.lane) join(workerData.lane);
