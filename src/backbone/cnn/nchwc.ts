/**
 * onnxruntime's NCHWc convolution kernel (operator domain `com.microsoft.nchwc`) for filters that are graph inputs.
 *
 * onnxruntime runs a Conv whose filter is a constant on its NCHWc kernels (channels in blocks of 8 or 16 floats,
 * the width of the machine's vector registers, about 30% faster than its plain Conv on the cnn's 3x3 layers), but
 * the cnn feeds its filters to every run, so its graphs reorder the filter themselves (network.ts convNode). The
 * kernel and its filter layout are onnxruntime internals: the block size is the machine's, and a runtime without
 * the kernel, or with another layout, must not be given such a graph. So {@link nchwcBlockSize} tries each block
 * size on a small convolution, blocked against plain, and answers the one whose results agree, or 0 (then the cnn
 * runs plain Conv only).
 */
import * as ort from 'onnxruntime-node';
import { withDerivedFilters } from './filter-feeds.ts';
import { buildConvProbe } from './network.ts';

let probed: Promise<number> | undefined;

/**
 * The NCHWc block size of onnxruntime on this machine (16 with AVX-512, 8 with AVX2), or 0 when its NCHWc
 * convolution is missing or does not compute what the plain Conv computes. Found once per process (tens of ms).
 */
export function nchwcBlockSize(): Promise<number> {
  probed ??= probe();
  return probed;
}

async function probe(): Promise<number> {
  for (const block of [16, 8]) {
    try {
      if (await agrees(block)) return block;
    } catch {
      // this block size (or the kernel itself) is not available: try the next
    }
  }
  return 0;
}

/** Run an NCHW-input (3 channels) and an NCHWc-input 3x3 convolution both ways; true when they agree to 1e-4. */
async function agrees(block: number): Promise<boolean> {
  const { bytes, inputs, derived } = buildConvProbe(block);
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 4 });
  try {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647 - 0.5;
    };
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, dims] of Object.entries(inputs)) {
      feeds[name] = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, random), dims);
    }
    // the blocked filters, made in TypeScript the way the cnn's graphs are fed
    const out = await session.run(withDerivedFilters(feeds, derived));
    for (const pair of [['plain1', 'blocked1'], ['plain2', 'blocked2']] as const) {
      const a = (out[pair[0]] as ort.Tensor).data as Float32Array;
      const b = (out[pair[1]] as ort.Tensor).data as Float32Array;
      if (a.length !== b.length || a.length === 0) return false;
      for (let i = 0; i < a.length; i++) if (!(Math.abs((a[i] as number) - (b[i] as number)) <= 1e-4)) return false;
    }
    return true;
  } finally {
    await session.release();
  }
}
