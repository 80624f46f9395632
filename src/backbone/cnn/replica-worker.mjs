// Bootstrap for the replica worker threads of replicas.ts: under tsx/vitest a worker cannot load .ts directly
// (Node 20), so register tsx's loader first, then import the TypeScript worker body.
import { register } from 'tsx/esm/api';

register();
await import('./replica-worker-body.ts');
