/**
 * The Pareto front of an accuracy/fairness trade-off: the points no other point beats on both axes.
 *
 * Axes: `x` is a fairness gap (lower is better), `y` is an accuracy (higher is better). Point `i` is on the front
 * when no point `j` has `x_j <= x_i` and `y_j >= y_i` with at least one strict inequality.
 *
 * Edge cases: identical points are all on the front (none strictly beats the other); points with a NaN or
 * infinite coordinate are never on the front and never dominate; an empty list gives `[]`.
 *
 * @returns indices into `points`, sorted by increasing `x` (then decreasing `y`, then index).
 * @example
 * paretoFront([{ x: 0.2, y: 0.85 }, { x: 0.05, y: 0.83 }, { x: 0.1, y: 0.8 }, { x: 0.05, y: 0.83 }])
 * // -> [1, 3, 0]   (point 2 is beaten by point 1: smaller gap and higher accuracy)
 */
export function paretoFront(points: readonly { readonly x: number; readonly y: number }[]): number[] {
  const valid: number[] = [];
  points.forEach((p, i) => {
    if (Number.isFinite(p.x) && Number.isFinite(p.y)) valid.push(i);
  });
  // Sort by x ascending, y descending: a point is on the front iff its y is >= the best y seen so far,
  // and strictly above it unless it ties exactly with the last front point.
  const at = (i: number): { x: number; y: number } => points[i] as { x: number; y: number };
  valid.sort((a, b) => at(a).x - at(b).x || at(b).y - at(a).y || a - b);
  const front: number[] = [];
  let bestY = -Infinity;
  let last: { x: number; y: number } | undefined;
  for (const i of valid) {
    const p = at(i);
    if (p.y > bestY) {
      front.push(i);
      bestY = p.y;
      last = p;
    } else if (last !== undefined && p.y === last.y && p.x === last.x) {
      front.push(i); // an exact duplicate of a front point
    }
  }
  return front;
}
