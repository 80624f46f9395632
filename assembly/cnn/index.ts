// fairhead's CNN training kernels (src/backbone/cnn/): the per-step work between onnxruntime's runs. Compiled by
// scripts/build-kernels.mjs into src/backbone/cnn/cnn-kernels.wasm over an imported memory that is not shared
// (onnxruntime-node reads and writes tensors only on ordinary ArrayBuffers), so that the params, gradients, filters
// and image batch the graphs take are views of this memory, fed and fetched without a copy.
//
// All pointer arguments are byte addresses in that memory.

/**
 * sgd(p, g, v, n, lr, momentum, wd): PyTorch's SGD step (dampening 0, no Nesterov) over n float32, in float32 as
 * torch's CPU kernel computes it: g' = g + wd p; v = momentum v + g'; p = p - lr v.
 */
export function sgd(p: usize, g: usize, v: usize, n: i32, lr: f32, momentum: f32, wd: f32): void {
  const lr4 = f32x4.splat(lr);
  const m4 = f32x4.splat(momentum);
  const wd4 = f32x4.splat(wd);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const pi = v128.load(p + o);
    const gi = f32x4.add(v128.load(g + o), f32x4.mul(wd4, pi));
    const vi = f32x4.add(f32x4.mul(m4, v128.load(v + o)), gi);
    v128.store(v + o, vi);
    v128.store(p + o, f32x4.sub(pi, f32x4.mul(lr4, vi)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pi = load<f32>(p + o);
    const vi = momentum * load<f32>(v + o) + (load<f32>(g + o) + wd * pi);
    store<f32>(v + o, vi);
    store<f32>(p + o, pi - lr * vi);
  }
}

/** gather(dst, src, map, n): dst[i] = src[map[i]] over n float32, 0 where map[i] < 0 (map: int32). */
export function gather(dst: usize, src: usize, map: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const j = load<i32>(map + (<usize>i << 2));
    store<f32>(dst + (<usize>i << 2), j < 0 ? 0 : load<f32>(src + (<usize>j << 2)));
  }
}

/**
 * images(x, pixels, crops, count, s, table): count s x s RGB images (HWC bytes, one after another from pixels) into
 * NCHW float32 at x, each shifted by (dy, dx) and mirrored when flip (crops: int32 triples dy, dx, flip per image):
 * output (i, j) reads source row i + dy, column (flip ? s-1-j : j) + dx: table[byte] (table: 256 float32) where that
 * lies inside the image, table[256] where it does not.
 */
export function images(x: usize, pixels: usize, crops: usize, count: i32, s: i32, table: usize): void {
  const plane = <usize>(s * s) << 2;
  const outside = load<f32>(table + 1024);
  for (let r = 0; r < count; r++) {
    const dy = load<i32>(crops + (<usize>(3 * r) << 2));
    const dx = load<i32>(crops + (<usize>(3 * r + 1) << 2));
    const flip = load<i32>(crops + (<usize>(3 * r + 2) << 2)) != 0;
    const src = pixels + <usize>(r * s * s * 3);
    const dst = x + <usize>r * plane * 3;
    // the columns j0 <= j < j1 whose source column lies inside
    const j0 = flip ? max(0, dx) : max(0, -dx);
    const j1 = flip ? min(s, s + dx) : min(s, s - dx);
    const step: isize = flip ? -3 : 3;
    for (let i = 0; i < s; i++) {
      const si = i + dy;
      const o = dst + (<usize>(i * s) << 2);
      const inside = si >= 0 && si < s && j1 > j0;
      const a = inside ? j0 : s;
      const b = inside ? j1 : s;
      for (let j = 0; j < a; j++) fill3(o + (<usize>j << 2), plane, outside);
      for (let j = b; j < s; j++) fill3(o + (<usize>j << 2), plane, outside);
      if (!inside) continue;
      let p = src + <usize>((si * s + (flip ? s - 1 - j0 + dx : j0 + dx)) * 3);
      for (let j = a; j < b; j++, p += step) {
        const at = o + (<usize>j << 2);
        store<f32>(at, load<f32>(table + (<usize>load<u8>(p) << 2)));
        store<f32>(at + plane, load<f32>(table + (<usize>load<u8>(p, 1) << 2)));
        store<f32>(at + 2 * plane, load<f32>(table + (<usize>load<u8>(p, 2) << 2)));
      }
    }
  }
}

// @ts-ignore: decorator
@inline function fill3(at: usize, plane: usize, value: f32): void {
  store<f32>(at, value);
  store<f32>(at + plane, value);
  store<f32>(at + 2 * plane, value);
}
