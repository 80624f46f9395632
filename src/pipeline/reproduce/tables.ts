/**
 * The reproduction's tables: `results/<experiment>/table.md` (every setting, mean ± std over seeds, on test, with
 * the train and fine-tuning-set gaps beside the test gap), the headline numbers of an experiment, and
 * `results/README.md` with the "Does it work?" paragraph built from those numbers (never written by hand).
 */
import { meanStd, type MeanStd } from '../../report/aggregate-runs.ts';
import { formatMeanStd } from '../../report/format.ts';
import type { MetricsFile, RunRecord, SplitSummary } from '../../report/schema.ts';

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

/** The runs the claim is about: shipped, B1, M1 and M2 + EO (alpha 5), full + EO (alpha 5), threshold. */
export const HEADLINE_SETTINGS: readonly { label: string; method: string; constraint: string; alpha: number | null }[] = [
  { label: 'shipped (the network as trained, ERM)', method: 'shipped', constraint: 'none', alpha: null },
  { label: 'B1 (last layer re-trained, ERM)', method: 'b1', constraint: 'none', alpha: null },
  { label: 'M1 + EO, alpha 5 (last layer on the validation set, fair)', method: 'm1', constraint: 'eo', alpha: 5 },
  { label: 'M2 + EO, alpha 5 (last layer, fair)', method: 'm2', constraint: 'eo', alpha: 5 },
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
  readonly method: string;
  readonly constraint: string;
  readonly alpha: number;
  readonly runs: RunRecord[];
}

const ORDER = ['shipped', 'b1', 'b2', 'b3', 'm1', 'm2', 'threshold', 'full'];

