// The shared-memory protocol of worker-pool.ts's fast lane, both sides' helpers in plain JavaScript for the
// plain-JavaScript workers (ops-worker-wasm.mjs). Types: fast-lane.d.mts. Internal.
//
// An operation is split into `parts` numbered 0..parts-1, each written to its own output, so the result does not
// depend on which thread ran which part. The calling thread and every worker in the lane take parts from one
// shared counter until none is left: a worker that is late (descheduled, still starting, busy elsewhere) takes
// fewer parts or none, and the operation never waits for a thread that has not begun.
//
// Shared words (Int32):
//   GENERATION  bumped (and notified) for every operation and when the lane is left
//   OP          the operation's code (the worker script's meaning)
//   DONE        parts finished in this operation (notified)
//   FAILED      1 once a worker's part threw
//   CLAIM       epoch (7 bits) << 24 | operation number (15 bits) << 9 | next part (9 bits); parts are taken by CAS
//   PARTS       parts of this operation
//   EPOCH       bumped when the lane is left: a worker whose epoch is older goes back to its event loop
//
// A worker joins by a `{ op: 'fast', ctrl, epoch }` message and runs fastLane until the epoch changes; messages
// (a new setup, `release`) are read in its event loop, so the calling thread leaves the lane before sending them
// and the worker rejoins with the next `fast` message, which follows them.

export const GENERATION = 0;
export const OP = 1;
export const DONE = 2;
export const FAILED = 3;
export const CLAIM = 4;
export const PARTS = 5;
export const EPOCH = 6;
/** Int32 words of the shared control array. */
export const CTRL_WORDS = 8;

/** Bits of the part index in CLAIM (at most 512 parts). */
const PART_BITS = 9;
/** Bits of the operation number in CLAIM, above the part index. */
const GEN_BITS = 15;
/** Epochs and operation numbers are kept modulo these. */
export const EPOCH_MASK = 0x7f;
export const GEN_MASK = (1 << GEN_BITS) - 1;
export const MAX_PARTS = 1 << PART_BITS;

/** The CLAIM word that opens operation `gen` of lane epoch `epoch` at part 0. */
export function claimWord(epoch, gen) {
  return ((epoch & EPOCH_MASK) << (GEN_BITS + PART_BITS)) | ((gen & GEN_MASK) << PART_BITS);
}

/**
 * Take the next part of the operation whose CLAIM word was `opened` (from {@link claimWord}): its index, or -1
 * once every part is taken or another operation (or epoch) has begun.
 */
export function claimPart(ctrl, opened, parts) {
  for (;;) {
    const v = Atomics.load(ctrl, CLAIM);
    const next = v & (MAX_PARTS - 1);
    if (v - next !== opened || next >= parts) return -1;
    if (Atomics.compareExchange(ctrl, CLAIM, v, v + 1) === v) return next;
  }
}

/**
 * Checks of a shared word before waiting on it (about 100-200 microseconds): a worker's check of the generation
 * before it blocks, the calling thread's check of `done` before it waits asynchronously.
 */
export const SPINS = 20_000;

// The spin loops are functions of their own: V8 optimises each once. Inline, they made the long-running functions
// around them (fastLane here, runFast in worker-pool.ts) hot loops that it compiled on the stack, then threw away
// as soon as the spin ended the rare way (into Atomics.wait) that the compiled code had not seen: dozens of times
// per fit, on the second core that a worker needs.

/** Spin while ctrl[index] equals `value`, at most `spins` checks; returns the last value read. */
export function spinWhileEqual(ctrl, index, value, spins) {
  let v = Atomics.load(ctrl, index);
  for (let i = 0; i < spins && v === value; i++) v = Atomics.load(ctrl, index);
  return v;
}

/** Spin while ctrl[index] is below `bound`, at most `spins` checks; returns the last value read. */
export function spinWhileBelow(ctrl, index, bound, spins) {
  let v = Atomics.load(ctrl, index);
  for (let i = 0; i < spins && v < bound; i++) v = Atomics.load(ctrl, index);
  return v;
}

/**
 * Serve fast-lane operations of lane epoch `epoch` through `run(op, part)` until the epoch changes. An error
 * thrown by `run` sets FAILED, counts its part as done, is posted as `{ id: -2, error }` on `port`, and returns.
 */
export function fastLane(ctrl, epoch, run, port) {
  let seen = Atomics.load(ctrl, GENERATION);
  for (;;) {
    if (Atomics.load(ctrl, EPOCH) !== epoch) return;
    // the operation under way when joining, or the next one
    const opened = Atomics.load(ctrl, CLAIM) & ~(MAX_PARTS - 1);
    const op = Atomics.load(ctrl, OP);
    const parts = Atomics.load(ctrl, PARTS);
    if (opened >>> (GEN_BITS + PART_BITS) === (epoch & EPOCH_MASK)) {
      for (let part = claimPart(ctrl, opened, parts); part >= 0; part = claimPart(ctrl, opened, parts)) {
        try {
          run(op, part);
        } catch (error) {
          Atomics.store(ctrl, FAILED, 1);
          Atomics.add(ctrl, DONE, 1);
          Atomics.notify(ctrl, DONE);
          port.postMessage({ id: -2, error: String(error?.message ?? error) });
          return;
        }
        Atomics.add(ctrl, DONE, 1);
        Atomics.notify(ctrl, DONE);
      }
    }
    // spin a little first: in a fit the next operation follows within tens of microseconds, and waking from
    // Atomics.wait takes about 35 (bench/work ping test on this project's VM: 35 us asleep, 1 us spinning)
    spinWhileEqual(ctrl, GENERATION, seen, SPINS);
    Atomics.wait(ctrl, GENERATION, seen);
    seen = Atomics.load(ctrl, GENERATION);
  }
}
