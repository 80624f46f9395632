import type { Command } from 'commander';
import { logger, progressFactory, type RawFlags, warn } from '../flags.ts';
import { runsTable, selectionLine } from '../runs-table.ts';

/** `fairhead demo`: the whole method on the built-in UCI Adult data, in under a minute. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('the whole method on built-in UCI Adult (sex as sensitive attribute): ERM MLP, then B1 vs M2 and M1 with EO and DP penalties; saves the most accurate run with a validation EO gap <= 0.05')
    .option('--out <dir>', 'output folder for metrics.json, report.html, report.md, model/', 'fairhead-demo')
    .option('--quiet', 'no progress or status lines (warnings still print)')
    .option('--json', 'print metrics.json to stdout instead of the table')
    .action(async (flags: RawFlags) => {
      const { runDemo } = await import('../../pipeline/demo.ts');
      const quiet = flags['quiet'] === true || flags['json'] === true;
      const log = logger(quiet);
      const out = String(flags['out']);
      log('UCI Adult: predict income >50K; sensitive attribute: sex. Pre-training an MLP with ERM, then re-training only its last layer.');
      const { metrics } = await runDemo(out, { progress: progressFactory(quiet), onWarning: warn });
      if (flags['json'] === true) {
        process.stdout.write(`${JSON.stringify(metrics, null, 2)}\n`);
        return;
      }
      process.stdout.write(runsTable(metrics.runs));
      process.stdout.write(`\n${selectionLine(metrics)}`);
      log(`\nTest-set metrics. EO diff = equalized odds difference (0 = parity); worst grp = worst group accuracy; EO train = the same gap on training data.`);
      log(`wrote ${out}/report.html, ${out}/report.md, ${out}/metrics.json and ${out}/model/ (the chosen operating point)`);
    });
}