function settings(runs: readonly RunRecord[]): Setting[] {
  const map = new Map<string, Setting>();
  for (const r of runs) {
    const key = `${r.method}|${r.constraint}|${r.alpha}`;
    const s = map.get(key) ?? { method: r.method, constraint: r.constraint, alpha: r.alpha, runs: [] };
    s.runs.push(r);
    map.set(key, s);
  }
  return [...map.values()].sort(
    (a, b) => ORDER.indexOf(a.method) - ORDER.indexOf(b.method) || a.constraint.localeCompare(b.constraint) || a.alpha - b.alpha,
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

/** One experiment's entry in results/README.md. */
export interface ReadmeEntry {
  readonly info: RunInfo;
  readonly metrics: MetricsFile;
}

/**
 * The "Does it work?" paragraph: for each experiment, the test EO gap of M2 + EO against B1, and the train vs
 * test EO gap of whole-network fair training against M2 (numbers from the metrics, with their seed counts).
 *
 * @example
 * doesItWork([{ info, metrics }]); // "**Does it work?** On UCI Adult (5 seeds), ..."
 */
export function doesItWork(entries: readonly ReadmeEntry[]): string {
  const parts: string[] = [];
  const pm = (v: MeanStd): string => (v.std === null ? v.mean.toFixed(3) : `${v.mean.toFixed(3)} ± ${v.std.toFixed(3)}`);
  for (const { info, metrics } of entries) {
    const rows = headlineRows(metrics.runs);
    const b1 = rows.find((r) => r.method === 'b1');
    const m2 = rows.find((r) => r.method === 'm2');
    const full = rows.find((r) => r.method === 'full');
    const thr = rows.find((r) => r.method === 'threshold');
    if (!b1 || !m2) continue;
    let s = `On ${info.task} (${m2.seeds} seed${m2.seeds === 1 ? '' : 's'}), re-training only the last layer with the equalized-odds penalty (M2 + EO, alpha 5) ` +
      `gives a test EO gap of ${pm(m2.testEo)} against ${pm(b1.testEo)} for the plain re-trained head (B1), at test accuracy ${pm(m2.testAccuracy)} vs ${pm(b1.testAccuracy)}; ` +
      `its gap is ${pm(m2.finetuneEo)} on its fine-tuning set and ${pm(m2.testEo)} on test.`;
    if (full) {
      s += ` Training the whole network with the same penalty (full + EO, alpha 5) gives an EO gap of ${pm(full.trainEo)} on train and ${pm(full.testEo)} on test, at test accuracy ${pm(full.testAccuracy)} and balanced accuracy ${pm(full.testBalancedAccuracy)}` +
        (full.testBalancedAccuracy.mean < 0.55 ? ' (it predicts nearly one class for everyone).' : '.');
    } else {
      s += ' Whole-network fair training was not run on this task (see its table).';
    }
    if (full) {
      const collapsed = full.testBalancedAccuracy.mean < 0.55;
      const overfits = full.testEo.mean - full.trainEo.mean > 0.03;
      if (collapsed || !overfits) s += ` The expected over-fitting of whole-network fair training (gap near 0 on train, large on test) does not show here${collapsed ? ': at this alpha the network gives up on the task instead' : ''}.`;
      const sweep = metrics.runs.filter((r) => r.method === 'full' && r.constraint === 'eo');
      const alphas = [...new Set(sweep.map((r) => r.alpha))].sort((a, b) => a - b);
      const points = alphas.map((a) => {
        const at = sweep.filter((r) => r.alpha === a);
        const mean = (split: 'train' | 'test'): string => meanStd(at.map((r) => r.splits[split].equalizedOddsDifference)).mean.toFixed(3);
        const bal = meanStd(at.map((r) => r.splits.test.balancedAccuracy)).mean.toFixed(2);
        return `${mean('train')} / ${mean('test')} at alpha ${a} (balanced accuracy ${bal})`;
      });
      if (points.length > 1) s += ` Over its alpha sweep, full + EO has train / test EO gaps of ${points.join(', ')}.`;
    }
    if (thr) s += ` Group thresholds (post-processing, which needs the sensitive attribute at prediction time) reach ${pm(thr.testEo)} at accuracy ${pm(thr.testAccuracy)}.`;
    parts.push(s);
  }
  return `**Does it work?** ${parts.join(' ')}`;
}

/**
 * results/README.md: what was run, with which command on which machine, the "Does it work?" paragraph and a
 * headline table per experiment.
 *
 * @example
 * writeFileAtomic('results/README.md', resultsReadme(entries));
 */
export function resultsReadme(entries: readonly ReadmeEntry[]): string {
  const lines: string[] = ['# Reproduction results', ''];
  lines.push('Made by `fairhead reproduce` (src/pipeline/reproduce/): the protocol of Mao et al. (2023), "Last-Layer Fairness Fine-tuning is Simple and Effective for Neural Networks", on real data. Every number below is read from the committed `metrics.json` files; nothing is typed by hand.', '');
  lines.push('Reproduce: `fairhead reproduce --experiment all --out results` (the commands below, one after the other). UTKFace wall times use the embedding cache (`.fairhead-cache`): the first face-api embedding of the 9,778 images adds a few minutes (about 8 minutes on this shared machine). The machine was shared with other jobs: wall times are upper bounds; CPU times are given beside them.', '');
  lines.push('## Does it work?', '', doesItWork(entries), '');
  lines.push('## Experiments', '');
  for (const { info, metrics } of entries) {
    lines.push(`### ${info.experiment}: ${info.task}`, '');
    lines.push(`- Command: \`${info.command}\``);
    lines.push(`- Machine: ${info.machine}; ${timing(info)}; made ${metrics.context.createdAt}`);
    lines.push(`- ${info.splits}`);
    for (const note of info.notes) lines.push(`- ${note}`);
    lines.push(`- Files: [table.md](${info.experiment}/table.md), [metrics.json](${info.experiment}/metrics.json), [report.html](${info.experiment}/report.html)`, '');
    lines.push('| model | seeds | test accuracy | balanced accuracy, test | EO gap, test | EO gap, train | EO gap, fine-tuning set |');
    lines.push('|---|---|---|---|---|---|---|');
    for (const h of headlineRows(metrics.runs)) {
      lines.push(`| ${h.label} | ${h.seeds} | ${f(h.testAccuracy)} | ${f(h.testBalancedAccuracy)} | ${f(h.testEo)} | ${f(h.trainEo)} | ${f(h.finetuneEo)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}`;
}
