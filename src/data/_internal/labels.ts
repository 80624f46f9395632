import { InputError } from '../../errors.ts';

/**
 * Label normalisation applied to every target value before it is compared or stored:
 * trim whitespace, then drop one trailing '.' (UCI Adult's test file writes `>50K.` for `>50K`).
 *
 * @example
 * normaliseLabel(' >50K. '); // '>50K'
 * normaliseLabel('1.');      // '1'
 * normaliseLabel('0.5');     // '0.5'
 */
export function normaliseLabel(value: string): string {
  const s = value.trim();
  return s.length > 1 && s.endsWith('.') ? s.slice(0, -1).trimEnd() : s;
}

/** How target values map to class indices; JSON-serialisable (part of saved encodings). */
export interface LabelCoding {
  /** Class names by index: binary = [negative, positive]; multi-class = sorted values. */
  readonly classes: readonly string[];
  /** The value that is class 1 when given with `--positive`, else null. */
  readonly positive: string | null;
  /** True when `--positive` was given and the target has more than 2 values: every other value is class 0. */
  readonly oneVsRest: boolean;
}

/**
 * Decide the classes from the (normalised) target values seen in training.
 *
 * - `positive` given: it is class 1; with 2 values the other is class 0, with more every other value is class 0
 *   (one-vs-rest; class 0 is named `not <positive>`).
 * - 2 values without `positive`: `0`/`1` or `false`/`true` (any case) in that order; anything else is an error
 *   asking for `--positive`.
 * - more than 2 values without `positive`: multi-class, classes sorted (numerically when all are numbers), unless
 *   `requireBinary`, then an error.
 * - fewer than 2 values: an error.
 * - `positive` a numeric threshold such as `>=30` (and not itself a target value): class 1 is every number meeting
 *   it, class 0 the rest (classes `not >=30`, `>=30`); every target value must be a number.
 *
 * @example
 * fitLabelCoding(['<=50K', '>50K'], '>50K', 'adult.data column "Y"').classes; // ['<=50K', '>50K']
 */
export function fitLabelCoding(values: Iterable<string>, positive: string | undefined, where: string, requireBinary = false): LabelCoding {
  const distinct = [...new Set(values)];
  const listed = (): string => sortValues(distinct).slice(0, 20).map((v) => JSON.stringify(v)).join(', ') + (distinct.length > 20 ? ', ...' : '');
  if (positive !== undefined) {
    const pos = normaliseLabel(positive);
    const threshold = parseThreshold(pos);
    if (!distinct.includes(pos) && threshold) {
      const notNumber = distinct.find((v) => v.trim() === '' || !Number.isFinite(Number(v)));
      if (notNumber !== undefined) {
        throw new InputError(`${where}: --positive ${JSON.stringify(positive)} compares numbers, but the target holds ${JSON.stringify(notNumber)}`);
      }
      const hits = distinct.filter((v) => threshold(Number(v))).length;
      if (hits === 0 || hits === distinct.length) {
        throw new InputError(`${where}: --positive ${JSON.stringify(positive)} puts every row in one class; values are: ${listed()}`);
      }
      return { classes: [`not ${pos}`, pos], positive: pos, oneVsRest: true };
    }
    if (!distinct.includes(pos)) {
      const numeric = distinct.length > 2 && distinct.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
      const hint = numeric ? ' (or a threshold on this numeric target, such as ">=30")' : '';
      throw new InputError(`${where}: --positive ${JSON.stringify(positive)} is not a value of the target; values are: ${listed()}${hint}`);
    }
    if (distinct.length < 2) throw new InputError(`${where}: the target has only one value (${listed()}); a classifier needs two`);
    if (distinct.length === 2) {
      const neg = distinct.find((v) => v !== pos) as string;
      return { classes: [neg, pos], positive: pos, oneVsRest: false };
    }
    return { classes: [`not ${pos}`, pos], positive: pos, oneVsRest: true };
  }
  if (distinct.length < 2) throw new InputError(`${where}: the target has only ${distinct.length === 0 ? 'no values' : `one value (${listed()})`}; a classifier needs two`);
  if (distinct.length === 2) {
    const sorted = sortValues(distinct);
    const [a, b] = sorted as [string, string];
    if (a === '0' && b === '1') return { classes: ['0', '1'], positive: null, oneVsRest: false };
    if (a.toLowerCase() === 'false' && b.toLowerCase() === 'true') return { classes: [a, b], positive: null, oneVsRest: false };
    throw new InputError(`${where}: the target has two values (${listed()}); say which is the positive class with --positive, e.g. --positive ${JSON.stringify(b)}`);
  }
  if (requireBinary) {
    throw new InputError(`${where}: a binary target is required but it has ${distinct.length} values (${listed()}); pass --positive VALUE for one-vs-rest`);
  }
  return { classes: sortValues(distinct), positive: null, oneVsRest: false };
}

