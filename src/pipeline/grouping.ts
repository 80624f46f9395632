import { InputError } from '../errors.ts';
import type { EmbeddingSet } from '../data/dataset.ts';
import { sortValues } from '../data/_internal/labels.ts';
import type { PreparedData } from './prepare.ts';

/** How the sensitive columns become the groups that penalties and metrics compare. */
export interface GroupingOptions {
  /**
   * The sensitive columns (a subset of `--sensitive`) whose values, crossed, make the groups; default: all of them.
   * The data is read, split and (for `mlp`) encoded with every `--sensitive` column left out of the features, so
   * the rows and features stay those of the full list: only the grouping changes.
   */
  readonly groupBy?: readonly string[];
  /**
   * Groups with fewer rows than this in train + validation (the rows every fine-tuning set is drawn from) are
   * folded into one group, {@link OTHER_GROUP}. Default: none folded.
   */
  readonly minGroupSize?: number;
}

/** The name of the group that {@link regroup} folds small groups into (with a suffix if the data has a group of that name). */
export const OTHER_GROUP = '(other)';

/** A small group, as {@link regroup} reports it. */
export interface SmallGroup {
  readonly name: string;
  /** Rows in train + validation. */
  readonly rows: number;
}

/** What {@link regroup} made: the data with its new groups, and what it did. */
export interface Regrouped {
  readonly prepared: PreparedData;
  /** Groups under `minGroupSize` rows (train + validation), before folding; [] without `minGroupSize`. */
  readonly small: readonly SmallGroup[];
  /** The name of the folded group, when groups were folded. */
  readonly folded?: string;
  /** Warnings for the user: what was folded, what stays small. */
  readonly warnings: readonly string[];
}

/**
 * The groups of each sensitive column, read back from the crossed group names ("F|Black" -> ["F", "Black"]): one
 * entry per group, one value per column of `sensitive`. A value holding "|" makes the split ambiguous: InputError
 * naming the group, since a subset of the columns cannot be formed then.
 *
 * @example
 * groupParts(['F|Black', 'M|White'], ['sex', 'race'], 'adult.csv'); // [['F', 'Black'], ['M', 'White']]
 */
export function groupParts(groupNames: readonly string[], sensitive: readonly string[], dataset: string): string[][] {
  if (sensitive.length <= 1) return groupNames.map((name) => [name]);
  return groupNames.map((name) => {
    const parts = name.split('|');
    if (parts.length !== sensitive.length) {
      throw new InputError(`${dataset}: group "${name}" does not split into one value per sensitive column (${sensitive.join(', ')}): a value holds "|", so --group-by cannot pick columns out of it`);
    }
    return parts;
  });
}

/**
 * Regroup prepared data: the groups made by crossing the `groupBy` columns only (see {@link GroupingOptions}),
 * then the groups with fewer than `minGroupSize` rows in train + validation folded into one group named
 * {@link OTHER_GROUP} (listed last). Rows, splits, labels and features are unchanged; every split (and embeddings
 * on disk) gets the new group indices and names.
 *
 * Edge cases: without options the data is returned as it is. A single small group is kept under its own name
 * (folding needs two), with a warning. When fewer than two groups would be left (all small, or one large and the
 * fold), InputError: group fairness needs two groups. The folded group can itself stay under `minGroupSize`: a
 * warning says so. A group present only in a test file counts 0 rows and is folded.
 *
 * @example
 * // race: White 3,000 rows, Black 400, Asian-Pac-Islander 120, Amer-Indian-Eskimo 40, Other 35 (train + validation)
 * regroup(prepared, ['race'], { minGroupSize: 50 }, 'adult.csv').prepared.train.groupNames;
 * // ['Asian-Pac-Islander', 'Black', 'White', '(other)']
 */
