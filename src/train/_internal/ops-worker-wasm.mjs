// Worker thread of threaded-ops.ts for the WebAssembly kernels, in plain JavaScript so that it starts fast and
// small (no TypeScript loader in the worker: about 10 MB instead of 35 MB per thread). Same protocol and
// shared-memory layout as range-runner.ts (OpsWorkerData; this is its wasm branch); the last 1-3 rows of
// the thread's block, which the 4-row WebAssembly loops do not cover, are done here with plain loops.
import { parentPort, workerData } from 'node:worker_threads';
import { cellStride, createCellPass, backwardKernel, forwardKernel } from './cell-pass.mjs';
import { fastLane } from './fast-lane.mjs';
import { rowViews } from './row-views.mjs';

const BLOCK_ROWS = 256; // rows summed in float32 by the backward loop before adding into float64

/** The handlers of one LinearOps over this thread's rows (`data`: OpsWorkerData of range-runner.ts). */
function setup(data) {
  const { rows: n, cols: d, outputs: k, start, end, slot, wasm } = data;
  const x = new Float32Array(data.xBuffer, data.xOffset, n * d);
  const { w, b, rowValues, gw, gb } = rowViews(data.fBuffer, n, d, k, slot);

  const kernels = new WebAssembly.Instance(wasm.module, { env: { mem: wasm.memory } }).exports;
  const heap = new Float32Array(wasm.memory.buffer);
  const rows4 = Math.floor((end - start) / 4) * 4;
  const w32 = heap.subarray(wasm.wAt / 4, wasm.wAt / 4 + d);
  const rows32 = heap.subarray(wasm.rowsAt / 4, wasm.rowsAt / 4 + rows4);
  const acc32 = heap.subarray(wasm.accAt / 4, wasm.accAt / 4 + d);
  const xAt = data.xOffset + start * d * 4;

  function forward() {
    for (let j = 0; j < k; j++) {
      for (let c = 0; c < d; c++) w32[c] = w[j * d + c];
      forwardKernel(kernels, d)(xAt, d, rows4, wasm.wAt, wasm.rowsAt);
      const bj = b[j];
      for (let r = 0; r < rows4; r++) rowValues[(start + r) * k + j] = rows32[r] + bj;
      for (let i = start + rows4; i < end; i++) {
        let s = bj;
        for (let c = 0; c < d; c++) s += x[i * d + c] * w[j * d + c];
        rowValues[i * k + j] = s;
      }
    }
  }

  function backward() {
    gw.fill(0);
    gb.fill(0);
    for (let j = 0; j < k; j++) {
      let sum = 0;
      for (let r = 0; r < rows4; r++) {
        const v = rowValues[(start + r) * k + j];
        rows32[r] = v;
        sum += v;
      }
      for (let r0 = 0; r0 < rows4; r0 += BLOCK_ROWS) {
        acc32.fill(0);
        backwardKernel(kernels, d)(xAt + r0 * d * 4, d, Math.min(BLOCK_ROWS, rows4 - r0), wasm.rowsAt + r0 * 4, wasm.accAt);
        for (let c = 0; c < d; c++) gw[j * d + c] += acc32[c];
      }
      for (let i = start + rows4; i < end; i++) {
        const g = rowValues[i * k + j];
        sum += g;
        for (let c = 0; c < d; c++) gw[j * d + c] += x[i * d + c] * g;
      }
      gb[j] = sum;
    }
  }

  let cellPass = null;

  // Same as range-runner.ts's cellPassOf, for this thread.
  function cells(setup) {
    if (setup) {
      cellPass = createCellPass({
        x, xOffset: data.xOffset, d, start, end,
        codes: new Int32Array(setup.codes), groups: setup.groups, w, b,
        out: new Float64Array(setup.out), outAt: slot * 2 * setup.groups * cellStride(d),
        wasm: { kernels, memory: wasm.memory, wAt: wasm.wAt, scratchAt: setup.scratchAt[slot] },
      });
    }
    cellPass();
  }

  return { forward, backward, cells };
}

// Reused by later LinearOps (worker-pool.ts parks idle workers): `init` brings a new OpsWorkerData, `release`
// drops the references to the old buffers while the worker waits.
let current = setup(workerData);

function runFast(op) {
  if (op === 1) current.forward();
  else if (op === 2) current.backward();
  else current.cells(undefined);
}

parentPort.on('message', (message) => {
  // worker-pool.ts's fast lane: 1 forward, 2 backward, 3 cells (after a `cells` message with the setup)
  if (message.op === 'fast') return fastLane(new Int32Array(message.ctrl), message.generation, runFast, parentPort);
  if (message.op === 'init') current = setup(message.data);
  else if (message.op === 'release') current = null;
  else if (message.op === 'forward') current.forward();
  else if (message.op === 'cells') current.cells(message.setup);
  else current.backward();
  if (message.op !== 'release') parentPort.postMessage(message.id);
});
parentPort.postMessage('ready');
