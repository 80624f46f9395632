import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { readCsvTable } from '../../data/csv-table.ts';
import { InputError } from '../../errors.ts';
import { textTable } from '../text-table.ts';
import { bootstrapIntervals, type BootstrapInterval, type Statistic } from '../../fairness/metrics/bootstrap.ts';
import { groupMetrics, type GroupMetrics, type MetricName, type MetricValues } from '../../fairness/metrics/group-metrics.ts';
import { predictionsFromTable, type PredictionColumns } from '../../fairness/metrics/predictions-table.ts';
import {
  accuracyEqualityDifference,
  accuracyEqualityRatio,
  demographicParityDifference,
  demographicParityRatio,
  equalizedOddsDifference,
  equalizedOddsRatio,
  equalOpportunityDifference,
  equalOpportunityRatio,
  worstCellAccuracy,
  worstGroupAccuracy,
} from '../../fairness/metrics/views.ts';

/** The flags of `fairhead metrics`, one option key per flag. */
export interface MetricsCommandOptions {
  data?: string;
  target?: string;
  pred?: string;
  score?: string;
  sensitive?: string;
  positive?: string;
  json?: boolean;
  demo?: boolean;
  bootstrap?: string;
  seed?: string;
}

/** The flag table, typed against the options so the two cannot drift. */
const FLAGS: { readonly [K in keyof MetricsCommandOptions]-?: readonly [flag: string, help: string] } = {
  data: ['--data <file>', 'CSV of predictions, one row per example (a model\'s existing output)'],
  target: ['--target <column>', 'column of the true labels'],
  pred: ['--pred <column>', 'column of the predicted labels (same values as the target)'],
  score: ['--score <column>', 'column of scores or probabilities of the positive class (for ROC AUC)'],
  sensitive: ['--sensitive <columns>', 'sensitive column(s), comma-separated; several are crossed (sex,race)'],
  positive: ['--positive <value>', 'the positive label value (needed unless the target is 0/1 or false/true)'],
  json: ['--json', 'print the table and summary as JSON'],
  demo: ['--demo', 'run on the built-in UCI Adult predictions (data/adult-predictions.csv), sensitive = sex'],
  bootstrap: ['--bootstrap <n>', 'add seeded bootstrap 95% intervals with n resamples (e.g. 1000)'],
  seed: ['--seed <n>', 'seed of the bootstrap (default 0)'],
};

/** The built-in demo data: made by scripts/make-demo-predictions.ts from the UCI Adult test rows. */
export const DEMO_FILE = fileURLToPath(new URL('../../../data/adult-predictions.csv', import.meta.url));
const DEMO_COLUMNS: PredictionColumns = { target: 'Y', pred: 'pred', score: 'score', sensitive: ['sex'], positive: '>50K' };

/** The fairness summary: named views over the engine, each a difference (max − min) and a ratio (min / max). */
const SUMMARY = {
  demographicParityDifference: (m) => demographicParityDifference(m),
  demographicParityRatio: (m) => demographicParityRatio(m),
  equalizedOddsDifference: (m) => equalizedOddsDifference(m),
  equalizedOddsRatio: (m) => equalizedOddsRatio(m),
  equalOpportunityDifference: (m) => equalOpportunityDifference(m),
  equalOpportunityRatio: (m) => equalOpportunityRatio(m),
  accuracyEqualityDifference: (m) => accuracyEqualityDifference(m),
  accuracyEqualityRatio: (m) => accuracyEqualityRatio(m),
  worstGroupAccuracy: (m) => worstGroupAccuracy(m),
  worstCellAccuracy: (m) => worstCellAccuracy(m),
  accuracy: (m) => m.overall.accuracy,
  balancedAccuracy: (m) => m.overall.balancedAccuracy,
  auc: (m) => m.overall.auc,
} as const satisfies Record<string, Statistic>;
type SummaryName = keyof typeof SUMMARY;