export function regroup(prepared: PreparedData, sensitive: readonly string[], options: GroupingOptions, dataset = prepared.dataset): Regrouped {
  const { groupBy, minGroupSize } = options;
  if (minGroupSize !== undefined && !(Number.isInteger(minGroupSize) && minGroupSize >= 0)) {
    throw new InputError(`--min-group-size: expected an integer >= 0, received ${minGroupSize}`);
  }
  const oldNames = prepared.train.groupNames;
  // step 1: the names of the groups by the chosen columns
  let names: string[] = [...oldNames];
  let subset = false;
  if (groupBy !== undefined && !sameList(groupBy, sensitive)) {
    if (groupBy.length === 0) throw new InputError(`--group-by: name at least one of the sensitive columns (${sensitive.join(', ')})`);
    const picks = groupBy.map((column) => {
      const k = sensitive.indexOf(column);
      if (k < 0) throw new InputError(`--group-by "${column}" is not one of the --sensitive columns. Valid: ${sensitive.join(', ')}`);
      return k;
    });
    if (new Set(picks).size !== picks.length) throw new InputError(`--group-by: a column is named twice (${groupBy.join(', ')})`);
    const parts = groupParts(oldNames, sensitive, dataset);
    names = parts.map((p) => picks.map((k) => p[k] as string).join('|'));
    subset = true;
  }
  // step 2: rows per group in train + validation, and the small ones
  // the crossed names of fewer columns, sorted as the data readers sort them
  const distinct = subset ? sortValues([...new Set(names)]) : [...new Set(names)];
  const index = new Map(distinct.map((n, i) => [n, i]));
  const toNew = Int32Array.from(names, (n) => index.get(n) as number);
  const rows = new Array<number>(distinct.length).fill(0);
  for (const set of [prepared.train, prepared.validation]) {
    for (let i = 0; i < set.group.length; i++) rows[toNew[set.group[i] as number] as number]! += 1;
  }
  const small: SmallGroup[] = minGroupSize === undefined ? [] : distinct.flatMap((name, g) => ((rows[g] as number) < minGroupSize ? [{ name, rows: rows[g] as number }] : []));
  const warnings: string[] = [];
  let folded: string | undefined;
  let finalNames = distinct;
  let toFinal = toNew;
  const where = `${dataset}: --min-group-size ${minGroupSize}`;
  if (small.length >= 2) {
    folded = OTHER_GROUP;
    for (let k = 2; distinct.includes(folded); k++) folded = `${OTHER_GROUP} ${k}`;
    const isSmall = new Set(small.map((s) => s.name));
    const kept = distinct.filter((n) => !isSmall.has(n));
    if (kept.length === 0) throw new InputError(`${where}: every group has fewer rows in train + validation (largest: ${Math.max(...rows)}); group fairness needs two groups, lower it`);
    finalNames = [...kept, folded];
    const finalIndex = new Map(kept.map((n, i) => [n, i]));
    const otherIndex = kept.length;
    const byNew = distinct.map((n) => finalIndex.get(n) ?? otherIndex);
    toFinal = Int32Array.from(toNew, (g) => byNew[g] as number);
    const foldedRows = small.reduce((s, g) => s + g.rows, 0);
    warnings.push(
      `${where}: ${small.length} groups with fewer rows in train + validation were folded into one group "${folded}" (${foldedRows} rows): ` +
        small.map((g) => `"${g.name}" (${g.rows})`).join(', ') +
        (foldedRows < minGroupSize! ? `; "${folded}" itself has fewer than ${minGroupSize} rows` : ''),
    );
  } else if (small.length === 1) {
    const only = small[0] as SmallGroup;
    warnings.push(`${where}: only group "${only.name}" has fewer rows in train + validation (${only.rows}); it is kept as it is (folding needs two small groups)`);
  }
  if (finalNames.length < 2) {
    const what = groupBy !== undefined ? `--group-by ${groupBy.join(',')}` : '--min-group-size';
    throw new InputError(`${dataset}: with ${what} only one group is left ("${finalNames[0]}"); group fairness needs two groups`);
  }
  if (finalNames.length === oldNames.length && finalNames.every((n, i) => n === oldNames[i])) return { prepared, small, warnings };
  const remap = <S extends Pick<EmbeddingSet, 'group' | 'groupNames'>>(set: S): S => ({ ...set, group: Int32Array.from(set.group, (g) => toFinal[g] as number), groupNames: finalNames });
  const regrouped: PreparedData = {
    ...prepared,
    train: remap(prepared.train),
    validation: remap(prepared.validation),
    test: remap(prepared.test),
    ...(prepared.onDisk ? { onDisk: { ...prepared.onDisk, train: remap(prepared.onDisk.train), validation: remap(prepared.onDisk.validation), test: remap(prepared.onDisk.test) } } : {}),
  };
  return { prepared: regrouped, small, ...(folded !== undefined ? { folded } : {}), warnings };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
