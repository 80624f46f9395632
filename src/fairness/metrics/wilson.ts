/**
 * The Wilson score interval of a proportion k / n (Wilson 1927), the interval the Responsible AI Toolbox's fairness
 * dashboard draws on per-group rates: unlike k/n ± z sqrt(p(1-p)/n) it stays inside [0, 1] and is not empty at
 * k = 0 or k = n.
 *
 *   centre = (p + z²/2n) / (1 + z²/n),   half-width = z / (1 + z²/n) · sqrt(p(1-p)/n + z²/4n²),   p = k/n
 *
 * Edge cases: n = 0 gives [NaN, NaN] (no rows: nothing to estimate); k outside 0..n or a negative n throws a
 * RangeError.
 *
 * @example
 * wilsonInterval(8, 10); // [0.490, 0.943] (95%, z = 1.96)
 * wilsonInterval(0, 10); // [0, 0.278]
 */
export function wilsonInterval(k: number, n: number, z = 1.959963984540054): [number, number] {
  if (!(n >= 0) || !(k >= 0 && k <= n)) throw new RangeError(`wilsonInterval: expected 0 <= k <= n, received k = ${k}, n = ${n}`);
  if (n === 0) return [Number.NaN, Number.NaN];
  const p = k / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
