/**
 * The reproduction's tables: `results/<experiment>/table.md` (every setting, mean ± std over seeds, on test, with
 * the train and fine-tuning-set gaps beside the test gap), the headline numbers of an experiment, and
 * `results/README.md` with the "Does it work?" paragraph built from those numbers (never written by hand).
 */
import { meanStd, METHOD_ORDER, type MeanStd } from '../../report/aggregate-runs.ts';
import { methodLabel } from '../../report/build-report.ts';
import { formatMeanStd } from '../../report/format.ts';
import type { MethodName, MetricsFile, RunRecord, SplitSummary } from '../../report/schema.ts';
import { renderGapTransferSvg } from '../../report/svg-charts.ts';
import type { PretrainingEpoch } from '../prepare.ts';
import { FAIRLEARN_ADULT_REFERENCE, OPERATING_POINT_RULE, operatingPoint, type OperatingPoint } from './operating-point.ts';
import { FAIR_METHODS } from './protocol.ts';

/** How an experiment was made, for the table header and results/README.md. */
export interface RunInfo {
  readonly experiment: string;
  /** One-line task description, e.g. "UCI Adult: income >50K, sensitive sex". */
  readonly task: string;
  /** The exact command line. */
  readonly command: string;
  readonly machine: string;
  /** Wall-clock seconds of the whole experiment (data, backbone, every fit). */
  readonly seconds: number;
  /** CPU seconds of the process over the experiment (all threads), and the 1-minute load average at its start: the machine may be shared. */
  readonly cpuSeconds: number;
  readonly loadAverage: number;
  readonly seeds: number;
  readonly splits: string;
  readonly notes: readonly string[];
  /** The training curve of a network pre-trained here (MLP or CNN), one entry per epoch. */
  readonly curve?: readonly PretrainingEpoch[];
}

type Metric = Exclude<keyof SplitSummary, 'rows' | 'byGroup' | 'intervals'>;

/** One row of the headline: a method's test and train numbers over seeds. */
export interface HeadlineRow {
  readonly label: string;
  readonly method: string;
  readonly constraint: string;
  readonly alpha: number;
  readonly seeds: number;
  readonly testAccuracy: MeanStd;
  readonly testBalancedAccuracy: MeanStd;
  readonly testEo: MeanStd;
  readonly trainEo: MeanStd;
  readonly finetuneEo: MeanStd;
  readonly testWorstGroup: MeanStd;
}

/** The runs the claim is about: shipped, B1, M1, M2, M2w and M2p + EO (alpha 5), full + EO (alpha 5), threshold. */
export const HEADLINE_SETTINGS: readonly { label: string; method: string; constraint: string; alpha: number | null }[] = [
  { label: 'shipped (the network as trained, ERM)', method: 'shipped', constraint: 'none', alpha: null },
  { label: 'B1 (last layer re-trained, ERM)', method: 'b1', constraint: 'none', alpha: null },
  { label: 'M1 + EO, alpha 5 (last layer on the validation set, fair)', method: 'm1', constraint: 'eo', alpha: 5 },
  { label: 'M2 + EO, alpha 5 (last layer, fair)', method: 'm2', constraint: 'eo', alpha: 5 },
  { label: 'M2w + EO, alpha 5 (weighted M2: all of train + validation)', method: 'm2w', constraint: 'eo', alpha: 5 },
  { label: 'M2p + EO, alpha 5 (M2, prior-corrected intercept)', method: 'm2p', constraint: 'eo', alpha: 5 },
  { label: 'full + EO, alpha 5 (whole network, fair)', method: 'full', constraint: 'eo', alpha: 5 },
  { label: 'threshold (EO post-processing)', method: 'threshold', constraint: 'eo', alpha: null },
];

/**
 * The headline rows present in `runs` (a setting without runs is left out).
 *
 * @example
 * headlineRows(metrics.runs).find((r) => r.method === 'm2')?.testEo.mean; // e.g. 0.05
 */
