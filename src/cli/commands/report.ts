import type { Command } from 'commander';
import { FAIRNESS_METRICS } from '../../report/build-report.ts';
import { choice, numberOption } from '../../pipeline/run-options.ts';
import { logger, type RawFlags } from '../flags.ts';

/** `fairhead report`: re-render report.html / report.md (and optionally a PNG) from a metrics.json. */
export function register(program: Command): void {
  program
    .command('report')
    .description('re-render report.html and report.md from a metrics.json (another operating point or fairness metric, a PNG for slides)')
    .requiredOption('--metrics <file>', 'metrics.json written by run, sweep, demo or reproduce')
    .option('--out <dir>', 'output folder (default: the folder of --metrics)')
    .option('--selected <n>', 'index in metrics.json runs of the operating point to highlight')
    .option('--fairness-metric <name>', `gap on the charts: ${FAIRNESS_METRICS.join(', ')}`, 'equalizedOddsDifference')
    .option('--screenshot', 'also write report.png, a full-page screenshot (needs Chromium at /usr/bin/chromium)')
    .option('--quiet', 'no status lines')
    .action(async (flags: RawFlags) => {
      const { dirname } = await import('node:path');
      const { readMetricsFile } = await import('../../report/metrics-file.ts');
      const { writeReport } = await import('../../report/write-report.ts');
      const file = String(flags['metrics']);
      const metrics = readMetricsFile(file);
      const out = typeof flags['out'] === 'string' ? flags['out'] : dirname(file);
      const selected = typeof flags['selected'] === 'string' ? numberOption(flags['selected'], '--selected', { min: 0, integer: true }) : undefined;
      const fairnessMetric = choice(String(flags['fairnessMetric']), FAIRNESS_METRICS, 'fairness metric');
      const { files } = await writeReport(out, metrics, {
        fairnessMetric,
        ...(selected !== undefined ? { selected } : {}),
        ...(flags['screenshot'] === true ? { screenshot: true } : {}),
      });
      logger(flags['quiet'] === true)(`wrote ${files.join(', ')}`);
    });
}
