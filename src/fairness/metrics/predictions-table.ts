import { columnIndex, type CsvTable } from '../../data/csv-table.ts';
import { InputError } from '../../errors.ts';
import type { GroupMetricsInput } from './group-metrics.ts';

/** Which columns of a predictions CSV hold what (the flags of `fairhead metrics`). */
export interface PredictionColumns {
  /** Column of the true labels. */
  readonly target: string;
  /** Column of the predicted labels (same values as the target). */
  readonly pred: string;
  /** Optional column of scores for the positive class (for ROC AUC). */
  readonly score?: string | undefined;
  /** One or more sensitive columns (several are crossed into intersectional groups). */
  readonly sensitive: readonly string[];
  /** The positive label value; needed unless the target is 0/1 or false/true. */
  readonly positive?: string | undefined;
}

/** A predictions table turned into engine input, with the positive value that was used. */
export interface PredictionsInput {
  readonly input: GroupMetricsInput;
  readonly positive: string;
  /** The distinct target values, sorted. */
  readonly targetValues: readonly string[];
  readonly rows: number;
}

const BINARY_CODINGS: readonly (readonly [string, string])[] = [
  ['0', '1'],
  ['false', 'true'],
  ['False', 'True'],
  ['FALSE', 'TRUE'],
  ['no', 'yes'],
];

/**
 * Read a CSV of a model's predictions (one row per example) into {@link GroupMetricsInput}: labels become
 * 1 for `positive`, 0 for every other value (one-vs-rest when the target has more than two values).
 *
 * Without `positive` the target must be coded 0/1 (or false/true, no/yes): positive = 1 (true, yes).
 * Errors (InputError, one line naming the file, row and column): a table without rows, a missing column,
 * a target that is not 0/1-coded and no `positive`, a `positive` found in neither target nor predictions,
 * a prediction that is not one of the target's values, a score that is not a finite number.
 *
 * @example
 * predictionsFromTable(readCsvTable('preds.csv'), { target: 'Y', pred: 'pred', sensitive: ['sex'], positive: '>50K' })
 * // { input: { yTrue: Uint8Array [0, 1, ...], yPred: ..., sensitiveFeatures: [{ name: 'sex', values: [...] }] },
 * //   positive: '>50K', targetValues: ['<=50K', '>50K'], rows: 16281 }
 */
export function predictionsFromTable(table: CsvTable, columns: PredictionColumns): PredictionsInput {
  const src = table.source;
  if (table.rows.length === 0) throw new InputError(`${src}: has a header but no rows; expected one row per prediction`);
  if (columns.sensitive.length === 0) throw new InputError(`${src}: no --sensitive column given; expected one or more column names`);
  const jTarget = columnIndex(table, columns.target, '--target column');
  const jPred = columnIndex(table, columns.pred, '--pred column');
  const jScore = columns.score === undefined ? undefined : columnIndex(table, columns.score, '--score column');
  const jSensitive = columns.sensitive.map((name) => columnIndex(table, name, '--sensitive column'));
  const n = table.rows.length;
  const at = (r: number) => `${src}: row ${r + 1} (line ${table.lines[r]})`;

  const targetSet = new Set<string>();
  for (const row of table.rows) targetSet.add(row[jTarget] as string);
  const targetValues = [...targetSet].sort();
  const shown = (values: readonly string[]) => values.slice(0, 10).map((v) => `"${v}"`).join(', ') + (values.length > 10 ? `, ... (${values.length} values)` : '');

  let positive = columns.positive;
  const allowed = new Set(targetSet);
  if (positive === undefined) {
    const coding = BINARY_CODINGS.find(([no, yes]) => targetValues.every((v) => v === no || v === yes));
    if (coding === undefined) {
      const what = targetValues.length === 2 ? 'two values that are not 0/1' : `${targetValues.length} values`;
      throw new InputError(
        `${src}: --target column "${columns.target}" has ${what} (${shown(targetValues)}); pass --positive VALUE to say which value is the positive class`,
      );
    }
    positive = coding[1];
    allowed.add(coding[0]).add(coding[1]);
  } else {
    let inPred = false;
    for (const row of table.rows) if (row[jPred] === positive) inPred = true;
    if (!targetSet.has(positive) && !inPred) {
      throw new InputError(`${src}: --positive "${positive}" is not a value of column "${columns.target}"; values are: ${shown(targetValues)}`);
    }
    allowed.add(positive);
  }

  const yTrue = new Uint8Array(n);
  const yPred = new Uint8Array(n);
  const yScore = jScore === undefined ? undefined : new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const row = table.rows[r] as readonly string[];
    yTrue[r] = row[jTarget] === positive ? 1 : 0;
    const p = row[jPred] as string;
    if (!allowed.has(p)) {
      throw new InputError(
        `${at(r)}, column "${columns.pred}" (--pred): "${p}" is not one of the target's values (${shown([...allowed].sort())}); pass scores or probabilities with --score`,
      );
    }
    yPred[r] = p === positive ? 1 : 0;
    if (yScore !== undefined && jScore !== undefined) {
      const text = row[jScore] as string;
      const s = text === '' ? NaN : Number(text);
      if (!Number.isFinite(s)) throw new InputError(`${at(r)}, column "${columns.score}" (--score): "${text}" is not a number`);
      yScore[r] = s;
    }
  }
  const sensitiveFeatures = columns.sensitive.map((name, k) => {
    const j = jSensitive[k] as number;
    return { name, values: table.rows.map((row) => row[j] as string) };
  });
  const input: GroupMetricsInput = yScore === undefined ? { yTrue, yPred, sensitiveFeatures } : { yTrue, yPred, yScore, sensitiveFeatures };
  return { input, positive, targetValues, rows: n };
}
