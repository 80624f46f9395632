// Types of fast-lane.mjs (plain JavaScript so that the plain-JavaScript workers load it without a TypeScript loader).
import type { MessagePort } from 'node:worker_threads';

/** Serve worker-pool.ts fast-lane operations through `run(op, part)` until the lane's epoch changes (see fast-lane.mjs). */
export declare function fastLane(ctrl: Int32Array, epoch: number, run: (op: number, part: number) => void, port: MessagePort): void;

/** The CLAIM word that opens operation `gen` of lane epoch `epoch` at part 0. */
export declare function claimWord(epoch: number, gen: number): number;

/** The next part of the operation opened with `opened`, or -1 when none is left. */
export declare function claimPart(ctrl: Int32Array, opened: number, parts: number): number;

/** Spin while ctrl[index] equals `value`, at most `spins` checks; returns the last value read. */
export declare function spinWhileEqual(ctrl: Int32Array, index: number, value: number, spins: number): number;

/** Spin while ctrl[index] is below `bound`, at most `spins` checks; returns the last value read. */
export declare function spinWhileBelow(ctrl: Int32Array, index: number, bound: number, spins: number): number;

/** Checks of a shared word before waiting on it (see fast-lane.mjs). */
export declare const SPINS: number;

/** Indices of the shared words. */
export declare const GENERATION: number;
export declare const OP: number;
export declare const DONE: number;
export declare const FAILED: number;
export declare const CLAIM: number;
export declare const PARTS: number;
export declare const EPOCH: number;
export declare const CTRL_WORDS: number;
export declare const EPOCH_MASK: number;
export declare const GEN_MASK: number;
export declare const MAX_PARTS: number;
