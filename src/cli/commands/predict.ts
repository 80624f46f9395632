import type { Command } from 'commander';
import { writeFileAtomic } from '../../atomic-write.ts';
import { logger, opt, THREADS_HELP, threadsFrom, type RawFlags } from '../flags.ts';

/** `fairhead predict`: apply a model folder to new rows; no sensitive attribute needed. */
export function register(program: Command): void {
  program
    .command('predict')
    .description('apply a model written by `fairhead run` to new data (no sensitive attribute needed); writes a predictions CSV')
    .requiredOption('--model <dir>', 'model folder (OUT/model from `fairhead run`)')
    .option('--data <file>', 'CSV of rows (or embeddings: .npy, .csv, .parquet) in the training data\'s format')
    .option('--images <dir>', 'folder of images (every image in it, or those listed by --labels)')
    .option('--labels <file>', 'CSV listing the images to predict')
    .option('--image-column <col>', 'column of --labels holding the file names', 'file')
    .option('--id <col>', 'column copied to the output to identify rows (images: a column of --labels; default: the file name)')
    .option('--threads <n>', THREADS_HELP)
    .option('--out <file>', 'predictions CSV (default: stdout)')
    .option('--quiet', 'no status lines')
    .action(async (flags: RawFlags) => {
      const { predictWithModel } = await import('../../pipeline/predict.ts');
      const log = logger(flags['quiet'] === true);
      const str = (k: string): string | undefined => (typeof flags[k] === 'string' ? (flags[k] as string) : undefined);
      const p = await predictWithModel(String(flags['model']), {
        ...opt('data', str('data')),
        ...opt('images', str('images')),
        ...opt('labels', str('labels')),
        ...opt('imageColumn', str('imageColumn')),
        ...opt('id', str('id')),
        ...opt('threads', threadsFrom(flags)),
      });
      const lines = ['id,prediction,score'];
      for (let i = 0; i < p.ids.length; i++) {
        lines.push(`${csvField(p.ids[i] as string)},${csvField(p.classes[p.predicted[i] as number] as string)},${(p.scores[i] as number).toPrecision(6)}`);
      }
      const text = `${lines.join('\n')}\n`;
      const out = str('out');
      if (out === undefined) process.stdout.write(text);
      else writeFileAtomic(out, text);
      for (const s of p.skipped) log(`warning: ${s}`);
      if (out !== undefined) log(`wrote ${p.ids.length} predictions to ${out}`);
    });
}

/** Quote a CSV field when it holds a comma, quote or newline. */
function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}
