// Run by threaded-ops.test.ts in a child process: uses threaded ops, closes them, and must then exit by itself.
// Argument `prestart`: start the trainer's threads first (as the pipelines do); `prestart-only`: start them and
// use no ops at all (a command that fails on its data after starting them).
import { matrix } from '../../src/data/matrix.ts';
import { createThreadedOps, startTrainerThreads } from '../../src/train/threaded-ops.ts';

const mode = process.argv[2] ?? '';
if (mode.startsWith('prestart')) void startTrainerThreads(2);
if (mode === 'prestart-only') {
  console.log('done started');
} else {
  const ops = await createThreadedOps(matrix(new Float32Array(40).fill(1), 10, 4), 1, { threads: 2 });
  const z = new Float64Array(10);
  await ops.forward(new Float64Array(4).fill(1), new Float64Array(1), z);
  await ops.close();
  console.log('done', z[9]);
}