/** Register `fairhead metrics` on the program. */
export function register(program: Command): void {
  const cmd = program
    .command('metrics')
    .description('Group fairness metrics of a CSV of predictions: a by-group table and a fairness summary (fairlearn-compatible)');
  for (const [flag, help] of Object.values(FLAGS)) cmd.option(flag, help);
  cmd.addHelpText(
    'after',
    '\nExamples:\n  fairhead metrics --demo\n  fairhead metrics --data preds.csv --target label --pred predicted --score proba --sensitive sex,race --positive 1 --json',
  );
  cmd.action((options: MetricsCommandOptions) => {
    process.stdout.write(runMetrics(options));
  });
}

/** Run the command and return what it prints (text or JSON). Bad flags or data throw InputError. */
export function runMetrics(options: MetricsCommandOptions): string {
  const { file, columns, label } = resolveInput(options);
  const table = readCsvTable(file);
  const { input, positive, rows } = predictionsFromTable(table, columns);
  const m = groupMetrics(input);
  const summary = Object.fromEntries(Object.entries(SUMMARY).map(([k, f]) => [k, f(m)])) as Record<SummaryName, number>;
  let intervals: Record<SummaryName, BootstrapInterval> | undefined;
  if (options.bootstrap !== undefined) {
    const samples = wholeNumber(options.bootstrap, '--bootstrap', 1);
    const seed = options.seed === undefined ? 0 : wholeNumber(options.seed, '--seed', 0);
    intervals = bootstrapIntervals(input, SUMMARY, { samples, seed });
  } else if (options.seed !== undefined) {
    throw new InputError('--seed only applies with --bootstrap <n>; add --bootstrap 1000 or drop --seed');
  }
  if (options.json === true) {
    const byGroup = Object.fromEntries(m.groups.map((g) => [g, { count: m.counts[g]?.rows ?? 0, ...(m.byGroup[g] as MetricValues) }]));
    const out = {
      data: label,
      rows,
      target: columns.target,
      positive,
      pred: columns.pred,
      score: columns.score ?? null,
      sensitive: columns.sensitive,
      overall: { count: m.overallCounts.rows, ...m.overall },
      byGroup,
      summary,
      ...(intervals === undefined ? {} : { intervals }),
    };
    return `${JSON.stringify(out, null, 2)}\n`;
  }
  return renderText(m, { label, rows, columns, positive, summary, intervals });
}

function resolveInput(options: MetricsCommandOptions): { file: string; columns: PredictionColumns; label: string } {
  const sensitive = options.sensitive?.split(',').map((s) => s.trim());
  if (sensitive?.some((s) => s === '')) {
    throw new InputError(`--sensitive "${options.sensitive}": empty column name; expected names separated by commas (sex,race)`);
  }
  if (options.demo === true) {
    const extra = (['data', 'target', 'pred', 'score', 'positive'] as const).filter((k) => options[k] !== undefined);
    if (extra.length > 0) {
      throw new InputError(`--demo uses the built-in data; drop ${extra.map((k) => `--${k}`).join(', ')} (only --sensitive, --json, --bootstrap, --seed apply)`);
    }
    return { file: DEMO_FILE, columns: { ...DEMO_COLUMNS, sensitive: sensitive ?? DEMO_COLUMNS.sensitive }, label: 'data/adult-predictions.csv (built-in demo)' };
  }
  const missing = (['data', 'target', 'pred', 'sensitive'] as const).filter((k) => options[k] === undefined);
  if (missing.length > 0) {
    throw new InputError(`missing ${missing.map((k) => FLAGS[k][0]).join(', ')}; or run fairhead metrics --demo`);
  }
  const file = options.data as string;
  return {
    file,
    columns: { target: options.target as string, pred: options.pred as string, score: options.score, sensitive: sensitive as string[], positive: options.positive },
    label: file,
  };
}

