import type { Command } from 'commander';
import { addDataFlags, addHeadFlags, dataOptionsFrom, headOptionsFrom, logger, mergeConfig, METHODS_HELP, progressFactory, type RawFlags, warn } from '../flags.ts';
import { numberOption } from '../../pipeline/run-options.ts';
import { runsTable } from '../runs-table.ts';

/** `fairhead run`: data + backbone -> embeddings -> fair head -> evaluation, report and model. */
export function register(program: Command): void {
  const cmd = program
    .command('run')
    .description('pre-train or load a backbone, fine-tune a fair last layer, evaluate it, write report + model')
    .option('--out <dir>', 'output folder (metrics.json, report.html, report.md, model/)', 'fairhead-out')
    .option('--bootstrap <n>', 'bootstrap resamples for 95% intervals on test metrics', '200')
    .option('--quiet', 'no progress or status lines (warnings still print)')
    .option('--json', 'print metrics.json to stdout instead of the table');
  addDataFlags(cmd);
  addHeadFlags(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  fairhead run --data adult.csv --target income --positive '>50K' --sensitive sex --method m2 --constraint eo
  fairhead run --images faces/ --labels faces.csv --target gender --positive 1 --sensitive race --backbone face-api
  fairhead run --data rows.csv --backbone onnx:model.onnx --target y --sensitive group --max-gap 0.02
  fairhead run --data adult.csv --target income --positive '>50K' --sensitive sex --method m2w --constraint eo --alpha 5
${METHODS_HELP}`,
  );
  cmd.action(async (raw: RawFlags) => {
    const { runPipeline } = await import('../../pipeline/run.ts');
    const flags = mergeConfig(cmd, raw);
    const quiet = flags['quiet'] === true || flags['json'] === true;
    const log = logger(quiet);
    const bootstrap = numberOption(String(flags['bootstrap'] ?? '0'), '--bootstrap', { min: 0, integer: true });
    const out = String(flags['out']);
    const result = await runPipeline(
      { ...dataOptionsFrom(flags), ...headOptionsFrom(flags), out, quiet, bootstrap },
      { progress: progressFactory(quiet), onWarning: warn },
    );
    if (flags['json'] === true) {
      process.stdout.write(`${JSON.stringify(result.metrics, null, 2)}\n`);
      return;
    }
    process.stdout.write(runsTable(result.metrics.runs));
    log(`\nwrote ${out}/metrics.json, report.html, report.md and model/ (fairhead predict --model ${out}/model)`);
  });
}
