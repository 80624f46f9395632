// The linear head's two products over rows of X (float32, row-major), four lanes at a time (f32x4).
//
// Every argument is a byte address in the shared memory except d (columns) and rows. d must be a multiple of 4,
// and so must rows for fwd, bwd and bwd2 (the callers do the remainders in JavaScript). Sums are float32 and
// short: one row for fwd, a block of rows for bwd; the callers add them into float64 totals.

/** The four lanes of `v` added as (l0 + l1) + (l2 + l3). */
// @ts-ignore: decorator
@inline function lanesSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * fwd(x, d, rows, w, out): out[r] = sum_c x[r d + c] w[c], 4 rows at a time. Each row has two sets of sums (A over
 * bytes c..c+15, B over c+16..c+31 of every 32-byte step), so that 8 independent addition chains hide the latency
 * of f32x4.add; A += B before the lanes are added.
 */
export function fwd(x: usize, d: u32, rows: u32, w: usize, out: usize): void {
  const rowBytes = <usize>d << 2;
  for (let r: u32 = 0; r < rows; r += 4) {
    const x1 = x + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    let c: usize = 0;
    // 32 bytes per step while at least 32 are left
    for (; c + 16 < rowBytes; c += 32) {
      const wa = v128.load(w + c);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(x + c), wa));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(x1 + c), wa));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(x2 + c), wa));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(x3 + c), wa));
      const wb = v128.load(w + c, 16);
      b0 = f32x4.add(b0, f32x4.mul(v128.load(x + c, 16), wb));
      b1 = f32x4.add(b1, f32x4.mul(v128.load(x1 + c, 16), wb));
      b2 = f32x4.add(b2, f32x4.mul(v128.load(x2 + c, 16), wb));
      b3 = f32x4.add(b3, f32x4.mul(v128.load(x3 + c, 16), wb));
    }
    // d % 8 == 4: one last 16-byte step
    if (c < rowBytes) {
      const wa = v128.load(w + c);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(x + c), wa));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(x1 + c), wa));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(x2 + c), wa));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(x3 + c), wa));
    }
    const at = out + (<usize>r << 2);
    store<f32>(at, lanesSum(f32x4.add(a0, b0)));
    store<f32>(at, lanesSum(f32x4.add(a1, b1)), 4);
    store<f32>(at, lanesSum(f32x4.add(a2, b2)), 8);
    store<f32>(at, lanesSum(f32x4.add(a3, b3)), 12);
    x += rowBytes << 2;
  }
}

/**
 * fwd1(x, d, rows, w, out): fwd one row after the other, four sums over 64-byte steps: a single sequential stream
 * through X, which the hardware prefetcher follows (4 row-interleaved streams of 2 KiB each it does not), so it is
 * the faster of the two for long rows.
 */
export function fwd1(x: usize, d: u32, rows: u32, w: usize, out: usize): void {
  const rowBytes = <usize>d << 2;
  for (let r: u32 = 0; r < rows; r++) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let c: usize = 0;
    for (; c + 48 < rowBytes; c += 64) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load(x + c), v128.load(w + c)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(x + c, 16), v128.load(w + c, 16)));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(x + c, 32), v128.load(w + c, 32)));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(x + c, 48), v128.load(w + c, 48)));
    }
    for (; c < rowBytes; c += 16) a0 = f32x4.add(a0, f32x4.mul(v128.load(x + c), v128.load(w + c)));
    store<f32>(out + (<usize>r << 2), lanesSum(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3))));
    x += rowBytes;
  }
}

/** bwd(x, d, rows, g, acc): acc[c] += sum_r x[r d + c] g[r], 4 rows at a time: acc + ((x0 g0 + x1 g1) + (x2 g2 + x3 g3)). */
export function bwd(x: usize, d: u32, rows: u32, g: usize, acc: usize): void {
  const rowBytes = <usize>d << 2;
  for (let r: u32 = 0; r < rows; r += 4) {
    const x1 = x + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    const at = g + (<usize>r << 2);
    const g0 = f32x4.splat(load<f32>(at));
    const g1 = f32x4.splat(load<f32>(at, 4));
    const g2 = f32x4.splat(load<f32>(at, 8));
    const g3 = f32x4.splat(load<f32>(at, 12));
    for (let c: usize = 0; c < rowBytes; c += 16) {
      const t01 = f32x4.add(f32x4.mul(v128.load(x + c), g0), f32x4.mul(v128.load(x1 + c), g1));
      const t23 = f32x4.add(f32x4.mul(v128.load(x2 + c), g2), f32x4.mul(v128.load(x3 + c), g3));
      v128.store(acc + c, f32x4.add(v128.load(acc + c), f32x4.add(t01, t23)));
    }
    x += rowBytes << 2;
  }
}