/**
 * Class index of a normalised target value, or -1 when the coding does not know it
 * (one-vs-rest codings know every value: anything but the positive is class 0).
 */
export function labelIndex(coding: LabelCoding, value: string, lookup?: ReadonlyMap<string, number>): number {
  if (coding.oneVsRest) {
    if (value === coding.positive) return 1;
    const threshold = coding.positive === null ? null : parseThreshold(coding.positive);
    return threshold && value.trim() !== '' && threshold(Number(value)) ? 1 : 0;
  }
  if (lookup) return lookup.get(value) ?? -1;
  return coding.classes.indexOf(value);
}

/**
 * `--positive` as a numeric threshold (`>=30`, `>0.5`, `<18`, `<=-1`), or null when it is not one.
 * Used only when the value is not itself a value of the target (so a label literally named ">=30" stays a label).
 *
 * @example
 * parseThreshold('>=30')?.(30); // true
 * parseThreshold('>50K');       // null (not a number after the operator)
 */
export function parseThreshold(text: string): ((x: number) => boolean) | null {
  const m = /^(>=|<=|>|<)\s*(-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$/.exec(text.trim());
  if (!m) return null;
  const t = Number(m[2]);
  switch (m[1]) {
    case '>=':
      return (x) => x >= t;
    case '>':
      return (x) => x > t;
    case '<=':
      return (x) => x <= t;
    default:
      return (x) => x < t;
  }
}

/** Map from class name to index, for {@link labelIndex} in loops. */
export function classLookup(coding: LabelCoding): Map<string, number> {
  return new Map(coding.classes.map((c, i) => [c, i]));
}

/** Sort strings numerically when every one is a number, else by code unit (locale-independent). */
export function sortValues(values: readonly string[]): string[] {
  const allNumbers = values.length > 0 && values.every((v) => v.trim() !== '' && Number.isFinite(Number(v)));
  return [...values].sort(allNumbers ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The group name a missing (empty) sensitive value gets. */
export const MISSING_GROUP_VALUE = '(missing)';

/**
 * Cross several sensitive columns into one group index per row; names joined by '|' (e.g. "Female|Black").
 *
 * An empty cell becomes `(missing)`. Without `known`, names are the sorted combinations that occur. With `known`
 * (the training groups), those keep their indices and combinations not seen in training are appended (sorted)
 * so that train and test share a prefix of group names.
 *
 * @example
 * crossGroups([['F', 'M', 'F'], ['B', 'W', 'W']]); // { group: [0, 2, 1], groupNames: ['F|B', 'F|W', 'M|W'] }
 */
export function crossGroups(columns: readonly (readonly string[])[], rows: number, known?: readonly string[]): { group: Int32Array; groupNames: string[] } {
  const names = new Array<string>(rows);
  for (let i = 0; i < rows; i++) {
    let name = '';
    for (let c = 0; c < columns.length; c++) {
      const v = ((columns[c] as readonly string[])[i] as string).trim();
      name += (c > 0 ? '|' : '') + (v === '' ? MISSING_GROUP_VALUE : v);
    }
    names[i] = columns.length === 0 ? 'all' : name;
  }
  const seen = [...new Set(names)];
  let groupNames: string[];
  if (known) {
    const knownSet = new Set(known);
    groupNames = [...known, ...sortValues(seen.filter((n) => !knownSet.has(n)))];
  } else {
    groupNames = sortValues(seen);
  }
  const index = new Map(groupNames.map((n, i) => [n, i]));
  const group = new Int32Array(rows);
  for (let i = 0; i < rows; i++) group[i] = index.get(names[i] as string) as number;
  return { group, groupNames };
}

/** Error when a sensitive column has fewer than two values (no fairness comparison is possible). */
export function checkSensitiveColumn(values: readonly string[], column: string, source: string): void {
  const first = values[0];
  if (first === undefined) throw new InputError(`${source}: no rows; sensitive column "${column}" needs at least two values`);
  for (const v of values) if (v !== first) return;
  throw new InputError(`${source}: sensitive column "${column}" has only one value (${JSON.stringify(first)}); group fairness needs at least two groups`);
}
