// Types of row-views.mjs.
export declare function rowBufferLength(n: number, d: number, k: number, slots: number): number;
export declare function rowViews(
  fBuffer: SharedArrayBuffer,
  n: number,
  d: number,
  k: number,
  slot: number,
): { w: Float64Array; b: Float64Array; rowValues: Float64Array; gw: Float64Array; gb: Float64Array };
