import { InputError, ShapeError } from '../../../errors.ts';

/** One sensitive feature: a column name and one value per row. */
export interface SensitiveFeature {
  readonly name: string;
  readonly values: ArrayLike<string | number>;
}

/** What the engine needs: binary labels (positive = 1), optional scores and weights, the sensitive features. */
export interface GroupMetricsInput {
  /** True labels, 0 or 1 (positive = 1). */
  readonly yTrue: ArrayLike<number>;
  /** Predicted labels, 0 or 1. */
  readonly yPred: ArrayLike<number>;
  /** Scores for the positive class (any monotone scale: probability, logit), used only by ROC AUC. */
  readonly yScore?: ArrayLike<number> | undefined;
  /** Non-negative sample weights (fairlearn's `sample_params={"sample_weight": ...}`). */
  readonly sampleWeight?: ArrayLike<number> | undefined;
  /** One or more sensitive features; several are crossed into intersectional groups. */
  readonly sensitiveFeatures: readonly SensitiveFeature[];
}

/** The input checked once and packed into typed arrays, with every row's group index. @internal */
export interface Encoded {
  readonly n: number;
  readonly yTrue: Uint8Array;
  readonly yPred: Uint8Array;
  readonly score: Float64Array | undefined;
  readonly weight: Float64Array | undefined;
  /** Group index of each row (into `groupKeys`). */
  readonly group: Int32Array;
  /** Group names in sorted order (values joined with `GROUP_SEPARATOR` for intersectional groups). */
  readonly groupKeys: readonly string[];
  /** Each group's value of each sensitive feature. */
  readonly groupValues: readonly (readonly string[])[];
  readonly features: readonly string[];
  /** Row indices sorted by ascending score (for ROC AUC), when scores are given. */
  readonly order: Uint32Array | undefined;
}

/** Joins the values of several sensitive features into one intersectional group name: `Female & Black`. */
export const GROUP_SEPARATOR = ' & ';

/** Check the input (sizes, 0/1 labels, finite scores, non-negative weights) and encode the groups. @internal */
export function encodeInput(input: GroupMetricsInput): Encoded {
  const n = input.yTrue.length;
  if (n === 0) throw new InputError('group metrics: empty input (0 rows); expected at least one row');
  checkLength('yPred', input.yPred.length, n);
  if (input.yScore !== undefined) checkLength('yScore', input.yScore.length, n);
  if (input.sampleWeight !== undefined) checkLength('sampleWeight', input.sampleWeight.length, n);
  if (input.sensitiveFeatures.length === 0) {
    throw new InputError('group metrics: no sensitive feature given; expected at least one { name, values }');
  }
  for (const f of input.sensitiveFeatures) checkLength(`sensitive feature "${f.name}"`, f.values.length, n);

  const yTrue = toBinary('yTrue', input.yTrue);
  const yPred = toBinary('yPred', input.yPred);
  let score: Float64Array | undefined;
  if (input.yScore !== undefined) {
    score = Float64Array.from(input.yScore);
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(score[i])) throw new InputError(`yScore[${i}] is ${String(input.yScore[i])}, expected a finite number`);
    }
  }
  let weight: Float64Array | undefined;
  if (input.sampleWeight !== undefined) {
    weight = Float64Array.from(input.sampleWeight);
    for (let i = 0; i < n; i++) {
      const w = weight[i] as number;
      if (!(Number.isFinite(w) && w >= 0)) {
        throw new InputError(`sampleWeight[${i}] is ${String(input.sampleWeight[i])}, expected a finite number >= 0`);
      }
    }
  }
  const { group, groupKeys, groupValues } = encodeGroups(input.sensitiveFeatures, n);
  const order = score === undefined ? undefined : argsortAscending(score);
  return { n, yTrue, yPred, score, weight, group, groupKeys, groupValues, features: input.sensitiveFeatures.map((f) => f.name), order };
}

function checkLength(what: string, got: number, n: number): void {
  if (got !== n) throw new ShapeError(`${what} has ${got} values, yTrue has ${n}; expected one value per row`);
}

function toBinary(what: string, values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === 1) out[i] = 1;
    else if (v !== 0) throw new InputError(`${what}[${i}] is ${String(v)}, expected 0 or 1 (positive = 1)`);
  }
  return out;
}