export function headlineRows(runs: readonly RunRecord[]): HeadlineRow[] {
  const out: HeadlineRow[] = [];
  for (const s of HEADLINE_SETTINGS) {
    const members = runs.filter((r) => r.method === s.method && r.constraint === s.constraint && (s.alpha === null || r.alpha === s.alpha));
    if (members.length === 0) continue;
    const of = (split: 'train' | 'finetune' | 'test', metric: Metric): MeanStd => meanStd(members.map((r) => r.splits[split][metric]));
    out.push({
      label: s.label,
      method: s.method,
      constraint: s.constraint,
      alpha: members[0]?.alpha ?? 0,
      seeds: members.length,
      testAccuracy: of('test', 'accuracy'),
      testBalancedAccuracy: of('test', 'balancedAccuracy'),
      testEo: of('test', 'equalizedOddsDifference'),
      trainEo: of('train', 'equalizedOddsDifference'),
      finetuneEo: of('finetune', 'equalizedOddsDifference'),
      testWorstGroup: of('test', 'worstGroupAccuracy'),
    });
  }
  return out;
}

const f = (v: MeanStd): string => formatMeanStd(v, 3);

function timing(info: RunInfo): string {
  return `wall time ${info.seconds.toFixed(0)} s, CPU time ${info.cpuSeconds.toFixed(0)} s (load average ${info.loadAverage.toFixed(1)} at the start: the machine was shared)`;
}

interface Setting {
  readonly method: MethodName;
  readonly constraint: string;
  readonly alpha: number;
  readonly runs: RunRecord[];
}

function settings(runs: readonly RunRecord[]): Setting[] {
  const map = new Map<string, Setting>();
  for (const r of runs) {
    const key = `${r.method}|${r.constraint}|${r.alpha}`;
    const s = map.get(key) ?? { method: r.method, constraint: r.constraint, alpha: r.alpha, runs: [] };
    s.runs.push(r);
    map.set(key, s);
  }
  return [...map.values()].sort(
    (a, b) => METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method) || a.constraint.localeCompare(b.constraint) || a.alpha - b.alpha,
  );
}

/**
 * The Markdown of `results/<experiment>/table.md`: how it was made, the headline, every setting (mean ± std over
 * seeds) and the per-group error rates of the headline rows on test.
 *
 * @example
 * writeFileAtomic('results/adult/table.md', experimentTable(metrics, info));
 */
