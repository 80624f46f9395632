import type { EmbeddingSet } from '../data/dataset.ts';
import { cellCounts, positiveLabels } from '../fairness/penalties/index.ts';
import { methodUsesPenalty, type MethodName } from './finetune-sets.ts';

/**
 * Rows under which a fine-tuning set's cell is too thin for its penalty: a rate measured on n rows has a standard
 * error of up to 0.5 / sqrt(n), 0.09 at 30 rows, as large as the gaps the penalty closes.
 */
export const THIN_CELL_ROWS = 30;

type Labelled = Pick<EmbeddingSet, 'y' | 'group' | 'classes' | 'groupNames'>;

/**
 * The warning for a penalised run (m1, m2) whose fine-tuning set has fewer than {@link THIN_CELL_ROWS} rows in a
 * part its penalty measures a rate on: a (label, group) cell for eo and mmf, a positive label's cell for eopp, a
 * whole group for dp, di and ae. The penalty then closes gaps that are mostly noise, and the head can be fair on
 * the set and not on new data. m1's set is the validation set; every cell of m2's (and m2p's) holds as many rows as
 * the smallest cell of train + validation; m2w's is all of train + validation. Undefined when nothing is thin, for b* methods, and for empty parts
 * (fitting refuses those with an error of its own).
 *
 * @example
 * thinCellWarning(train, validation, 'm2', 'eo', 'loans.csv');
 * // 'loans.csv: the m2 fine-tuning set has 19 rows with label "1" in group "(missing)"; ...'
 */
export function thinCellWarning(train: Labelled, validation: Labelled, method: MethodName, constraint: string, dataset: string): string | undefined {
  if (!methodUsesPenalty(method)) return undefined;
  const K = train.classes.length;
  const G = train.groupNames.length;
  const counts = Int32Array.from(cellCounts(validation));
  // m2: every cell gets as many rows as the smallest cell of train + validation (the limiting cell) has
  let limiting = -1;
  if (method !== 'm1') {
    const union = cellCounts(train).map((v, c) => v + (counts[c] as number));
    for (let c = 0; c < K * G; c++) if (limiting < 0 || (union[c] as number) < (union[limiting] as number)) limiting = c;
    // m2w: every row of train + validation (weights leave the rows a rate is measured on as they are)
    if (method === 'm2w') counts.set(union);
    else counts.fill(union[limiting] as number);
  }
  const labels = constraint === 'eopp' ? positiveLabels(K) : Array.from({ length: K }, (_, c) => c);
  const byGroup = constraint === 'dp' || constraint === 'di' || constraint === 'ae';
  // the parts the penalty measures a rate on: [rows, label (-1: the whole group), group]
  const parts: [number, number, number][] = [];
  for (let g = 0; g < G; g++) {
    if (byGroup) parts.push([labels.reduce((sum, c) => sum + (counts[c * G + g] as number), 0), -1, g]);
    else for (const c of labels) parts.push([counts[c * G + g] as number, c, g]);
  }
  // the thinnest non-empty part; among equals (m2), the one holding the limiting cell
  const holdsLimiting = ([, c, g]: [number, number, number]): boolean => (c < 0 ? limiting % G === g : c * G + g === limiting);
  let thinnest: [number, number, number] | undefined;
  for (const part of parts) {
    if (part[0] === 0) continue;
    if (!thinnest || part[0] < thinnest[0] || (part[0] === thinnest[0] && holdsLimiting(part) && !holdsLimiting(thinnest))) thinnest = part;
  }
  if (!thinnest || thinnest[0] >= THIN_CELL_ROWS) return undefined;
  const [rows, label, group] = thinnest;
  const cellName = (c: number, g: number): string => `label "${train.classes[c]}" in group "${train.groupNames[g]}"`;
  const where = label < 0 ? `in group "${train.groupNames[group]}"` : `with ${cellName(label, group)}`;
  const error = (0.5 / Math.sqrt(rows)).toFixed(2);
  const remedy =
    method === 'm1'
      ? 'm2 draws its set from train + validation'
      : method === 'm2w'
        ? 'm2w uses every row of train + validation already'
        : `${method} draws from every cell as many rows as its smallest cell of train + validation has, ${cellName(Math.floor(limiting / G), limiting % G)}`;
  return `${dataset}: the ${method} fine-tuning set has only ${rows} rows ${where}: the ${constraint} penalty's rates there have a standard error of up to ${error}, so the head can be fair on this set and not on new data (${remedy}; merging small groups or more rows of that cell helps)`;
}