function wholeNumber(text: string, flag: string, min: number): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < min) throw new InputError(`${flag} "${text}": expected a whole number >= ${min}`);
  return v;
}

const COLUMNS: readonly [MetricName, string][] = [
  ['accuracy', 'accuracy'],
  ['selectionRate', 'selection'],
  ['tpr', 'TPR'],
  ['fpr', 'FPR'],
  ['fnr', 'FNR'],
  ['tnr', 'TNR'],
  ['balancedAccuracy', 'bal.acc'],
  ['errorRate', 'error'],
  ['auc', 'AUC'],
];

function fmt(v: number): string {
  return Number.isNaN(v) ? 'n/a' : v.toFixed(4);
}

function renderText(
  m: GroupMetrics,
  info: {
    label: string;
    rows: number;
    columns: PredictionColumns;
    positive: string;
    summary: Record<SummaryName, number>;
    intervals: Record<SummaryName, BootstrapInterval> | undefined;
  },
): string {
  const { columns, summary, intervals } = info;
  const lines: string[] = [];
  lines.push(
    `${info.label}: ${info.rows} rows; target "${columns.target}" (positive "${info.positive}"), prediction "${columns.pred}"` +
      (columns.score === undefined ? '' : `, score "${columns.score}"`) +
      `; groups by ${columns.sensitive.join(' × ')}`,
  );
  lines.push('');
  const shown = COLUMNS.filter(([k]) => k !== 'auc' || columns.score !== undefined);
  const header = ['group', 'rows', ...shown.map(([, h]) => h)];
  const body = [
    ...m.groups.map((g) => [g, String(m.counts[g]?.rows ?? 0), ...shown.map(([k]) => fmt((m.byGroup[g] as MetricValues)[k]))]),
    ['overall', String(m.overallCounts.rows), ...shown.map(([k]) => fmt(m.overall[k]))],
  ];
  lines.push(...textTable([header, ...body], 1));
  lines.push('');
  lines.push('Fairness summary (difference = max − min over groups, 0 is parity; ratio = min / max, 1 is parity)');
  const ci = (k: SummaryName) => {
    const r = intervals?.[k];
    return r === undefined ? [] : [`[${fmt(r.low)}, ${fmt(r.high)}]`];
  };
  const pair = (name: string, d: SummaryName, r: SummaryName) => [name, fmt(summary[d]), fmt(summary[r]), ...ci(d)];
  const rowsOut = [
    ['', 'difference', 'ratio', ...(intervals === undefined ? [] : ['95% CI of difference'])],
    pair('demographic parity (selection rate)', 'demographicParityDifference', 'demographicParityRatio'),
    pair('equalized odds (worse of TPR, FPR)', 'equalizedOddsDifference', 'equalizedOddsRatio'),
    pair('equal opportunity (TPR)', 'equalOpportunityDifference', 'equalOpportunityRatio'),
    pair('accuracy equality (error rate)', 'accuracyEqualityDifference', 'accuracyEqualityRatio'),
  ];
  lines.push(...textTable(rowsOut, 1));
  lines.push('');
  const single = (name: string, k: SummaryName) => [name, fmt(summary[k]), ...ci(k)];
  const more = [
    single('overall accuracy', 'accuracy'),
    single('balanced accuracy', 'balancedAccuracy'),
    ...(columns.score === undefined ? [] : [single('ROC AUC', 'auc')]),
    single('worst-group accuracy', 'worstGroupAccuracy'),
    single('worst (label, group) cell accuracy', 'worstCellAccuracy'),
  ];
  lines.push(...textTable(more, 1));
  if (intervals !== undefined) {
    const any = Object.values(intervals)[0] as BootstrapInterval | undefined;
    lines.push('', `95% intervals: percentile bootstrap, ${any?.samples ?? 0} resamples of the rows, seeded.`);
  }
  return `${lines.join('\n')}\n`;
}