export function experimentTable(metrics: MetricsFile, info: RunInfo): string {
  const lines: string[] = [];
  lines.push(`# ${info.experiment}: ${info.task}`, '');
  lines.push(`- Command: \`${info.command}\``);
  lines.push(`- Machine: ${info.machine}; ${timing(info)}; made ${metrics.context.createdAt}`);
  lines.push(`- Backbone: ${metrics.context.backbone}; seeds: ${info.seeds} (0..${info.seeds - 1}); ${info.splits}`);
  for (const note of info.notes) lines.push(`- ${note}`);
  lines.push('');
  lines.push('## Headline (mean ± std over seeds)', '');
  lines.push('The gap is the equalized-odds difference (max over TPR and FPR of the gap between groups; 0 = parity), on the data each model was trained on (train / fine-tuning set) and on held-out test data.', '');
  lines.push('| model | seeds | test accuracy | balanced accuracy, test | EO gap, test | EO gap, train | EO gap, fine-tuning set | worst-group accuracy, test |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const h of headlineRows(metrics.runs)) {
    lines.push(`| ${h.label} | ${h.seeds} | ${f(h.testAccuracy)} | ${f(h.testBalancedAccuracy)} | ${f(h.testEo)} | ${f(h.trainEo)} | ${f(h.finetuneEo)} | ${f(h.testWorstGroup)} |`);
  }
  lines.push('', 'A balanced accuracy near 0.5 means the model predicts (nearly) one class for everyone: a gap of 0 is then no achievement.');
  lines.push('');
  lines.push('## Every setting (test split unless named; mean ± std over seeds)', '');
  lines.push('Differences are max − min over groups, ratios min / max (fairlearn). AE = accuracy equality. Seconds: training time of the run (for shipped: pre-training); params: parameters trained.', '');
  lines.push('| method | constraint | alpha | n | accuracy | balanced acc. | AUC | EO diff | EO ratio | DP diff | DP ratio | AE diff | worst-group acc. | EO diff train | EO diff fine-tune set | DP diff train | seconds | params trained |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of settings(metrics.runs)) {
    const of = (split: 'train' | 'finetune' | 'test', metric: Metric): string => f(meanStd(s.runs.map((r) => r.splits[split][metric])));
    const alpha = s.method === 'shipped' || s.method === 'threshold' || s.constraint === 'none' ? '-' : String(s.alpha);
    lines.push(
      `| ${s.method} | ${s.constraint} | ${alpha} | ${s.runs.length} | ${of('test', 'accuracy')} | ${of('test', 'balancedAccuracy')} | ${of('test', 'auc')} | ` +
        `${of('test', 'equalizedOddsDifference')} | ${of('test', 'equalizedOddsRatio')} | ${of('test', 'demographicParityDifference')} | ` +
        `${of('test', 'demographicParityRatio')} | ${of('test', 'accuracyEqualityDifference')} | ${of('test', 'worstGroupAccuracy')} | ` +
        `${of('train', 'equalizedOddsDifference')} | ${of('finetune', 'equalizedOddsDifference')} | ${of('train', 'demographicParityDifference')} | ` +
        `${formatMeanStd(meanStd(s.runs.map((r) => r.cost.seconds)), 2)} | ${s.runs[0]?.cost.parametersTrained ?? 0} |`,
    );
  }
  lines.push('');
  lines.push(...operatingPointSection(metrics, info));
  lines.push(...remedySection(metrics));
  lines.push(...overfitSection(metrics, info));
  lines.push(...curveSection(info));
  lines.push('## Per-group error rates on test (headline rows; mean over seeds)', '');
  lines.push('| model | group | rows | accuracy | FPR | FNR | selection rate |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const h of headlineRows(metrics.runs)) {
    const members = metrics.runs.filter((r) => r.method === h.method && r.constraint === h.constraint && r.alpha === h.alpha);
    const groups = Object.keys(members[0]?.splits.test.byGroup ?? {});
    for (const g of groups) {
      const m = (key: 'accuracy' | 'fpr' | 'fnr' | 'selectionRate'): string => meanStd(members.map((r) => r.splits.test.byGroup[g]?.[key] ?? NaN)).mean.toFixed(3);
      lines.push(`| ${h.label} | ${g} | ${members[0]?.splits.test.byGroup[g]?.count ?? 0} | ${m('accuracy')} | ${m('fpr')} | ${m('fnr')} | ${m('selectionRate')} |`);
    }
  }
  lines.push('');
  return `${lines.join('\n')}`;
}

/** The runs of one setting (alpha ignored for a null alpha). */
function runsOf(runs: readonly RunRecord[], method: string, constraint: string, alpha: number | null): RunRecord[] {
  return runs.filter((r) => r.method === method && r.constraint === constraint && (alpha === null || r.alpha === alpha));
}

const ms = (members: readonly RunRecord[], f: (r: RunRecord) => number): MeanStd => meanStd(members.map(f));
const isAdult = (info: RunInfo): boolean => info.experiment.startsWith('adult');

/**
 * A run's split, with the data a model was fitted on as its fine-tuning set: the training split for `shipped` (its
 * record's fine-tuning set is the validation split, where nothing was fitted).
 */
function fittedOn(r: RunRecord, split: 'train' | 'finetune' | 'test'): SplitSummary {
  return split === 'finetune' && r.method === 'shipped' ? r.splits.train : r.splits[split];
}

/** The operating point's lines of table.md: the rule, the chosen head per seed, its test numbers; Adult: fairlearn's. */
function operatingPointSection(metrics: MetricsFile, info: RunInfo): string[] {
  const point = operatingPoint(metrics.runs);
  if (!point) return [];
  const lines = ['## Operating point (a rule fixed before reading test data)', '', `Rule: ${OPERATING_POINT_RULE}.`, ''];
  lines.push('| seed | chosen head | bound (B1 validation EO gap / 2) | met | validation accuracy | validation EO gap | test accuracy | test EO gap |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const p of point.perSeed) {
    const v = p.run.splits.validation ?? p.run.splits.finetune;
    lines.push(`| ${p.seed} | ${settingName(p.run)} | ${p.bound.toFixed(3)} | ${p.boundMet ? 'yes' : 'no'} | ${v.accuracy.toFixed(3)} | ${v.equalizedOddsDifference.toFixed(3)} | ${p.run.splits.test.accuracy.toFixed(3)} | ${p.run.splits.test.equalizedOddsDifference.toFixed(3)} |`);
  }
  lines.push('', `Over the seeds: test accuracy ${f(point.testAccuracy)}, balanced accuracy ${f(point.testBalancedAccuracy)}, test EO gap ${f(point.testEo)}.`, '');
  if (isAdult(info)) lines.push(...referenceLines(point));
  return lines;
}

