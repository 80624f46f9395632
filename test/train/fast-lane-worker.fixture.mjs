// A worker for worker-pool.test.ts's fast-lane tests. Fast-lane op 1 adds part + 1 to a shared sum and 1 to the
// worker's count of parts, after busy-waiting `workMs`; op 2 throws; op 3 exits the thread. Messages: `add` adds
// 1000 to the sum; `setup` sets the value op 1 adds on top (read before the next part).
import { parentPort, workerData } from 'node:worker_threads';
import { fastLane } from '../../src/train/_internal/fast-lane.mjs';

const sum = new Int32Array(workerData.sum);
const workerParts = new Int32Array(workerData.workerParts);
let extra = 0;
function run(op, part) {
  if (op === 2) throw new Error(`op 2 fails in a worker (part ${part})`);
  if (op === 3) process.exit(3);
  const until = performance.now() + workerData.workMs;
  while (performance.now() < until);
  Atomics.add(sum, 0, part + 1 + extra);
  Atomics.add(workerParts, 0, 1);
}
parentPort.on('message', (message) => {
  if (message.op === 'fast') return fastLane(new Int32Array(message.lane.ctrl), message.lane.epoch, run, parentPort);
  if (message.op === 'setup') {
    extra = message.extra;
    return;
  }
  if (message.op === 'add') Atomics.add(sum, 0, 1000);
  if (message.op !== 'release') parentPort.postMessage(message.id);
});
parentPort.postMessage('ready');
fastLane(new Int32Array(workerData.lane.ctrl), workerData.lane.epoch, run, parentPort);
