/**
 * Resizing RGB bytes the way Pillow's `Image.resize` does (Pillow's libImaging/Resample.c, 8-bit path), so that a
 * model exported from torchvision, timm or Hugging Face (which all resize PIL images) sees the bytes it was
 * evaluated on. Same filters, same support scaling when shrinking (antialiasing), same fixed-point coefficients
 * (22 fractional bits, rounded half away from zero), the horizontal pass first into 8-bit rows, then the vertical
 * pass. NEAREST samples pixel floor((x + 0.5) * scale), accumulated as Pillow's affine scaling does.
 *
 * The input and output are row-major HWC bytes with 3 channels.
 */

/** Pillow's resampling filters, by their names in Pillow (and their `resample` codes in Hugging Face configs). */
export type PilFilter = 'nearest' | 'box' | 'bilinear' | 'hamming' | 'bicubic' | 'lanczos';

/** Pillow's `Image.Resampling` codes, as stored in `preprocessor_config.json` (`resample`). */
export const PIL_RESAMPLE_CODES: Readonly<Record<number, PilFilter>> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };

interface Filter {
  readonly support: number;
  readonly f: (x: number) => number;
}

const sinc = (x: number): number => {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
};

// Pillow writes these as float literals (0.54f, 0.46f)
const HAMMING_A = Math.fround(0.54);
const HAMMING_B = Math.fround(0.46);

const FILTERS: Readonly<Record<Exclude<PilFilter, 'nearest'>, Filter>> = {
  box: { support: 0.5, f: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  bilinear: { support: 1, f: (x) => (x < 0 ? (x > -1 ? 1 + x : 0) : x < 1 ? 1 - x : 0) },
  hamming: {
    support: 1,
    f: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const px = a * Math.PI;
      return (Math.sin(px) / px) * (HAMMING_A + HAMMING_B * Math.cos(px));
    },
  },
  bicubic: {
    support: 2,
    f: (x) => {
      const a = -0.5;
      const ax = Math.abs(x);
      if (ax < 1) return ((a + 2) * ax - (a + 3)) * ax * ax + 1;
      if (ax < 2) return (((ax - 5) * ax + 8) * ax - 4) * a;
      return 0;
    },
  },
  lanczos: { support: 3, f: (x) => (x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

/** Per output pixel: the first input pixel, the number of taps, and the fixed-point weights (Pillow's precompute_coeffs). */
interface Coefficients {
  readonly first: Int32Array;
  readonly count: Int32Array;
  readonly taps: number;
  readonly weights: Int32Array;
}

function coefficients(inSize: number, outSize: number, filter: Filter): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  const ss = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.f((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = ww !== 0 ? (k[x] as number) / ww : (k[x] as number);
      weights[xx * taps + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { first, count, taps, weights };
}

const clip8 = (ss: number): number => {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
};

function horizontal(src: Uint8Array, width: number, height: number, outWidth: number, c: Coefficients): Uint8Array {
  const out = new Uint8Array(outWidth * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const x0 = c.first[xx] as number;
      const n = c.count[xx] as number;
      const base = xx * c.taps;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      for (let x = 0; x < n; x++) {
        const w = c.weights[base + x] as number;
        const p = row + (x0 + x) * 3;
        s0 += (src[p] as number) * w;
        s1 += (src[p + 1] as number) * w;
        s2 += (src[p + 2] as number) * w;
      }
      const o = (y * outWidth + xx) * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

function vertical(src: Uint8Array, width: number, outHeight: number, c: Coefficients): Uint8Array {
  const out = new Uint8Array(width * outHeight * 3);
  const stride = width * 3;
  for (let yy = 0; yy < outHeight; yy++) {
    const y0 = c.first[yy] as number;
    const n = c.count[yy] as number;
    const base = yy * c.taps;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      for (let y = 0; y < n; y++) s += (src[(y0 + y) * stride + i] as number) * (c.weights[base + y] as number);
      out[yy * stride + i] = clip8(s);
    }
  }
  return out;
}

function nearest(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  // Pillow's ImagingScaleAffine: the source coordinate is accumulated (xo += scale), then truncated
  const xs = new Int32Array(outWidth);
  let xo = (width / outWidth) * 0.5;
  for (let xx = 0; xx < outWidth; xx++) {
    xs[xx] = Math.min(width - 1, Math.trunc(xo));
    xo += width / outWidth;
  }
  const out = new Uint8Array(outWidth * outHeight * 3);
  let yo = (height / outHeight) * 0.5;
  for (let yy = 0; yy < outHeight; yy++) {
    const y = Math.min(height - 1, Math.trunc(yo));
    yo += height / outHeight;
    for (let xx = 0; xx < outWidth; xx++) {
      const p = (y * width + (xs[xx] as number)) * 3;
      const o = (yy * outWidth + xx) * 3;
      out[o] = src[p] as number;
      out[o + 1] = src[p + 1] as number;
      out[o + 2] = src[p + 2] as number;
    }
  }
  return out;
}

/**
 * Resize `src` (`width x height` RGB bytes, HWC) to `outWidth x outHeight` as Pillow's
 * `image.resize((outWidth, outHeight), resample)` does. A pass whose size does not change is skipped (as Pillow).
 *
 * @example
 * pilResize(Uint8Array.of(0,0,0, 255,255,255), 2, 1, 1, 1, 'bilinear'); // Uint8Array [128, 128, 128]
 */
export function pilResize(src: Uint8Array, width: number, height: number, outWidth: number, outHeight: number, filter: PilFilter): Uint8Array {
  if (filter === 'nearest') return outWidth === width && outHeight === height ? src : nearest(src, width, height, outWidth, outHeight);
  const f = FILTERS[filter];
  let data = src;
  let w = width;
  if (outWidth !== width) {
    data = horizontal(data, width, height, outWidth, coefficients(width, outWidth, f));
    w = outWidth;
  }
  if (outHeight !== height) data = vertical(data, w, outHeight, coefficients(height, outHeight, f));
  return data;
}
