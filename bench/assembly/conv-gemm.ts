// The matrix product of bench/_wasm-conv.ts (an alternative CNN engine measured against onnxruntime, not
// fairhead's): C[m x n] = A[m x k] B[k x n], row-major float32 at byte addresses, leading dimensions in elements,
// m % 4 == 0, n % 8 == 0.
//
// Each 4 x 8 block of C is 8 f32x4 accumulators over the whole k; the 8-column panels of B are the outer loop, so
// that a panel (k x 32 bytes) stays in L1 while every 4-row block of A passes over it.

export function gemm(a: usize, b: usize, c: usize, m: u32, n: u32, k: u32, lda: u32, ldb: u32, ldc: u32): void {
  const aRow = <usize>lda << 2;
  const bRow = <usize>ldb << 2;
  const cRow = <usize>ldc << 2;
  const kBytes = <usize>k << 2;
  for (let j: u32 = 0; j < n; j += 8) {
    for (let i: u32 = 0; i < m; i += 4) {
      const a0 = a + <usize>i * aRow;
      const a1 = a0 + aRow;
      const a2 = a1 + aRow;
      const a3 = a2 + aRow;
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let bp = b + (<usize>j << 2);
      for (let p: usize = 0; p < kBytes; p += 4) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        let s = f32x4.splat(load<f32>(a0 + p));
        c00 = f32x4.add(c00, f32x4.mul(s, b0));
        c01 = f32x4.add(c01, f32x4.mul(s, b1));
        s = f32x4.splat(load<f32>(a1 + p));
        c10 = f32x4.add(c10, f32x4.mul(s, b0));
        c11 = f32x4.add(c11, f32x4.mul(s, b1));
        s = f32x4.splat(load<f32>(a2 + p));
        c20 = f32x4.add(c20, f32x4.mul(s, b0));
        c21 = f32x4.add(c21, f32x4.mul(s, b1));
        s = f32x4.splat(load<f32>(a3 + p));
        c30 = f32x4.add(c30, f32x4.mul(s, b0));
        c31 = f32x4.add(c31, f32x4.mul(s, b1));
        bp += bRow;
      }
      let cp = c + <usize>i * cRow + (<usize>j << 2);
      v128.store(cp, c00);
      v128.store(cp, c01, 16);
      cp += cRow;
      v128.store(cp, c10);
      v128.store(cp, c11, 16);
      cp += cRow;
      v128.store(cp, c20);
      v128.store(cp, c21, 16);
      cp += cRow;
      v128.store(cp, c30);
      v128.store(cp, c31, 16);
    }
  }
}
