// The dense float64 linear algebra of src/train/preconditioner.ts: the Gram matrix of a sample of rows, its Cholesky
// factor, and the triangular products and solves that map a head's parameters to and from the preconditioned
// variables. Matrices are m x m, row-major, float64; vectors m float64. Two lanes at a time (f64x2) where the
// inner loop is a dot product or an axpy over a row of L; m may be any size (odd tails done one by one).

/** sum_{j < n} a[j] b[j], two lanes then a scalar tail: ((lane 0 + lane 1) + tail). */
// @ts-ignore: decorator
@inline function dot(a: usize, b: usize, n: u32): f64 {
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  let j: u32 = 0;
  for (; j + 4 <= n; j += 4) {
    const o = <usize>j << 3;
    s0 = f64x2.add(s0, f64x2.mul(v128.load(a + o), v128.load(b + o)));
    s1 = f64x2.add(s1, f64x2.mul(v128.load(a + o, 16), v128.load(b + o, 16)));
  }
  const s = f64x2.add(s0, s1);
  let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; j < n; j++) t += load<f64>(a + (<usize>j << 3)) * load<f64>(b + (<usize>j << 3));
  return t;
}

/** y[j] += alpha x[j] for j < n. */
// @ts-ignore: decorator
@inline function axpy(alpha: f64, x: usize, y: usize, n: u32): void {
  const av = f64x2.splat(alpha);
  let j: u32 = 0;
  for (; j + 2 <= n; j += 2) {
    const o = <usize>j << 3;
    v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(av, v128.load(x + o))));
  }
  for (; j < n; j++) {
    const o = <usize>j << 3;
    store<f64>(y + o, load<f64>(y + o) + alpha * load<f64>(x + o));
  }
}

/**
 * gramRows(x, rows, m, g): g[a m + b] += sum_r x[r m + a] x[r m + b] for b <= a (the lower triangle), over `rows`
 * rows of m float64 at x, four rows at a time (rows must be a multiple of 4; the caller pads with zero rows).
 */
export function gramRows(x: usize, rows: u32, m: u32, g: usize): void {
  const rowBytes = <usize>m << 3;
  for (let r: u32 = 0; r < rows; r += 4) {
    const x1 = x + rowBytes;
    const x2 = x1 + rowBytes;
    const x3 = x2 + rowBytes;
    for (let a: u32 = 0; a < m; a++) {
      const oa = <usize>a << 3;
      const v0 = f64x2.splat(load<f64>(x + oa));
      const v1 = f64x2.splat(load<f64>(x1 + oa));
      const v2 = f64x2.splat(load<f64>(x2 + oa));
      const v3 = f64x2.splat(load<f64>(x3 + oa));
      const row = g + <usize>a * rowBytes;
      const n = a + 1;
      let b: u32 = 0;
      for (; b + 2 <= n; b += 2) {
        const o = <usize>b << 3;
        let acc = v128.load(row + o);
        acc = f64x2.add(acc, f64x2.mul(v0, v128.load(x + o)));
        acc = f64x2.add(acc, f64x2.mul(v1, v128.load(x1 + o)));
        acc = f64x2.add(acc, f64x2.mul(v2, v128.load(x2 + o)));
        acc = f64x2.add(acc, f64x2.mul(v3, v128.load(x3 + o)));
        v128.store(row + o, acc);
      }
      if (b < n) {
        const o = <usize>b << 3;
        store<f64>(
          row + o,
          load<f64>(row + o) + load<f64>(x + oa) * load<f64>(x + o) + load<f64>(x1 + oa) * load<f64>(x1 + o) +
            load<f64>(x2 + oa) * load<f64>(x2 + o) + load<f64>(x3 + oa) * load<f64>(x3 + o),
        );
      }
    }
    x += rowBytes << 2;
  }
}

/**
 * cholesky(a, m): the lower triangle of the symmetric matrix at a becomes L, L L^T = a (the upper triangle is
 * not read; it is zeroed). Returns 1, or 0 (a half-written) when a pivot is not a positive finite number.
 */
export function cholesky(a: usize, m: u32): i32 {
  const rowBytes = <usize>m << 3;
  for (let j: u32 = 0; j < m; j++) {
    const rj = a + <usize>j * rowBytes;
    const s = load<f64>(rj + (<usize>j << 3)) - dot(rj, rj, j);
    if (!(s > 0) || !isFinite<f64>(s)) return 0;
    const ljj = sqrt<f64>(s);
    store<f64>(rj + (<usize>j << 3), ljj);
    for (let i: u32 = j + 1; i < m; i++) {
      const ri = a + <usize>i * rowBytes;
      store<f64>(ri + (<usize>j << 3), (load<f64>(ri + (<usize>j << 3)) - dot(ri, rj, j)) / ljj);
    }
    for (let k: u32 = j + 1; k < m; k++) store<f64>(rj + (<usize>k << 3), 0);
  }
  return 1;
}

/** lowerSolve(l, m, v): v = L^-1 v (forward substitution, L lower triangular at l). */
export function lowerSolve(l: usize, m: u32, v: usize): void {
  const rowBytes = <usize>m << 3;
  for (let i: u32 = 0; i < m; i++) {
    const ri = l + <usize>i * rowBytes;
    const at = v + (<usize>i << 3);
    store<f64>(at, (load<f64>(at) - dot(ri, v, i)) / load<f64>(ri + (<usize>i << 3)));
  }
}

/** upperSolve(l, m, v): v = L^-T v (back substitution with L^T, whose column i is row i of L). */
export function upperSolve(l: usize, m: u32, v: usize): void {
  const rowBytes = <usize>m << 3;
  for (let i: i32 = <i32>m - 1; i >= 0; i--) {
    const ri = l + <usize>i * rowBytes;
    const at = v + (<usize>i << 3);
    const t = load<f64>(at) / load<f64>(ri + (<usize>i << 3));
    store<f64>(at, t);
    axpy(-t, ri, v, <u32>i);
  }
}

/** lowerTransposeMul(l, m, t, v): v = L^T t (v and t distinct). */
export function lowerTransposeMul(l: usize, m: u32, t: usize, v: usize): void {
  const rowBytes = <usize>m << 3;
  for (let j: u32 = 0; j < m; j++) store<f64>(v + (<usize>j << 3), 0);
  for (let i: u32 = 0; i < m; i++) axpy(load<f64>(t + (<usize>i << 3)), l + <usize>i * rowBytes, v, i + 1);
}

/**
 * powerStep(x, rows, m, v, z, w): one step of the power iteration on G = A^T A / rows, A the rows of m float64 at x:
 * z = A v (rows float64), then w = A^T z / rows (m float64).
 */
export function powerStep(x: usize, rows: u32, m: u32, v: usize, z: usize, w: usize): void {
  const rowBytes = <usize>m << 3;
  for (let r: u32 = 0; r < rows; r++) store<f64>(z + (<usize>r << 3), dot(x + <usize>r * rowBytes, v, m));
  for (let j: u32 = 0; j < m; j++) store<f64>(w + (<usize>j << 3), 0);
  const scale: f64 = 1 / <f64>rows;
  for (let r: u32 = 0; r < rows; r++) axpy(load<f64>(z + (<usize>r << 3)) * scale, x + <usize>r * rowBytes, w, m);
}
