/**
 * Test helper (not a test): a small real-data fine-tuning problem from UCI Adult (data/adult):
 * the first `rows` rows of adult.data, features = standardised age, education-num, log1p(capital-gain),
 * log1p(capital-loss), hours-per-week and 1/0 indicators of 6 frequent occupation / marital values
 * (11 features), label ">50K", group = sex (Female, Male).
 */
import { columnValues, readCsvTable } from '../../src/data/csv-table.ts';
import type { EmbeddingSet } from '../../src/data/dataset.ts';
import { matrix } from '../../src/data/matrix.ts';

export { ADULT_TRAIN } from '../support/data.ts';
import { ADULT_TRAIN } from '../support/data.ts';

export function adultEmbeddings(rows: number): EmbeddingSet {
  const table = readCsvTable(ADULT_TRAIN);
  const take = <T>(v: T[]): T[] => v.slice(0, rows);
  const numeric = [
    take(columnValues(table, 'age')).map(Number),
    take(columnValues(table, 'education-num')).map(Number),
    take(columnValues(table, 'capital-gain')).map((v) => Math.log1p(Number(v))),
    take(columnValues(table, 'capital-loss')).map((v) => Math.log1p(Number(v))),
    take(columnValues(table, 'hours-per-week')).map(Number),
  ];
  const occupation = take(columnValues(table, 'occupation'));
  const marital = take(columnValues(table, 'marital-status'));
  const indicators = [
    occupation.map((v) => (v === 'Exec-managerial' ? 1 : 0)),
    occupation.map((v) => (v === 'Prof-specialty' ? 1 : 0)),
    occupation.map((v) => (v === 'Craft-repair' ? 1 : 0)),
    occupation.map((v) => (v === 'Other-service' ? 1 : 0)),
    marital.map((v) => (v === 'Married-civ-spouse' ? 1 : 0)),
    marital.map((v) => (v === 'Never-married' ? 1 : 0)),
  ];
  const columns = [...numeric.map(standardise), ...indicators];
  const n = columns[0]!.length;
  const d = columns.length;
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let c = 0; c < d; c++) x[i * d + c] = columns[c]![i]!;
  const y = Int32Array.from(take(columnValues(table, 'Y')), (v) => (v === '>50K' ? 1 : 0));
  const group = Int32Array.from(take(columnValues(table, 'sex')), (v) => (v === 'Male' ? 1 : 0));
  return { x: matrix(x, n, d), y, group, classes: ['<=50K', '>50K'], groupNames: ['Female', 'Male'] };
}

function standardise(v: number[]): number[] {
  const mean = v.reduce((s, a) => s + a, 0) / v.length;
  const sd = Math.sqrt(v.reduce((s, a) => s + (a - mean) ** 2, 0) / v.length) || 1;
  return v.map((a) => (a - mean) / sd);
}
