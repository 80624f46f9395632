import type { CnnImageSet } from '../../src/backbone/cnn.ts';
import { createRng } from '../../src/rng.ts';

/** n images of side `size`: class 1 images are bright on the left half, class 0 on the right half. */
export function synthetic(n: number, size: number, seed: number): CnnImageSet {
  const rng = createRng(seed);
  const pixels = new Uint8Array(n * size * size * 3);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const bright = (c < size / 2) === (y[i] === 1);
        for (let ch = 0; ch < 3; ch++) pixels[((i * size + r) * size + c) * 3 + ch] = (bright ? 180 : 60) + rng.int(40);
      }
    }
  }
  return { images: { pixels, n, size }, y, group: Int32Array.from(y, (v, i) => (i % 4 < 2 ? 0 : 1)), classes: ['a', 'b'] };
}
