import { describeSmallCell, SMALL_CELL_ROWS, smallCells, type SmallCell } from '../fairness/metrics/small-cells.ts';
import type { SplitSummary } from './schema.ts';

/** The mark after a number that rests on fewer than SMALL_CELL_ROWS rows; its footnote says which rows. */
export const SMALL_CELL_MARK = '*';

/** The footnote of a table's marks: one sentence, then the small parts of each split in words. */
export interface SmallCellFootnote {
  /** `* Fewer than 50 rows behind this number ... interval.` */
  readonly lead: string;
  /** Per split with a mark, in the order first met: [split name, its small parts in words]. */
  readonly splits: readonly (readonly [string, string])[];
}

/**
 * Marks the numbers of one table that rest on a small group or (label, group) cell (see smallCells), and collects
 * what its footnote must name. The CLI's runs table and the report's tables use it, so they mark alike.
 *
 * @example
 * const marks = new SmallCellMarks();
 * marks.mark('1.000', 'test', test, 'equalizedOddsDifference', (i) => `[${i[0]}, ${i[1]}]`); // '1.000* [0.5, 1]'
 * marks.footnote(); // { lead: '* Fewer than 50 rows ...', splits: [['test', 'positives of group "c": 1 row, ...']] }
 */
export class SmallCellMarks {
  private readonly found = new Map<string, Map<string, SmallCell>>();

  /**
   * `text` (the number as printed) with {@link SMALL_CELL_MARK} and, when the split has one, the metric's bootstrap
   * interval formatted by `interval`; `text` unchanged when `metric` rests on no small part of `split`.
   */
  mark(text: string, splitName: string, split: SplitSummary | undefined, metric: keyof SplitSummary, interval?: (i: readonly [number, number]) => string): string {
    if (split === undefined || !this.note(splitName, split, metric)) return text;
    const found = split.intervals?.[metric];
    return `${text}${SMALL_CELL_MARK}${found !== undefined && interval !== undefined ? ` ${interval(found)}` : ''}`;
  }

  /** Record the small parts `metric` rests on in `split` (for the footnote); true when there are some. */
  note(splitName: string, split: SplitSummary, metric: keyof SplitSummary): boolean {
    const cells = smallCells(split, metric);
    if (cells.length === 0) return false;
    let parts = this.found.get(splitName);
    if (parts === undefined) this.found.set(splitName, (parts = new Map()));
    for (const c of cells) parts.set(`${c.label} ${c.group}`, c);
    return true;
  }

  /**
   * The footnote for the marks made so far; undefined when nothing was marked. At most `shown` parts per split.
   * `intervals` false: the table prints no interval, and the footnote does not mention one.
   */
  footnote(intervals = true, shown = 4): SmallCellFootnote | undefined {
    if (this.found.size === 0) return undefined;
    const splits = [...this.found].map(([name, parts]) => {
      const cells = [...parts.values()].sort((a, b) => a.rows - b.rows);
      const more = cells.length > shown ? `, and ${cells.length - shown} more` : '';
      return [name, cells.slice(0, shown).map(describeSmallCell).join(', ') + more] as const;
    });
    return {
      lead: `${SMALL_CELL_MARK} Fewer than ${SMALL_CELL_ROWS} rows behind this number (a group, or a group's positives or negatives, in that split), so it is mostly noise${intervals ? '; brackets give its 95% bootstrap interval' : ''}.`,
      splits,
    };
  }

  /** The footnote as one paragraph (reports), or undefined. */
  footnoteText(intervals = true): string | undefined {
    const f = this.footnote(intervals);
    return f === undefined ? undefined : `${f.lead} ${f.splits.map(([name, parts]) => `${capitalise(name)}: ${parts}.`).join(' ')}`;
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
