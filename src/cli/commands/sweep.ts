import type { Command } from 'commander';
import { CONSTRAINTS, METHODS, OPTIMIZERS, choice, choices, numberList, numberOption } from '../../pipeline/run-options.ts';
import { createProgress } from '../../progress.ts';
import { addDataFlags, dataOptionsFrom, logger, mergeConfig, METHODS_HELP, progressFactory, type RawFlags, warn } from '../flags.ts';
import { runsTable, selectionLine } from '../runs-table.ts';

/** `fairhead sweep`: the pipeline over lists of methods, constraints, alphas and seeds, with a Pareto front. */
export function register(program: Command): void {
  const cmd = program
    .command('sweep')
    .description('fine-tune over a grid (methods x constraints x alphas x seeds) on one set of embeddings; Pareto front and operating point')
    .option('--methods <list>', `comma-separated: ${METHODS.join(', ')}`, 'b1,m1,m2')
    .option('--constraints <list>', `comma-separated: ${CONSTRAINTS.join(', ')}`, 'eo,dp')
    .option('--alphas <list>', 'comma-separated penalty weights', '0.5,1,2,5,10')
    .option('--seeds <n>', 'seeds per setting (0 .. n-1)', '1')
    .option('--optimizer <name>', OPTIMIZERS.join(', '), 'lbfgs')
    .option('--select <rule>', 'operating point: the most accurate run on validation with METRIC<=BOUND', 'equalizedOddsDifference<=0.05')
    .option('--out <dir>', 'output folder', 'fairhead-sweep')
    .option('--bootstrap <n>', 'bootstrap resamples for test intervals (per run)', '0')
    .option('--quiet', 'no progress or status lines (warnings still print)')
    .option('--json', 'print metrics.json to stdout instead of the table');
  addDataFlags(cmd);
  cmd.addHelpText('after', `
Example:
  fairhead sweep --data adult.csv --target income --positive '>50K' --sensitive sex \\
    --alphas 0,0.5,1,2,5,10 --constraints eo,dp --methods b1,m1,m2 --seeds 5 --select "equalizedOddsDifference<=0.05"
${METHODS_HELP}`);
  cmd.action(async (raw: RawFlags) => {
    const { runSweep } = await import('../../pipeline/sweep.ts');
    const flags = mergeConfig(cmd, raw);
    const quiet = flags['quiet'] === true || flags['json'] === true;
    const log = logger(quiet);
    let bar: ReturnType<typeof createProgress> | undefined;
    const result = await runSweep(
      {
        ...dataOptionsFrom(flags),
        methods: choices(String(flags['methods']), METHODS, 'method'),
        constraints: choices(String(flags['constraints']), CONSTRAINTS, 'constraint'),
        alphas: numberList(String(flags['alphas']), '--alphas', { min: 0 }),
        seeds: numberOption(String(flags['seeds']), '--seeds', { min: 1, integer: true }),
        optimizer: choice(String(flags['optimizer']), OPTIMIZERS, 'optimizer'),
        select: String(flags['select']),
        out: String(flags['out']),
        bootstrap: numberOption(String(flags['bootstrap']), '--bootstrap', { min: 0, integer: true }),
      },
      {
        progress: progressFactory(quiet),
        onWarning: warn,
        onRun: (done, total) => {
          bar ??= createProgress({ label: 'fine-tuning', total, unit: 'fit', quiet });
          bar.update(done);
          if (done === total) bar.stop();
        },
      },
    );
    if (flags['json'] === true) {
      process.stdout.write(`${JSON.stringify({ ...result.metrics, selected: result.selected, front: result.front }, null, 2)}\n`);
      return;
    }
    process.stdout.write(runsTable(result.metrics.runs));
    process.stdout.write(`\n${selectionLine(result.metrics)}`);
    log(`wrote ${String(flags['out'])}/metrics.json, report.html, report.md and model/ (the selected run)`);
  });
}