/** fairlearn's Adult figures beside fairhead's operating point (quoted, with their source). */
function referenceLines(point: OperatingPoint): string[] {
  const lines = ['Beside it, reference figures on the same data and test rows, ' + FAIRLEARN_ADULT_REFERENCE.source + ':', ''];
  lines.push('| model | test accuracy | test EO gap | fitting time |', '|---|---|---|---|');
  lines.push(`| fairhead operating point (the rule above) | ${f(point.testAccuracy)} | ${f(point.testEo)} | ${formatMeanStd(point.fitSeconds, 2)} s (the chosen head's fit on frozen embeddings; the MLP's pre-training not counted) |`);
  for (const r of FAIRLEARN_ADULT_REFERENCE.figures) {
    lines.push(`| fairlearn: ${r.model} | ${r.accuracy.toFixed(3)} | ${r.equalizedOdds.toFixed(3)} | ${r.fitSeconds === undefined ? '-' : `${r.fitSeconds} s`} |`);
  }
  lines.push('');
  return lines;
}

/** A setting's name in the tables: "M2w + EO, alpha 5", "B1". */
export function settingName(r: { method: string; constraint: string; alpha: number }): string {
  const m = methodLabel(r.method);
  if (r.constraint === 'none' || r.method === 'shipped' || r.method === 'threshold') return m;
  return `${m} + ${r.constraint.toUpperCase()}${r.constraint === 'mmf' ? '' : `, alpha ${r.alpha}`}`;
}

