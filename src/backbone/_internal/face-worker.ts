/**
 * Worker thread body for the face-api backbone: loads the net on its own tfjs wasm backend, then answers
 * `{ id, rgb, count }` messages with `{ id, z }` (the 512-d bottlenecks) or `{ id, error }`. Started by
 * {@link startFaceWorkers}; not imported elsewhere.
 */
import { parentPort } from 'node:worker_threads';
import { faceBottleneck, loadFaceNetWeights, useWasmBackend } from './face-net.ts';

interface Job {
  readonly id: number;
  readonly rgb: Uint8Array;
  readonly count: number;
}

const port = parentPort;
if (port) {
  try {
    await useWasmBackend();
    const weights = loadFaceNetWeights();
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
