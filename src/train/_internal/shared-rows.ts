import { ShapeError } from '../../errors.ts';
import { rowBufferLength, rowViews } from './row-views.mjs';

/**
 * The float64 shared buffer of the threaded and streaming LinearOps (layout: row-views.mjs, shared with the workers):
 * `[w (k*d) | b (k) | row values (n*k: logits or their gradients) | one partial gradient (k*d + k) per slot]`,
 * plus the shape checks of forward/backward and the sum of the per-thread partial gradients. Internal.
 */
export interface SharedRows {
  readonly fBuffer: SharedArrayBuffer;
  readonly sharedW: Float64Array;
  readonly sharedB: Float64Array;
  readonly rowValues: Float64Array;
  checkForward(w: Float64Array, b: Float64Array, z: Float64Array): void;
  checkBackward(g: Float64Array, gw: Float64Array, gb: Float64Array): void;
  /** gw, gb = the sum of the slots' partial gradients, in slot order. */
  sumPartials(gw: Float64Array, gb: Float64Array): void;
}

export function sharedRows(n: number, d: number, k: number, slots: number): SharedRows {
  const fBuffer = new SharedArrayBuffer(8 * rowBufferLength(n, d, k, slots));
  const { w, b, rowValues } = rowViews(fBuffer, n, d, k, 0);
  const partials = Array.from({ length: slots }, (_, t) => rowViews(fBuffer, n, d, k, t));
  return {
    fBuffer,
    sharedW: w,
    sharedB: b,
    rowValues,
    ...shapeChecks(n, d, k),
    sumPartials(gw, gb) {
      gw.fill(0);
      gb.fill(0);
      for (const part of partials) {
        for (let c = 0; c < k * d; c++) gw[c] = (gw[c] as number) + (part.gw[c] as number);
        for (let j = 0; j < k; j++) gb[j] = (gb[j] as number) + (part.gb[j] as number);
      }
    },
  };
}

/** The shape checks of LinearOps forward/backward over n x d rows and k outputs (also for the one-thread paths). */
export function shapeChecks(n: number, d: number, k: number): Pick<SharedRows, 'checkForward' | 'checkBackward'> {
  return {
    checkForward(w, b, z) {
      if (w.length !== k * d || b.length !== k || z.length !== n * k) {
        throw new ShapeError(`forward needs w of ${k * d}, b of ${k}, z of ${n * k} values; received ${w.length}, ${b.length}, ${z.length}`);
      }
    },
    checkBackward(g, gw, gb) {
      if (g.length !== n * k || gw.length !== k * d || gb.length !== k) {
        throw new ShapeError(`backward needs g of ${n * k}, gw of ${k * d}, gb of ${k} values; received ${g.length}, ${gw.length}, ${gb.length}`);
      }
    },
  };
}
