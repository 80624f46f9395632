// The worker side of worker-pool.ts's fast lane, in plain JavaScript for the plain-JavaScript workers
// (ops-worker-wasm.mjs). Types: fast-lane.d.mts. Internal.
//
// Shared words: [generation, op, done, failed]. On `{ op: 'fast', ctrl, generation }` a worker calls fastLane,
// which blocks its thread (Atomics.wait) until the generation changes, runs `op` through `run(op)` (op 0: return
// to the event loop, where messages are read again), adds 1 to `done` and notifies it; then waits again.

/** Indices of the shared words, for both sides (worker-pool.ts imports them). */
export const GENERATION = 0;
export const OP = 1;
export const DONE = 2;
export const FAILED = 3;

/** Checks of the generation before blocking (about 100-200 microseconds). */
const SPINS = 20_000;

/**
 * Serve fast-lane operations until op 0. An error thrown by `run` sets `failed`, counts as done, is posted as
 * `{ id: -2, error }` on `port`, and returns to the event loop.
 */
export function fastLane(ctrl, generation, run, port) {
  let seen = generation;
  for (;;) {
    // spin a little first: in a fit the next operation follows within tens of microseconds, and waking from
    // Atomics.wait takes about 35 (bench/work ping test on this project's VM: 35 us asleep, 1 us spinning)
    for (let i = 0; i < SPINS && Atomics.load(ctrl, GENERATION) === seen; i++);
    Atomics.wait(ctrl, GENERATION, seen);
    const now = Atomics.load(ctrl, GENERATION);
    if (now === seen) continue;
    seen = now;
    const op = Atomics.load(ctrl, OP);
    if (op === 0) return;
    try {
      run(op);
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