/** M2's remedies side by side with M1 and M2, for EO and DP at alpha 5 (the over-fitting experiments: EO at every alpha). */
function remedySection(metrics: MetricsFile): string[] {
  const runs = metrics.runs;
  // the full grid: EO and DP at alpha 5; a grid of EO alone (the over-fitting experiments): EO at every alpha
  const m2w = runs.filter((r) => r.method === 'm2w');
  const eoOnly = m2w.every((r) => r.constraint === 'eo');
  const settings = [...new Set(m2w.map((r) => `${r.constraint}|${r.alpha}`))]
    .map((k) => ({ constraint: k.split('|')[0] as string, alpha: Number(k.split('|')[1]) }))
    .filter((k) => (eoOnly ? true : (k.constraint === 'eo' || k.constraint === 'dp') && k.alpha === 5))
    .sort((a, b) => b.constraint.localeCompare(a.constraint) || a.alpha - b.alpha);
  if (settings.length === 0) return [];
  const lines = ["## M2's prior shift: weighted M2 (M2w) and prior-corrected M2 (M2p) beside M1 and M2 (test split; mean ± std over seeds)", ''];
  lines.push("M2's sample has as many positive as negative rows; M2w keeps every row of train + validation and balances the groups within each label by weights; M2p moves M2's intercept back to the data's label shares. Gaps are differences (max - min over groups); DI = DP ratio (min / max).", '');
  lines.push('| setting | n | accuracy | balanced acc. | EO gap | EOpp gap | DP gap | DI (DP ratio) | AE gap | worst-group acc. | rows fitted |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  const b1 = runsOf(runs, 'b1', 'none', null);
  const row = (name: string, members: RunRecord[]): string => {
    const t = (metric: Metric): string => f(ms(members, (r) => r.splits.test[metric]));
    return `| ${name} | ${members.length} | ${t('accuracy')} | ${t('balancedAccuracy')} | ${t('equalizedOddsDifference')} | ${t('equalOpportunityDifference')} | ${t('demographicParityDifference')} | ${t('demographicParityRatio')} | ${t('accuracyEqualityDifference')} | ${t('worstGroupAccuracy')} | ${members[0]?.cost.finetuneRows ?? 0} |`;
  };
  if (b1.length > 0) lines.push(row('B1', b1));
  for (const { constraint, alpha } of settings) {
    for (const method of FAIR_METHODS) {
      const members = runsOf(runs, method, constraint, alpha);
      if (members.length > 0) lines.push(row(settingName({ method, constraint, alpha }), members));
    }
  }
  lines.push('');
  return lines;
}

/**
 * For experiments with whole-network runs: accuracy and EO gap on the training split, on each model's fine-tuning
 * set and on test, for shipped, B1 and every EO alpha of `full` beside M1, M2, M2w and M2p at that alpha.
 */
function overfitSection(metrics: MetricsFile, info: RunInfo): string[] {
  const runs = metrics.runs;
  const alphas = [...new Set(runsOf(runs, 'full', 'eo', null).map((r) => r.alpha))].sort((a, b) => a - b);
  if (alphas.length === 0) return [];
  const lines = ['## Over-fitting: accuracy and EO gap on the training split, on the fine-tuning set and on test (mean ± std over seeds)', ''];
  lines.push("The paper's argument: a network that fits its training data can be fair there for free, so training it whole with the penalty on that data leaves a gap on new data; a last layer fitted on held-out (M1) or rebalanced (M2) data does not have that freedom. Fine-tuning set (the data the model was fitted on): train for shipped, B1 and full; validation for M1; the balanced sample of train + validation for M2 and M2p; all of train + validation for M2w. In the over-fitting experiments the ERM network has memorised its training rows, so every set holding them (B1's, M2's, M2w's) shows small gaps there.", '');
  lines.push('| model | n | accuracy, train | accuracy, fine-tuning set | accuracy, test | EO gap, train | EO gap, fine-tuning set | EO gap, test | test gap - fine-tuning-set gap |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  const row = (name: string, members: RunRecord[]): void => {
    if (members.length === 0) return;
    const v = (split: 'train' | 'finetune' | 'test', metric: Metric): MeanStd => ms(members, (r) => fittedOn(r, split)[metric]);
    const transfer = ms(members, (r) => r.splits.test.equalizedOddsDifference - fittedOn(r, 'finetune').equalizedOddsDifference);
    lines.push(`| ${name} | ${members.length} | ${f(v('train', 'accuracy'))} | ${f(v('finetune', 'accuracy'))} | ${f(v('test', 'accuracy'))} | ${f(v('train', 'equalizedOddsDifference'))} | ${f(v('finetune', 'equalizedOddsDifference'))} | ${f(v('test', 'equalizedOddsDifference'))} | ${f(transfer)} |`);
  };
  row('shipped (ERM network)', runsOf(runs, 'shipped', 'none', null));
  row('B1', runsOf(runs, 'b1', 'none', null));
  for (const alpha of alphas) {
    row(`full + EO, alpha ${alpha} (whole network)`, runsOf(runs, 'full', 'eo', alpha));
    for (const method of FAIR_METHODS) row(settingName({ method, constraint: 'eo', alpha }), runsOf(runs, method, 'eo', alpha));
  }
  lines.push('', `![${info.experiment}: EO gap on the data each model was fitted on against the EO gap on test](${GAP_FIGURE})`, '');
  lines.push('Each point is one setting (mean over its seeds; every EO alpha, and the methods without a penalty): above the dashed diagonal its gap is larger on test than on the data it was fitted on.', '');
  return lines;
}

/** The training curve of the network pre-trained here (every epoch up to 20, else every 5th and the last). */
function curveSection(info: RunInfo): string[] {
  const curve = info.curve;
  if (!curve || curve.length === 0) return [];
  const lines = ['## Training curve of the ERM network (pre-trained here on the training split)', ''];
  lines.push('Training accuracy and loss are over each epoch\'s batches, each measured before its update step (CNN: batch-norm on batch statistics); validation is measured after the epoch. The table "shipped" row gives the final network\'s accuracy on the whole training split.', '');
  lines.push('| epoch | training accuracy | training loss | validation accuracy | validation loss | seconds |', '|---|---|---|---|---|---|');
  const last = curve.length;
  for (const e of curve) {
    if (last > 20 && e.epoch % 5 !== 0 && e.epoch !== 1 && e.epoch !== last) continue;
    lines.push(`| ${e.epoch} | ${e.trainAccuracy.toFixed(4)} | ${e.trainLoss.toFixed(4)} | ${e.validationAccuracy.toFixed(4)} | ${e.validationLoss.toFixed(4)} | ${e.seconds.toFixed(0)} |`);
  }
  lines.push('');
  return lines;
}

/** The file name of an experiment's gap-transfer figure ({@link gapTransferFigure}). */
export const GAP_FIGURE = 'gap-transfer.svg';

/**
 * The figure of an experiment's EO gaps: for every EO setting (and shipped, B1, B2, B3, threshold), the mean test
 * gap against the mean gap on the training split (left) and on the model's own fine-tuning set (right); points
 * above the diagonal lose fairness on new data. An SVG string.
 *
 * @example
 * writeFileAtomic('results/adult/gap-transfer.svg', gapTransferFigure(metrics, info));
 */
export function gapTransferFigure(metrics: MetricsFile, info: RunInfo): string {
  const order = ['shipped', 'b1', 'b2', 'b3', 'm1', 'm2', 'm2w', 'm2p', 'full', 'threshold'];
  const eoSettings = settings(metrics.runs).filter((st) => st.constraint === 'eo' || st.constraint === 'none');
  const series = order.filter((m) => eoSettings.some((st) => st.method === m)).map(methodLabel);
  const points = eoSettings.flatMap((st) => {
    const label = settingName(st);
    const y = ms(st.runs, (r) => r.splits.test.equalizedOddsDifference).mean;
    return (['train', 'finetune'] as const).map((split, panel) => ({ panel, x: ms(st.runs, (r) => fittedOn(r, split).equalizedOddsDifference).mean, y, series: methodLabel(st.method), label }));
  });
  return renderGapTransferSvg({
    title: `${info.experiment}: EO gap where each model was fitted (x) and on test (y)`,
    panels: [
      { title: 'training split', xLabel: 'EO gap on the training split' },
      { title: 'own fine-tuning set', xLabel: 'EO gap on its fine-tuning set' },
    ],
    yLabel: 'EO gap on test',
    series,
    points,
  });
}

/** One experiment's entry in results/README.md. */
export interface ReadmeEntry {
  readonly info: RunInfo;
  readonly metrics: MetricsFile;
}

/**
 * The "Does it work?" section of results/README.md, every number read from the metrics: per experiment, M2 + EO
 * against B1 (and M2w); the over-fitting comparison where a network was also trained whole with the penalty; M2's
 * prior shift and its remedies; the operating point of every experiment (with fairlearn's Adult figures).
 *
 * @example
 * doesItWork([{ info, metrics }]); // "**Does it work?** On UCI Adult (5 seeds), ..."
 */
export function doesItWork(entries: readonly ReadmeEntry[]): string {
  const parts: string[] = [];
  for (const { info, metrics } of entries) {
    const rows = headlineRows(metrics.runs);
    const b1 = rows.find((r) => r.method === 'b1');
    const m2 = rows.find((r) => r.method === 'm2');
    const m2w = rows.find((r) => r.method === 'm2w');
    const thr = rows.find((r) => r.method === 'threshold');
    if (!b1 || !m2) continue;
    let s = `**${info.experiment}** (${info.task}; ${m2.seeds} seed${m2.seeds === 1 ? '' : 's'}): re-training only the last layer with the equalized-odds penalty (M2 + EO, alpha 5) ` +
      `gives a test EO gap of ${f(m2.testEo)} against ${f(b1.testEo)} for the plain re-trained head (B1), at test accuracy ${f(m2.testAccuracy)} vs ${f(b1.testAccuracy)} (its gap on its fine-tuning set: ${f(m2.finetuneEo)}).`;
    if (m2w) s += ` Weighted M2 (M2w + EO, alpha 5) reaches ${f(m2w.testEo)} at accuracy ${f(m2w.testAccuracy)}.`;
    if (thr) s += ` Group thresholds (post-processing, which needs the sensitive attribute at prediction time): ${f(thr.testEo)} at accuracy ${f(thr.testAccuracy)}.`;
    const over = overfitSentence(info, metrics);
    if (over) s += ` ${over}`;
    parts.push(s);
  }
  return `**Does it work?**\n\n${parts.join('\n\n')}`;
}

/**
 * What whole-network fair training did where it was run: the ERM network's fit (training vs test accuracy), then
 * at each EO alpha the train and test gaps of `full` beside M1's fine-tuning-set and test gaps; whether the
 * over-fitting the paper describes shows (test gap over the train gap by more than 0.03, balanced accuracy above
 * 0.55), and where it does not, why.
 */
function overfitSentence(info: RunInfo, metrics: MetricsFile): string | undefined {
  const runs = metrics.runs;
  const full = runsOf(runs, 'full', 'eo', null);
  if (full.length === 0) return undefined;
  const shipped = runsOf(runs, 'shipped', 'none', null)[0];
  const alphas = [...new Set(full.map((r) => r.alpha))].sort((a, b) => a - b);
  const parts: string[] = [];
  if (shipped) parts.push(`The ERM network's accuracy is ${shipped.splits.train.accuracy.toFixed(3)} on its training split and ${shipped.splits.test.accuracy.toFixed(3)} on test (EO gap ${shipped.splits.train.equalizedOddsDifference.toFixed(3)} on train, ${shipped.splits.test.equalizedOddsDifference.toFixed(3)} on test).`);
  const points = alphas.map((a) => {
    const at = runsOf(runs, 'full', 'eo', a);
    const m1 = runsOf(runs, 'm1', 'eo', a);
    const mean = (members: RunRecord[], split: 'train' | 'finetune' | 'test'): string => ms(members, (r) => r.splits[split].equalizedOddsDifference).mean.toFixed(3);
    const bal = ms(at, (r) => r.splits.test.balancedAccuracy).mean.toFixed(2);
    const m1Part = m1.length > 0 ? `; M1 ${mean(m1, 'finetune')} / ${mean(m1, 'test')}` : '';
    return `alpha ${a}: full ${mean(at, 'train')} / ${mean(at, 'test')} (test balanced accuracy ${bal})${m1Part}`;
  });
  parts.push(`EO gap on the data fitted on / on test, ${points.join('; ')}.`);
  const overfits = alphas.filter((a) => {
    const at = runsOf(runs, 'full', 'eo', a);
    return ms(at, (r) => r.splits.test.equalizedOddsDifference - r.splits.train.equalizedOddsDifference).mean > 0.03 && ms(at, (r) => r.splits.test.balancedAccuracy).mean > 0.55;
  });
  const collapsed = alphas.filter((a) => ms(runsOf(runs, 'full', 'eo', a), (r) => r.splits.test.balancedAccuracy).mean <= 0.55);
  if (overfits.length > 0) {
    parts.push(`Whole-network fair training over-fits the penalty here, as the paper argues: at alpha ${overfits.join(', ')} its test gap exceeds its training gap by more than 0.03.`);
  } else {
    parts.push(`The over-fitting the paper describes (gap near 0 on train, large on test) does not show here${collapsed.length > 0 ? `; at alpha ${collapsed.join(', ')} the network gives up on the task instead (balanced accuracy <= 0.55)` : ''}${shipped && shipped.splits.train.accuracy - shipped.splits.test.accuracy <= 0.05 ? ': the ERM network does not fit its training data better than test data' : ''}.`);
  }
  return parts.join(' ');
}

/**
 * results/README.md: what was run, with which command on which machine, the "Does it work?" section, M2's
 * remedies and the operating points across experiments, and a headline table per experiment.
 *
 * @example
 * writeFileAtomic('results/README.md', resultsReadme(entries));
 */
export function resultsReadme(entries: readonly ReadmeEntry[]): string {
  const lines: string[] = ['# Reproduction results', ''];
  lines.push('Made by `fairhead reproduce` (src/pipeline/reproduce/): the protocol of Mao et al. (2023), "Last-Layer Fairness Fine-tuning is Simple and Effective for Neural Networks", on real data. Every number below is read from the committed `metrics.json` files; nothing is typed by hand.', '');
  lines.push('Reproduce: `fairhead reproduce --experiment all --utkface DIR --out results` (the commands below, one after the other). UTKFace wall times use the embedding cache (`.fairhead-cache`): the first face-api embedding of the 9,778 images adds a few minutes. The machine was shared with other jobs: wall times are upper bounds; CPU times and the load average at the start are given beside them.', '');
  lines.push('## Does it work?', '', doesItWork(entries), '');
  lines.push(...remedySummary(entries));
  lines.push(...operatingPointSummary(entries));
  lines.push('## Experiments', '');
  for (const { info, metrics } of entries) {
    lines.push(`### ${info.experiment}: ${info.task}`, '');
    lines.push(`- Command: \`${info.command}\``);
    lines.push(`- Machine: ${info.machine}; ${timing(info)}; made ${metrics.context.createdAt}`);
    lines.push(`- ${info.splits}`);
    for (const note of info.notes) lines.push(`- ${note}`);
    lines.push(`- Files: [table.md](${info.experiment}/table.md), [metrics.json](${info.experiment}/metrics.json), [report.html](${info.experiment}/report.html), [${GAP_FIGURE}](${info.experiment}/${GAP_FIGURE})`, '');
    lines.push('| model | seeds | test accuracy | balanced accuracy, test | EO gap, test | EO gap, train | EO gap, fine-tuning set |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const h of headlineRows(metrics.runs)) {
      lines.push(`| ${h.label} | ${h.seeds} | ${f(h.testAccuracy)} | ${f(h.testBalancedAccuracy)} | ${f(h.testEo)} | ${f(h.trainEo)} | ${f(h.finetuneEo)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}`;
}

/**
 * M2, M2w and M2p + EO at alpha 5 in every experiment (test accuracy, balanced accuracy, EO gap), and which remedy
 * keeps M2's gap at the smaller accuracy cost: the lower test EO gap among those whose accuracy is at least M2's.
 */
function remedySummary(entries: readonly ReadmeEntry[]): string[] {
  const rows: string[] = [];
  for (const { info, metrics } of entries) {
    const of = (method: string): RunRecord[] => runsOf(metrics.runs, method, 'eo', 5);
    const [m1, m2, m2w, m2p] = FAIR_METHODS.map(of) as [RunRecord[], RunRecord[], RunRecord[], RunRecord[]];
    if (m2.length === 0 || m2w.length === 0 || m2p.length === 0) continue;
    const cell = (members: RunRecord[]): string =>
      members.length === 0 ? '—' : `${f(ms(members, (r) => r.splits.test.accuracy))} / ${f(ms(members, (r) => r.splits.test.balancedAccuracy))} / ${f(ms(members, (r) => r.splits.test.equalizedOddsDifference))}`;
    rows.push(`| ${info.experiment} | ${cell(m1)} | ${cell(m2)} | ${cell(m2w)} | ${cell(m2p)} |`);
  }
  if (rows.length === 0) return [];
  return [
    "## M2's prior shift and two remedies",
    '',
    "M2 fine-tunes on a sample with as many rows in every (label, group) cell, so half its rows are positive whatever the data's share, and its head learns a shifted intercept. M2w (weighted M2) keeps every row of train + validation and weights row i of cell (y, g) by n_y / (G n_{y,g}); M2p (prior-corrected M2) moves M2's fitted intercept by logit(the data's positive share) - logit(the sample's). All + EO at alpha 5, on test: accuracy / balanced accuracy / EO gap (mean ± std over seeds).",
    '',
    '| experiment | M1 | M2 | M2w | M2p |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ];
}

/** Every experiment's operating point ({@link OPERATING_POINT_RULE}), and fairlearn's Adult figures beside Adult's. */
function operatingPointSummary(entries: readonly ReadmeEntry[]): string[] {
  const rows: string[] = [];
  let adult: OperatingPoint | undefined;
  for (const { info, metrics } of entries) {
    const point = operatingPoint(metrics.runs);
    if (!point) continue;
    const b1 = runsOf(metrics.runs, 'b1', 'none', null);
    const chosen = [...new Set(point.perSeed.map((p) => settingName(p.run)))].join('; ');
    rows.push(`| ${info.experiment} | ${chosen} | ${f(point.testAccuracy)} | ${f(point.testEo)} | ${f(ms(b1, (r) => r.splits.test.accuracy))} | ${f(ms(b1, (r) => r.splits.test.equalizedOddsDifference))} |`);
    if (info.experiment === 'adult') adult = point;
  }
  if (rows.length === 0) return [];
  const lines = ['## Operating point of every experiment', '', `Rule: ${OPERATING_POINT_RULE}.`, ''];
  lines.push('| experiment | chosen heads (over the seeds) | test accuracy | test EO gap | B1 test accuracy | B1 test EO gap |', '|---|---|---|---|---|---|', ...rows, '');
  if (adult) lines.push(...referenceLines(adult));
  return lines;
}
