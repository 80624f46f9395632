// Run by threaded-ops.test.ts in a child process: uses threaded ops, closes them, and must then exit by itself.
import { matrix } from '../../src/data/matrix.ts';
import { createThreadedOps } from '../../src/train/threaded-ops.ts';

const ops = await createThreadedOps(matrix(new Float32Array(40).fill(1), 10, 4), 1, { threads: 2 });
const z = new Float64Array(10);
await ops.forward(new Float64Array(4).fill(1), new Float64Array(1), z);
await ops.close();
console.log('done', z[9]);