/** Codes of one feature: per row the rank of its value among the sorted distinct values. */
function encodeFeature(values: ArrayLike<string | number>, n: number): { codes: Int32Array; levels: (string | number)[] } {
  const seen = new Map<string | number, number>();
  const first = new Int32Array(n);
  const levels: (string | number)[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i] as string | number;
    let c = seen.get(v);
    if (c === undefined) {
      c = levels.length;
      seen.set(v, c);
      levels.push(v);
    }
    first[i] = c;
  }
  const allNumbers = levels.every((v) => typeof v === 'number');
  const sortedIdx = levels.map((_, i) => i);
  sortedIdx.sort((a, b) => {
    const x = levels[a] as string | number;
    const y = levels[b] as string | number;
    if (allNumbers) return (x as number) - (y as number);
    const sx = String(x);
    const sy = String(y);
    return sx < sy ? -1 : sx > sy ? 1 : 0;
  });
  const rank = new Int32Array(levels.length);
  sortedIdx.forEach((old, r) => {
    rank[old] = r;
  });
  const codes = new Int32Array(n);
  for (let i = 0; i < n; i++) codes[i] = rank[first[i] as number] as number;
  return { codes, levels: sortedIdx.map((i) => levels[i] as string | number) };
}

function encodeGroups(
  features: readonly SensitiveFeature[],
  n: number,
): { group: Int32Array; groupKeys: string[]; groupValues: string[][] } {
  const encoded = features.map((f) => encodeFeature(f.values, n));
  if (encoded.length === 1) {
    // one feature: its sorted codes are the groups, and every level occurs
    const only = encoded[0] as { codes: Int32Array; levels: (string | number)[] };
    const groupValues = only.levels.map((v) => [String(v)]);
    const groupKeys = groupValues.map((parts) => parts[0] as string);
    checkDistinct(groupKeys);
    return { group: only.codes, groupKeys, groupValues };
  }
  // Mixed-radix code: sorting the codes numerically sorts the groups lexicographically by feature.
  const combined = new Float64Array(n);
  let stride = 1;
  for (let f = encoded.length - 1; f >= 0; f--) {
    const { codes, levels } = encoded[f] as { codes: Int32Array; levels: unknown[] };
    for (let i = 0; i < n; i++) combined[i] = (combined[i] as number) + (codes[i] as number) * stride;
    stride *= levels.length;
    if (stride > 2 ** 52) throw new InputError(`sensitive features: too many combinations of values to cross (over 2^52); use fewer columns`);
  }
  const present = [...new Set(combined)].sort((a, b) => a - b);
  const index = new Map<number, number>();
  present.forEach((code, g) => index.set(code, g));
  const group = new Int32Array(n);
  for (let i = 0; i < n; i++) group[i] = index.get(combined[i] as number) as number;

  const groupValues = present.map((code) => {
    const parts: string[] = new Array<string>(encoded.length);
    let rest = code;
    for (let f = encoded.length - 1; f >= 0; f--) {
      const levels = (encoded[f] as { levels: (string | number)[] }).levels;
      const r = rest % levels.length;
      rest = (rest - r) / levels.length;
      parts[f] = String(levels[r]);
    }
    return parts;
  });
  const groupKeys = groupValues.map((parts) => parts.join(GROUP_SEPARATOR));
  checkDistinct(groupKeys);
  return { group, groupKeys, groupValues };
}

function checkDistinct(groupKeys: readonly string[]): void {
  const seen = new Set<string>();
  for (const k of groupKeys) {
    if (seen.has(k)) {
      throw new InputError(`sensitive features: two different groups are both named "${k}" (a value holding "${GROUP_SEPARATOR.trim()}" or the same value as number and text); rename the values`);
    }
    seen.add(k);
  }
}

/**
 * Row indices sorted by ascending value, ties in row order: a stable LSD radix sort (four 16-bit passes) over the
 * float64 bits made order-preserving (sign bit flipped for positives, all bits for negatives). About 5x faster
 * than a comparator sort of the indices on 200k rows; passes where all rows share the digit are skipped.
 */
function argsortAscending(values: Float64Array): Uint32Array {
  const n = values.length;
  const words = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
  for (let i = 0; i < n; i++) {
    let l = words[2 * i + (littleEndian ? 0 : 1)] as number;
    let h = words[2 * i + (littleEndian ? 1 : 0)] as number;
    if (h & 0x80000000) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    lo[i] = l;
    hi[i] = h;
  }
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let next = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (const [key, shift] of [[lo, 0], [lo, 16], [hi, 0], [hi, 16]] as const) {
    count.fill(0);
    for (let i = 0; i < n; i++) {
      const d = ((key[i] as number) >>> shift) & 0xffff;
      count[d] = (count[d] as number) + 1;
    }
    if (count[((key[0] as number) >>> shift) & 0xffff] === n) continue; // one digit for all rows
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = count[d] as number;
      count[d] = sum;
      sum += c;
    }
    for (let k = 0; k < n; k++) {
      const i = order[k] as number;
      const d = ((key[i] as number) >>> shift) & 0xffff;
      next[count[d] as number] = i;
      count[d] = (count[d] as number) + 1;
    }
    [order, next] = [next, order];
  }
  return order;
}
