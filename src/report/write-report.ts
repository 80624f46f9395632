import { isAbsolute, join, relative, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { InputError } from '../errors.ts';
import { buildReport, type ReportOptions } from './build-report.ts';
import { renderHtml } from './render-html.ts';
import { renderMarkdown } from './render-markdown.ts';
import type { MetricsFile } from './schema.ts';
import { screenshotHtml } from './screenshot.ts';

/** Options of {@link writeReport}: those of buildReport, plus an optional PNG of the HTML page. */
export interface WriteReportOptions extends ReportOptions {
  /** Also save `report.png`, a full-page screenshot of report.html (needs Chromium at /usr/bin/chromium). */
  screenshot?: boolean;
}

/** The files writeReport makes, relative to its folder. */
export const REPORT_FILES = { metrics: 'metrics.json', html: 'report.html', markdown: 'report.md', png: 'report.png' } as const;

/**
 * `dir/name` as an absolute path, refusing a name that would land outside `dir` (`..`, an absolute path).
 *
 * @example
 * pathInside('out', 'report.html') // -> '/abs/out/report.html'
 * pathInside('out', '../x.html')   // throws InputError: ../x.html: resolves outside the output folder out
 */
export function pathInside(dir: string, name: string): string {
  const root = resolve(dir);
  const target = resolve(root, name);
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || isAbsolute(name)) {
    throw new InputError(`${name}: resolves outside the output folder ${dir}; use a plain file name`);
  }
  return join(root, rel);
}

/**
 * Write `dir/metrics.json` (the input, pretty-printed, names unchanged), `dir/report.html` and `dir/report.md`,
 * each atomically (a reader sees the old file or the new one, never half of one); with `screenshot`, also
 * `dir/report.png`. Creates `dir`. The report is built first, so bad options write nothing.
 *
 * @returns the absolute paths written, in that order.
 * @example
 * await writeReport('out', metrics, { fairnessMetric: 'demographicParityDifference' })
 * // -> { files: ['/abs/out/metrics.json', '/abs/out/report.html', '/abs/out/report.md'] }
 */
export async function writeReport(dir: string, metrics: MetricsFile, options: WriteReportOptions = {}): Promise<{ files: string[] }> {
  const { screenshot, ...reportOptions } = options;
  const report = buildReport(metrics, reportOptions);
  const outputs: [string, string][] = [
    [pathInside(dir, REPORT_FILES.metrics), `${JSON.stringify(metrics, null, 2)}\n`],
    [pathInside(dir, REPORT_FILES.html), renderHtml(report)],
    [pathInside(dir, REPORT_FILES.markdown), renderMarkdown(report)],
  ];
  for (const [file, text] of outputs) writeFileAtomic(file, text);
  const files = outputs.map(([file]) => file);
  if (screenshot === true) {
    const png = pathInside(dir, REPORT_FILES.png);
    await screenshotHtml(files[1] as string, png);
    files.push(png);
  }
  return { files };
}
