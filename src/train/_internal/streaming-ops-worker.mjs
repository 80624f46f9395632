// Bootstrap for the worker threads of streaming-ops.ts: under tsx/vitest a worker cannot load .ts directly
// (Node 20), so register tsx's loader first, then import the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./streaming-ops-worker-body.ts');
