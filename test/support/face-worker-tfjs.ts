/**
 * Test support (not a test): worker thread body of the tfjs reference engine (./face-net-tfjs.ts). Loads the net on
 * its own tfjs wasm backend, then answers `{ id, rgb, count }` messages with `{ id, z }` (the 512-d bottlenecks) or
 * `{ id, error }`. Started by ./face-pool-tfjs.ts; not imported elsewhere.
 */
import { parentPort } from 'node:worker_threads';
import { faceBottleneck, loadTfjsFaceNetWeights, useWasmBackend } from './face-net-tfjs.ts';

interface Job {
  readonly id: number;
  readonly rgb: Uint8Array;
  readonly count: number;
}

const port = parentPort;
if (port) {
  try {
    await useWasmBackend();
    const weights = loadTfjsFaceNetWeights();
    port.on('message', (job: Job) => {
      faceBottleneck(weights.tensors, job.rgb, job.count).then(
        (z) => port.postMessage({ id: job.id, z }, [z.buffer as ArrayBuffer]),
        (error: unknown) => port.postMessage({ id: job.id, error: error instanceof Error ? error.message : String(error) }),
      );
    });
    port.postMessage({ ready: true });
  } catch (error) {
    port.postMessage({ ready: false, error: error instanceof Error ? error.message : String(error) });
  }
}
