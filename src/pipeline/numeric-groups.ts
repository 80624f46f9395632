import { MISSING_GROUP_VALUE } from '../data/_internal/labels.ts';

/** More distinct numeric values than this in one sensitive column: it looks like a measurement, not a group. */
export const MANY_NUMERIC_GROUPS = 10;

/**
 * Warnings for sensitive columns whose training values are all numbers, more than {@link MANY_NUMERIC_GROUPS} of
 * them (an age, an income): each value became a group of its own, most of them small, so gaps between them are
 * mostly noise and the penalty chases it. `groupNames` are the crossed names ("F|34"), one part per column of
 * `sensitive`; `(missing)` is not counted.
 *
 * @example
 * numericGroupWarnings(['18', '19', ..., '80'], ['age'], 'loans.csv');
 * // ['loans.csv: sensitive column "age" has 63 numeric values in the training data, ...']
 */
export function numericGroupWarnings(groupNames: readonly string[], sensitive: readonly string[], dataset: string): string[] {
  const warnings: string[] = [];
  sensitive.forEach((column, k) => {
    const values = new Set(groupNames.map((name) => (sensitive.length === 1 ? name : (name.split('|')[k] ?? ''))));
    values.delete(MISSING_GROUP_VALUE);
    if (values.size <= MANY_NUMERIC_GROUPS || ![...values].every((v) => v.trim() !== '' && Number.isFinite(Number(v)))) return;
    warnings.push(
      `${dataset}: sensitive column "${column}" has ${values.size} numeric values in the training data, and each became a group of its own, ` +
        'most of them small: gaps between single values are mostly noise. To compare ranges, put the ranges in a column of their own ' +
        `(e.g. "${column} band" with a few values) and pass that column to --sensitive`,
    );
  });
  return warnings;
}