/** bwd1(x, d, rows, g, acc): bwd one row after the other (a single sequential stream, as fwd1), 64-byte steps. */
export function bwd1(x: usize, d: u32, rows: u32, g: usize, acc: usize): void {
  const rowBytes = <usize>d << 2;
  for (let r: u32 = 0; r < rows; r++) {
    const gr = f32x4.splat(load<f32>(g + (<usize>r << 2)));
    let c: usize = 0;
    for (; c + 48 < rowBytes; c += 64) {
      v128.store(acc + c, f32x4.add(v128.load(acc + c), f32x4.mul(v128.load(x + c), gr)));
      v128.store(acc + c, f32x4.add(v128.load(acc + c, 16), f32x4.mul(v128.load(x + c, 16), gr)), 16);
      v128.store(acc + c, f32x4.add(v128.load(acc + c, 32), f32x4.mul(v128.load(x + c, 32), gr)), 32);
      v128.store(acc + c, f32x4.add(v128.load(acc + c, 48), f32x4.mul(v128.load(x + c, 48), gr)), 48);
    }
    for (; c < rowBytes; c += 16) v128.store(acc + c, f32x4.add(v128.load(acc + c), f32x4.mul(v128.load(x + c), gr)));
    x += rowBytes;
  }
}

/**
 * bwd2(d, count, idx, g1, g2, acc1, acc2): for the `count` rows whose byte addresses are idx[0..count-1] (i32),
 * acc1[c] += sum_r x_r[c] g1[r] and acc2[c] += sum_r x_r[c] g2[r] (float32), 4 rows at a time: the backward half of
 * the one-pass binary objective, where each row goes to the two accumulators of its (label, group) cell.
 */
export function bwd2(d: u32, count: u32, idx: usize, g1: usize, g2: usize, acc1: usize, acc2: usize): void {
  const rowBytes = <usize>d << 2;
  for (let r: u32 = 0; r < count; r += 4) {
    const at = <usize>r << 2;
    const p0 = <usize>load<u32>(idx + at);
    const p1 = <usize>load<u32>(idx + at, 4);
    const p2 = <usize>load<u32>(idx + at, 8);
    const p3 = <usize>load<u32>(idx + at, 12);
    const a0 = f32x4.splat(load<f32>(g1 + at)), a1 = f32x4.splat(load<f32>(g1 + at, 4));
    const a2 = f32x4.splat(load<f32>(g1 + at, 8)), a3 = f32x4.splat(load<f32>(g1 + at, 12));
    const b0 = f32x4.splat(load<f32>(g2 + at)), b1 = f32x4.splat(load<f32>(g2 + at, 4));
    const b2 = f32x4.splat(load<f32>(g2 + at, 8)), b3 = f32x4.splat(load<f32>(g2 + at, 12));
    for (let c: usize = 0; c < rowBytes; c += 16) {
      const x0 = v128.load(p0 + c), x1 = v128.load(p1 + c), x2 = v128.load(p2 + c), x3 = v128.load(p3 + c);
      const s1 = f32x4.add(f32x4.add(f32x4.mul(x0, a0), f32x4.mul(x1, a1)), f32x4.add(f32x4.mul(x2, a2), f32x4.mul(x3, a3)));
      v128.store(acc1 + c, f32x4.add(v128.load(acc1 + c), s1));
      const s2 = f32x4.add(f32x4.add(f32x4.mul(x0, b0), f32x4.mul(x1, b1)), f32x4.add(f32x4.mul(x2, b2), f32x4.mul(x3, b3)));
      v128.store(acc2 + c, f32x4.add(v128.load(acc2 + c), s2));
    }
  }
}
