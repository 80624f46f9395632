// Types of fast-lane.mjs (plain JavaScript so that the plain-JavaScript workers load it without a TypeScript loader).
import type { MessagePort } from 'node:worker_threads';

/** Serve worker-pool.ts fast-lane operations through `run(op)` until op 0 (see fast-lane.mjs). */
export declare function fastLane(ctrl: Int32Array, generation: number, run: (op: number) => void, port: MessagePort): void;

/** Indices of the shared words [generation, op, done, failed]. */
export declare const GENERATION: number;
export declare const OP: number;
export declare const DONE: number;
export declare const FAILED: number;
