import { readFileSync } from 'node:fs';
import { InputError } from '../errors.ts';
import { SUMMARY_METRICS } from './aggregate-runs.ts';
import type { MethodName, MetricsFile } from './schema.ts';

/** Valid `method` values of a run. */
export const METHOD_NAMES: readonly MethodName[] = ['b1', 'b2', 'b3', 'm1', 'm2', 'm2w', 'm2p', 'full', 'shipped', 'threshold'];

const GROUP_FIELDS = ['count', 'accuracy', 'selectionRate', 'tpr', 'fpr', 'fnr', 'tnr', 'auc'] as const;
const COST_FIELDS = ['seconds', 'parametersTrained', 'parametersTotal', 'finetuneRows'] as const;

type Json = unknown;

function describe(value: Json): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Check and read the text of a `metrics.json` (see schema.ts). JSON has no NaN: a `null` where a number is
 * expected (written by `JSON.stringify(NaN)`, e.g. the AUC of a group with one class) is read back as `NaN`.
 * Unknown extra fields are kept. Throws an {@link InputError} naming `source` and the JSON path of the first
 * problem, what was expected and what was received.
 *
 * @example
 * parseMetricsFile('{"format":"fairhead.metrics","version":2}', 'out/metrics.json')
 * // throws: out/metrics.json: version: expected 1, received 2 (written by a newer fairhead?)
 */
export function parseMetricsFile(text: string, source: string): MetricsFile {
  let data: Json;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${source}: not valid JSON (${(error as Error).message})`);
  }
  const fail = (path: string, expected: string, value: Json): never => {
    throw new InputError(`${source}: ${path}: expected ${expected}, received ${describe(value)}`);
  };
  const object = (value: Json, path: string): Record<string, Json> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
    return value as Record<string, Json>;
  };
  const number = (owner: Record<string, Json>, key: string, path: string): void => {
    const value = owner[key];
    if (value === null) owner[key] = Number.NaN;
    else if (typeof value !== 'number') fail(`${path}.${key}`, 'a number', value);
  };
  const string = (owner: Record<string, Json>, key: string, path: string): void => {
    if (typeof owner[key] !== 'string') fail(`${path}.${key}`, 'a string', owner[key]);
  };

  const root = object(data, '(top level)');
  if (root['format'] !== 'fairhead.metrics') fail('format', '"fairhead.metrics"', root['format']);
  if (root['version'] !== 1) {
    throw new InputError(`${source}: version: expected 1, received ${describe(root['version'])} (written by a newer fairhead?)`);
  }
  const context = object(root['context'], 'context');
  for (const key of ['dataset', 'backbone', 'target', 'createdAt']) string(context, key, 'context');
  const sensitive = context['sensitive'];
  if (!Array.isArray(sensitive) || !sensitive.every((s) => typeof s === 'string')) fail('context.sensitive', 'an array of strings', sensitive);
  const runs = root['runs'];
  if (!Array.isArray(runs)) return fail('runs', 'an array', runs);
  runs.forEach((value, i) => {
    const path = `runs[${i}]`;
    const run = object(value, path);
    if (!METHOD_NAMES.includes(run['method'] as MethodName)) {
      fail(`${path}.method`, `one of ${METHOD_NAMES.join(', ')}`, run['method']);
    }
    string(run, 'constraint', path);
    number(run, 'alpha', path);
    number(run, 'seed', path);
    if (run['maxGap'] !== undefined) number(run, 'maxGap', path);
    const splits = object(run['splits'], `${path}.splits`);
    for (const name of ['train', 'finetune', 'test', 'validation']) {
      if (name === 'validation' && splits[name] === undefined) continue;
      const sp = `${path}.splits.${name}`;
      const split = object(splits[name], sp);
      number(split, 'rows', sp);
      for (const metric of SUMMARY_METRICS) number(split, metric, sp);
      const byGroup = object(split['byGroup'], `${sp}.byGroup`);
      for (const [group, row] of Object.entries(byGroup)) {
        const gp = `${sp}.byGroup[${JSON.stringify(group)}]`;
        const fields = object(row, gp);
        for (const field of GROUP_FIELDS) number(fields, field, gp);
      }
      if (split['intervals'] !== undefined) {
        for (const [key, interval] of Object.entries(object(split['intervals'], `${sp}.intervals`))) {
          if (!Array.isArray(interval) || interval.length !== 2 || !interval.every((v) => typeof v === 'number')) {
            fail(`${sp}.intervals.${key}`, 'a pair [low, high] of numbers', interval);
          }
        }
      }
    }
    const cost = object(run['cost'], `${path}.cost`);
    for (const field of COST_FIELDS) number(cost, field, `${path}.cost`);
    if (cost['converged'] !== undefined && typeof cost['converged'] !== 'boolean') fail(`${path}.cost.converged`, 'true or false', cost['converged']);
  });
  if (root['selection'] !== undefined) {
    const selection = object(root['selection'], 'selection');
    const run = selection['run'];
    if (typeof run !== 'number' || !Number.isInteger(run) || run < 0 || run >= runs.length) fail('selection.run', `a run index from 0 to ${runs.length - 1}`, run);
    string(selection, 'metric', 'selection');
    number(selection, 'bound', 'selection');
    if (selection['split'] !== 'validation' && selection['split'] !== 'finetune') fail('selection.split', '"validation" or "finetune"', selection['split']);
    if (typeof selection['boundMet'] !== 'boolean') fail('selection.boundMet', 'true or false', selection['boundMet']);
  }
  return root as unknown as MetricsFile;
}

/** Read and check `file` (see {@link parseMetricsFile}); a missing file is an {@link InputError}. */
export function readMetricsFile(file: string): MetricsFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${file}: file not found, expected a metrics.json written by fairhead`);
    throw new InputError(`${file}: cannot read (${code ?? String(error)})`);
  }
  return parseMetricsFile(text, file);
}
