/**
 * Makes data/adult-predictions.csv, the built-in data of `fairhead metrics --demo`.
 *
 * What: a small logistic regression, fitted on the UCI Adult training rows (data/adult/adult.data, 32,561 rows),
 * scores every test row (data/adult/adult.test, 16,281 rows). The model is "fairness through unawareness": it
 * does NOT see sex or race, only
 *   age, education-num, hours-per-week, log(1 + capital-gain), log(1 + capital-loss),
 *   married = [marital-status is Married-civ-spouse or Married-AF-spouse]
 * (each standardised with the training mean and standard deviation), plus an intercept. It still treats the groups
 * differently through these proxies, which is what the demo shows.
 *
 * How: maximum likelihood by Newton's method (iteratively reweighted least squares) with a tiny ridge
 * (1e-6 · ||w||², not on the intercept) until the largest step is below 1e-10; deterministic, no randomness.
 *
 * Output columns: age, sex, race, Y (the true label, `<=50K` or `>50K`: the test file's trailing '.' removed),
 * score (P(Y = >50K), 4 decimals), pred (`>50K` when score >= 0.5, else `<=50K`). All 16,281 test rows, in file order.
 *
 * Run: npx tsx scripts/make-demo-predictions.ts   (prints the coefficients and the test accuracy)
 */
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../src/atomic-write.ts';
import { columnValues, readCsvTable, type CsvTable } from '../src/data/csv-table.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const FEATURES = ['age', 'education-num', 'hours-per-week', 'log1p(capital-gain)', 'log1p(capital-loss)', 'married'] as const;
const RIDGE = 1e-6;

/** Raw feature rows (before standardising) and 0/1 labels of an Adult table. */
function featuresOf(table: CsvTable): { x: Float64Array[]; y: Uint8Array } {
  const num = (name: string) =>
    columnValues(table, name).map((v, i) => {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`${table.source}: line ${table.lines[i]}: ${name} "${v}" is not a number`);
      return n;
    });
  const age = num('age');
  const edu = num('education-num');
  const hours = num('hours-per-week');
  const gain = num('capital-gain');
  const loss = num('capital-loss');
  const marital = columnValues(table, 'marital-status');
  const label = columnValues(table, 'Y');
  const x: Float64Array[] = [];
  const y = new Uint8Array(table.rows.length);
  for (let i = 0; i < table.rows.length; i++) {
    const m = marital[i] === 'Married-civ-spouse' || marital[i] === 'Married-AF-spouse' ? 1 : 0;
    x.push(Float64Array.of(age[i] as number, edu[i] as number, hours[i] as number, Math.log1p(gain[i] as number), Math.log1p(loss[i] as number), m));
    y[i] = cleanLabel(label[i] as string) === '>50K' ? 1 : 0;
  }
  return { x, y };
}

function cleanLabel(v: string): string {
  return v.endsWith('.') ? v.slice(0, -1) : v;
}

/** Solve A z = b (A symmetric positive definite, d×d, row-major) by Cholesky. */
function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * d + k] as number) * (l[j * d + k] as number);
      l[i * d + j] = i === j ? Math.sqrt(s) : s / (l[j * d + j] as number);
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * d + k] as number) * (z[k] as number);
    z[i] = s / (l[i * d + i] as number);
  }
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < d; k++) s -= (l[k * d + i] as number) * (z[k] as number);
    z[i] = s / (l[i * d + i] as number);
  }
  return z;
}

/** Logistic regression by Newton's method; weights[0] is the intercept. */
function fitLogistic(x: Float64Array[], y: Uint8Array): Float64Array {
  const p = (x[0] as Float64Array).length;
  const d = p + 1;
  const w = new Float64Array(d);
  for (let iter = 0; iter < 50; iter++) {
    const grad = new Float64Array(d);
    const hess = new Float64Array(d * d);
    const row = new Float64Array(d);
    for (let i = 0; i < x.length; i++) {
      row[0] = 1;
      row.set(x[i] as Float64Array, 1);
      let z = 0;
      for (let j = 0; j < d; j++) z += (w[j] as number) * (row[j] as number);
      const mu = 1 / (1 + Math.exp(-z));
      const r = (y[i] as number) - mu;
      const v = mu * (1 - mu);
      for (let j = 0; j < d; j++) {
        grad[j] = (grad[j] as number) + r * (row[j] as number);
        for (let k = 0; k <= j; k++) hess[j * d + k] = (hess[j * d + k] as number) + v * (row[j] as number) * (row[k] as number);
      }
    }
    for (let j = 0; j < d; j++) {
      for (let k = 0; k < j; k++) hess[k * d + j] = hess[j * d + k] as number;
      if (j > 0) {
        grad[j] = (grad[j] as number) - 2 * RIDGE * (w[j] as number);
        hess[j * d + j] = (hess[j * d + j] as number) + 2 * RIDGE;
      }
    }
    const step = solveSpd(hess, grad, d);
    let largest = 0;
    for (let j = 0; j < d; j++) {
      w[j] = (w[j] as number) + (step[j] as number);
      largest = Math.max(largest, Math.abs(step[j] as number));
    }
    if (largest < 1e-10) break;
  }
  return w;
}

function main(): void {
  const train = readCsvTable(`${root}data/adult/adult.data`);
  const test = readCsvTable(`${root}data/adult/adult.test`);
  const tr = featuresOf(train);
  const te = featuresOf(test);
  const p = FEATURES.length;
  const mean = new Float64Array(p);
  const sd = new Float64Array(p);
  for (const r of tr.x) for (let j = 0; j < p; j++) mean[j] = (mean[j] as number) + (r[j] as number) / tr.x.length;
  for (const r of tr.x) for (let j = 0; j < p; j++) sd[j] = (sd[j] as number) + ((r[j] as number) - (mean[j] as number)) ** 2 / tr.x.length;
  for (let j = 0; j < p; j++) sd[j] = Math.sqrt(sd[j] as number);
  const standardise = (rows: Float64Array[]) => rows.map((r) => r.map((v, j) => (v - (mean[j] as number)) / (sd[j] as number)));
  const w = fitLogistic(standardise(tr.x), tr.y);

  const sex = columnValues(test, 'sex');
  const race = columnValues(test, 'race');
  const age = columnValues(test, 'age');
  const label = columnValues(test, 'Y');
  const lines = ['age,sex,race,Y,score,pred'];
  let correct = 0;
  standardise(te.x).forEach((r, i) => {
    let z = w[0] as number;
    for (let j = 0; j < p; j++) z += (w[j + 1] as number) * (r[j] as number);
    const score = 1 / (1 + Math.exp(-z));
    const pred = score >= 0.5 ? '>50K' : '<=50K';
    const truth = cleanLabel(label[i] as string);
    if (pred === truth) correct++;
    lines.push(`${age[i]},${sex[i]},${race[i]},${truth},${score.toFixed(4)},${pred}`);
  });
  writeFileAtomic(`${root}data/adult-predictions.csv`, `${lines.join('\n')}\n`);
  console.log(`intercept ${(w[0] as number).toFixed(4)}; ${FEATURES.map((f, j) => `${f} ${(w[j + 1] as number).toFixed(4)}`).join('; ')}`);
  console.log(`wrote data/adult-predictions.csv: ${te.x.length} rows, test accuracy ${(correct / te.x.length).toFixed(4)}`);
}

main();
