/**
 * A small seeded pseudo-random number generator: xoshiro128** (Blackman & Vigna 2018) seeded through
 * splitmix32, so every seed (including 0) gives a well-mixed state. Same seed -> same stream on every
 * platform (only 32-bit integer arithmetic via Math.imul).
 *
 * The one generator of everything random in fairhead (train / validation / test splits, balanced sampling,
 * hold-out splits, initial weights, bootstrap resamples; assembly/sample.ts runs its stream in WebAssembly), so
 * that a run is reproducible from its seed.
 *
 * @example
 * const rng = createRng(42);
 * rng.int(10);                 // an integer in 0..9
 * rng.shuffle([1, 2, 3, 4]);   // the same order every time for seed 42
 * rng.sample(100, 5);          // 5 distinct indices of 0..99, ascending
 */
export interface Rng {
  /** Next 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform float in [0, 1) with 32 random bits. */
  float(): number;
  /** Uniform integer in 0..n-1 (n >= 1), without modulo bias. */
  int(n: number): number;
  /** Standard normal N(0, 1) (Box-Muller). */
  normal(): number;
  /** Shuffle `items` in place (Fisher-Yates) and return it. */
  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T;
  /** A random permutation of 0..n-1. */
  permutation(n: number): Int32Array;
  /**
   * `k` distinct indices drawn uniformly without replacement from 0..n-1, sorted ascending
   * (k > n throws RangeError).
   */
  sample(n: number, k: number): Int32Array;
  /** `k` distinct elements of `from`, drawn without replacement, in ascending position order. */
  sampleFrom(from: ArrayLike<number>, k: number): Int32Array;
}

/** splitmix32 step: a well-mixed 32-bit value from a 32-bit counter. */
function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * The starting state of {@link createRng}(seed)'s generator, xoshiro128**'s 4 words from splitmix32 (for the
 * WebAssembly draw of assembly/sample.ts, which runs the same stream).
 *
 * @example
 * xoshiro128State(0).length; // 4
 */
export function xoshiro128State(seed: number): Uint32Array {
  const mix = { s: Math.trunc(seed) | 0 };
  const state = Uint32Array.of(splitmix32(mix), splitmix32(mix), splitmix32(mix), splitmix32(mix));
  if ((state[0]! | state[1]! | state[2]! | state[3]!) === 0) state[0] = 1;
  return state;
}

/**
 * A seeded {@link Rng}. `seed` is any finite number; its integer part modulo 2^32 is used
 * (non-integers are truncated, so 1.5 and 1 give the same stream).
 *
 * @example
 * createRng(1).float() === createRng(1).float(); // true
 */
export function createRng(seed: number): Rng {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, received ${seed}`);
  return new Xoshiro128(seed);
}

/**
 * xoshiro128** seeded by splitmix32. A class rather than closures: V8 optimises its methods once per process, where
 * each createRng's own closures were new call targets that deoptimised their callers (a fit draws its M2 set with a
 * new Rng).
 */
class Xoshiro128 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null;

  constructor(seed: number) {
    const state = xoshiro128State(seed);
    this.a = state[0] as number;
    this.b = state[1] as number;
    this.c = state[2] as number;
    this.d = state[3] as number;
  }

  nextUint32(): number {
    let { a, b, c, d } = this;
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    return result;
  }

  float(): number {
    return this.nextUint32() / 4294967296;
  }

  int(n: number): number {
    if (!(n >= 1) || !Number.isInteger(n) || n > 4294967296) throw new RangeError(`int(n) needs an integer 1 <= n <= 2^32, received ${n}`);
    // rejection sampling: drop the top partial bucket
    const limit = 4294967296 - (4294967296 % n);
    for (;;) {
      const r = this.nextUint32();
      if (r < limit) return r % n;
    }
  }

  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  shuffle<T extends { length: number; [i: number]: unknown }>(items: T): T {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i];
      items[i] = items[j];
      items[j] = t;
    }
    return items;
  }

  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  sample(n: number, k: number): Int32Array {
    if (k > n || k < 0) throw new RangeError(`cannot sample ${k} distinct indices from ${n}`);
    if (k < n / 16) {
      // the same partial Fisher-Yates over 0..n-1 (same draws, same result), keeping only the moved entries:
      // O(k) work, where filling 0..n-1 cost a pass over n (a group-balanced sample of 180,000 rows draws 6,100)
      const moved = new Map<number, number>();
      const out = new Int32Array(k);
      for (let i = 0; i < k; i++) {
        const j = i + this.int(n - i);
        const pj = moved.get(j) ?? j;
        out[i] = pj;
        moved.set(j, moved.get(i) ?? i);
      }
      return out.sort();
    }
    // partial Fisher-Yates over a copy of 0..n-1: O(n) memory, O(k) swaps
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const t = p[i] as number;
      p[i] = p[j] as number;
      p[j] = t;
    }
    return p.slice(0, k).sort();
  }

  sampleFrom(from: ArrayLike<number>, k: number): Int32Array {
    const picked = this.sample(from.length, k);
    const out = new Int32Array(k);
    for (let i = 0; i < k; i++) out[i] = from[picked[i] as number] as number;
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
