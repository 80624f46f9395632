import type { Command } from 'commander';
import { EXPERIMENTS } from '../../pipeline/reproduce/protocol.ts';
import { numberOption } from '../../pipeline/run-options.ts';
import { fmt3, textTable } from '../text-table.ts';
import { logger, progressFactory, type RawFlags, warn } from '../flags.ts';

/** `fairhead reproduce`: the paper's experiments on real data, tables and reports under `--out`. */
export function register(program: Command): void {
  const cmd = program
    .command('reproduce')
    .description("run the paper's protocol on real data (UCI Adult, UTKFace): B1..M2, M2w, M2p x constraints x alphas x seeds, whole-network and post-processing baselines, over-parameterised networks; writes results/<experiment>/{table.md,metrics.json,report.html,gap-transfer.svg}")
    .option('--experiment <name>', `${EXPERIMENTS.join(', ')} or all (comma-separated list allowed)`, 'adult')
    .option('--quick', 'smoke test: 1 seed and a few settings')
    .option('--seeds <n>', 'seeds per setting (default 5; --quick: 1)')
    .option('--out <dir>', 'output folder', 'results')
    .option('--utkface <dir>', "the UTKFace faces (needed by every experiment but adult): a folder of UTKFace's files ({age}_{gender}_{race}_{date}.jpg), or one with images/ and labels.csv (file,age,gender,race)")
    .option('--subset <n>', 'UTKFace: only n images of the balanced 2,000 (smoke tests)')
    .option('--cache-dir <dir>', 'embedding cache and work folder', '.fairhead-cache')
    .option('--tables-only', 'no training: re-render table.md and README.md from the metrics.json files under --out')
    .option('--quiet', 'no progress or status lines (warnings still print)');
  cmd.addHelpText('after', `
Examples:
  fairhead reproduce --experiment adult            # about 10 minutes on 2 cores
  fairhead reproduce --experiment all --quick      # smoke test
  fairhead reproduce --experiment utkface-gender-race --utkface ~/data/UTKFace
  fairhead reproduce --experiment utkface-gender-race-cnn --utkface DIR  # CNN: fair last layer vs whole network fair
  fairhead reproduce --experiment adult-overfit-mlp         # MLP 512 x 512 trained until it fits its training split
  fairhead reproduce --experiment utkface-overfit-cnn --utkface DIR      # the CNN likewise, no augmentation`);
  cmd.action(async (flags: RawFlags) => {
    const { parseExperiments } = await import('../../pipeline/reproduce/protocol.ts');
    const { rewriteTables, runReproduce } = await import('../../pipeline/reproduce/reproduce.ts');
    const { headlineRows } = await import('../../pipeline/reproduce/tables.ts');
    const quiet = flags['quiet'] === true;
    const log = logger(quiet);
    const seeds = typeof flags['seeds'] === 'string' ? numberOption(flags['seeds'], '--seeds', { min: 1, integer: true }) : undefined;
    const subset = typeof flags['subset'] === 'string' ? numberOption(flags['subset'], '--subset', { min: 40, integer: true }) : undefined;
    const out = String(flags['out']);
    if (flags['tablesOnly'] === true) {
      const found = rewriteTables(out);
      log(`rewrote table.md of ${found.join(', ')} and ${out}/README.md`);
      return;
    }
    const outputs = await runReproduce(
      {
        experiments: parseExperiments(String(flags['experiment'])),
        quick: flags['quick'] === true,
        ...(seeds !== undefined ? { seeds } : {}),
        ...(subset !== undefined ? { subset } : {}),
        out,
        ...(typeof flags['utkface'] === 'string' ? { utkface: flags['utkface'] } : {}),
        cacheDir: String(flags['cacheDir']),
      },
      { progress: progressFactory(quiet), onWarning: warn, log },
    );
    for (const o of outputs) {
      process.stdout.write(`\n${o.experiment} (test set; mean over ${o.info.seeds} seed${o.info.seeds === 1 ? '' : 's'})\n`);
      const rows = headlineRows(o.metrics.runs).map((h) => [h.label, fmt3(h.testAccuracy.mean), fmt3(h.testEo.mean), fmt3(h.trainEo.mean)]);
      process.stdout.write(`${textTable([['model', 'test acc', 'EO gap test', 'EO gap train'], ...rows], 2).join('\n')}\n`);
    }
    log(`\nwrote ${outputs.map((o) => `${out}/${o.experiment}/`).join(', ')} and ${out}/README.md`);
  });
}
