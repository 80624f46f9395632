/**
 * A tiny seeded PRNG for the data stage (splits), private to src/data so it does not wait on src/train/rng.ts.
 *
 * mulberry32: 32-bit state, period 2^32, uniform floats in [0, 1). Same seed -> same sequence on every platform.
 *
 * @example
 * const next = mulberry32(42); next(); // 0.6011037519201636
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of `values` in place with `next` (uniform in [0, 1)). */
export function shuffleInPlace(values: Int32Array, next: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    const t = values[i] as number;
    values[i] = values[j] as number;
    values[j] = t;
  }
}
