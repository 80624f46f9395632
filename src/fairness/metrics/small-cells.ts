import type { SplitSummary } from '../../report/schema.ts';

/**
 * Rows under which a group, or a (label, group) cell, is too small for a rate measured on it to be read as a fact:
 * a rate on n rows has a standard error of up to 0.5 / sqrt(n), 0.07 at 50 rows, as large as the gaps a fair head
 * closes; at 2 rows a gap of 1.000 is one row's luck. A printed number resting on such a part is marked, with a
 * footnote naming the part and the number's bootstrap interval (docs/small-cells.md). The fine-tuning set has its
 * own, lower threshold (THIN_CELL_ROWS, a warning before training).
 */
export const SMALL_CELL_ROWS = 50;

/**
 * Bootstrap resamples for the intervals of a split with a small part when none were asked for: enough for a 95%
 * interval to a few hundredths (the 2.5% quantile rests on 5 resamples), about 0.25 s on 16,000 rows.
 */
export const SMALL_CELL_BOOTSTRAP = 200;

/** A part of a split that a rate is measured on: a (label, group) cell, or a whole group (`label` `any`). */
export interface SmallCell {
  readonly group: string;
  readonly label: 'positive' | 'negative' | 'any';
  readonly rows: number;
}

/** What each metric's rates are measured on: whole groups, every (label, group) cell, or the positive cells. */
const PARTS: Readonly<Partial<Record<keyof SplitSummary, 'groups' | 'cells' | 'positives'>>> = {
  demographicParityDifference: 'groups',
  demographicParityRatio: 'groups',
  accuracyEqualityDifference: 'groups',
  worstGroupAccuracy: 'groups',
  equalizedOddsDifference: 'cells',
  equalizedOddsRatio: 'cells',
  worstCellAccuracy: 'cells',
  equalOpportunityDifference: 'positives',
};

/**
 * The parts of `split` under {@link SMALL_CELL_ROWS} rows that `metric` rests on, smallest first (then in group
 * order): whole groups for demographic parity, accuracy equality and worst-group accuracy; the (label, group)
 * cells for equalized odds (TPR on positives, FPR on negatives) and worst-cell accuracy; the positive cells for
 * equal opportunity. Overall metrics (accuracy, AUC) rest on every row: none. Empty cells are left out (their rate
 * is undefined and not part of the gap). A summary without `positives` (an older metrics.json) is judged by its
 * groups' sizes.
 *
 * @example
 * smallCells(test, 'equalizedOddsDifference'); // [{ group: 'Other', label: 'positive', rows: 2 }, ...]
 */
export function smallCells(split: SplitSummary, metric: keyof SplitSummary): SmallCell[] {
  const parts = PARTS[metric];
  if (parts === undefined) return [];
  const found: SmallCell[] = [];
  for (const [group, row] of Object.entries(split.byGroup)) {
    if (parts === 'groups' || row.positives === undefined) {
      if (row.count > 0 && row.count < SMALL_CELL_ROWS) found.push({ group, label: 'any', rows: row.count });
      continue;
    }
    const cells: [SmallCell['label'], number][] = [['positive', row.positives]];
    if (parts === 'cells') cells.push(['negative', row.count - row.positives]);
    for (const [label, rows] of cells) if (rows > 0 && rows < SMALL_CELL_ROWS) found.push({ group, label, rows });
  }
  return found.sort((a, b) => a.rows - b.rows);
}

/**
 * True when some group or non-empty (label, group) cell of `split` has fewer than {@link SMALL_CELL_ROWS} rows.
 *
 * @example
 * hasSmallCells(test); // true when a group has 2 test rows
 */
export function hasSmallCells(split: SplitSummary): boolean {
  return smallCells(split, 'equalizedOddsDifference').length > 0 || smallCells(split, 'demographicParityDifference').length > 0;
}

/**
 * A small part in words, for footnotes.
 *
 * @example
 * describeSmallCell({ group: 'Other', label: 'positive', rows: 2 }); // 'positives of group "Other": 2 rows'
 */
export function describeSmallCell(cell: SmallCell): string {
  const rows = `${cell.rows} row${cell.rows === 1 ? '' : 's'}`;
  return cell.label === 'any' ? `group "${cell.group}": ${rows}` : `${cell.label}s of group "${cell.group}": ${rows}`;
}
