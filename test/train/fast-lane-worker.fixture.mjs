// A worker for worker-pool.test.ts's fast-lane tests: op 1 adds its slot + 1 to a shared sum, op 2 throws, op 3
// exits the thread. Plain messages: `add` does what op 1 does.
import { parentPort, workerData } from 'node:worker_threads';
import { fastLane } from '../../src/train/_internal/fast-lane.mjs';

const sum = new Int32Array(workerData.sum);
const add = () => Atomics.add(sum, 0, workerData.slot + 1);
function run(op) {
  if (op === 1) add();
  else if (op === 2) throw new Error(`op 2 fails in worker ${workerData.slot}`);
  else process.exit(3);
}
parentPort.on('message', (message) => {
  if (message.op === 'fast') return fastLane(new Int32Array(message.ctrl), message.generation, run, parentPort);
  if (message.op === 'add') add();
  if (message.op !== 'release') parentPort.postMessage(message.id);
});
parentPort.postMessage('ready');
