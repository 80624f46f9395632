/**
 * The report stage: metrics.json in, a plain-data {@link Report} out, then pure renderers (Markdown for pull
 * requests, one self-contained HTML page with SVG charts) and an atomic writer.
 *
 * @example
 * const { files } = await writeReport('out', readMetricsFile('out/metrics.json'), { fairnessMetric: 'equalizedOddsDifference' });
 */
export type { GroupRow, MethodName, MetricsFile, RunContext, RunCost, RunRecord, SplitSummary } from './schema.ts';
export { aggregateRuns, meanStd, METHOD_ORDER, SUMMARY_METRICS } from './aggregate-runs.ts';
export type { MeanStd, RunAggregate, SummaryMetric } from './aggregate-runs.ts';
export { buildReport, configLabel, FAIRNESS_LABELS, FAIRNESS_METRICS, methodLabel, runLabel } from './build-report.ts';
export type {
  BarChart,
  BarPanel,
  FairnessMetric,
  Interval,
  KeyFigure,
  Report,
  ReportBlock,
  ReportOptions,
  ReportSection,
  ReportTable,
  ScatterChart,
  ScatterPoint,
} from './build-report.ts';
export { escapeHtml, escapeMarkdown } from './format.ts';
export { METHOD_NAMES, parseMetricsFile, readMetricsFile } from './metrics-file.ts';
export { paretoFront } from './pareto-front.ts';
export { renderHtml } from './render-html.ts';
export { renderMarkdown } from './render-markdown.ts';
export { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium, screenshotHtml } from './screenshot.ts';
export { pathInside, REPORT_FILES, writeReport } from './write-report.ts';
export type { WriteReportOptions } from './write-report.ts';
