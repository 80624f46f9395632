/**
 * Feeds for the filters the cnn's graphs take besides the params ({@link DerivedFilter}: reordered for onnxruntime's
 * NCHWc kernel, flipped, phase-placed), made from the params before each run.
 */
import * as ort from 'onnxruntime-node';
import { deriveFilters, type DerivedFilter } from './network.ts';

/**
 * `feeds` with the `derived` filters added, made from the params among the feeds. `inputs`: a session's input
 * names, to add only the filters it takes (all when absent); `buffers`: arrays to write them into, reused from run
 * to run.
 */
export function withDerivedFilters(
  feeds: Record<string, ort.Tensor>, derived: readonly DerivedFilter[], inputs?: readonly string[], buffers?: Map<string, Float32Array>,
): Record<string, ort.Tensor> {
  const wanted = inputs ? derived.filter((d) => inputs.includes(d.name)) : derived;
  const values = deriveFilters(wanted, (param) => (feeds[param] as ort.Tensor).data as Float32Array, buffers);
  const out = { ...feeds };
  for (const d of wanted) out[d.name] = new ort.Tensor('float32', values.get(d.name) as Float32Array, [...d.dims]);
  return out;
}
