import type { Command } from 'commander';
import { addModelInputFlags, logger, mergeConfig, modelInputOptionsFrom, opt, progressFactory, warn, type RawFlags } from '../flags.ts';
import { numberOption } from '../../pipeline/run-options.ts';

/** `fairhead embed`: one shard of the input through a fixed backbone, written as Parquet (for cluster schedulers). */
export function register(program: Command): void {
  const cmd = program
    .command('embed')
    .description('embed the input (or one shard of it) with a fixed backbone into Parquet shards; run one task per shard on a cluster, then fairhead run --embeddings OUT')
    .requiredOption('--out <dir>', 'shard folder (manifest.json, shard-K-of-N.parquet and its record)')
    .option('--images <dir>', 'folder of images (with --labels)')
    .option('--labels <file>', 'CSV with one row per image; its columns are kept in the shards')
    .option('--image-column <col>', 'column of --labels holding each image file name (the shards\' id column)', 'file')
    .option('--data <file>', 'CSV of rows (with --backbone onnx:FILE or --model DIR): numbers, or texts with --text-column')
    .option('--target <col>', '--data with onnx:FILE: the label column (not a model input)')
    .option('--sensitive <cols>', '--data with onnx:FILE: sensitive column(s), comma-separated (not model inputs)')
    .option('--drop <cols>', '--data with onnx:FILE: other columns that are not model inputs, comma-separated')
    .option('--backbone <name>', 'onnx:FILE or face-api (images; the default there)')
    .option('--model <dir>', 'embed with the backbone of a model folder written by fairhead run (OUT/model), and its preprocessing')
    .option('--shard <K/N|auto>', 'embed only shard K of N (0-based); auto: K from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX')
    .option('--shards <n>', 'shard count N for --shard auto (required under Kubernetes; default under Slurm: the array size)')
    .option('--strict', 'fail on an unreadable image instead of skipping it')
    .option('--quiet', 'no progress or status lines (warnings still print)')
    .option('--config <file>', 'JSON file with the same keys as the flags (camelCase); flags given override it');
  addModelInputFlags(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  fairhead embed --images faces/ --labels faces.csv --backbone onnx:resnet.onnx --out emb/ --shard 2/8
  sbatch --array=0-7 --wrap "fairhead embed --images faces/ --labels faces.csv --backbone face-api --out emb/ --shard auto --shards 8"
  fairhead run --embeddings emb/ --target gender --positive 1 --sensitive race --max-memory 2GB`,
  );
  cmd.action(async (raw: RawFlags) => {
    const { embedShard } = await import('../../pipeline/embed.ts');
    const { parseShardOption, removePartialShards } = await import('../../data/embedding-shards.ts');
    const flags = mergeConfig(cmd, raw);
    const quiet = flags['quiet'] === true;
    const log = logger(quiet);
    const str = (k: string): string | undefined => (typeof flags[k] === 'string' ? (flags[k] as string) : undefined);
    const list = (k: string): string[] | undefined => str(k)?.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const shardsText = str('shards');
    const shard = parseShardOption(str('shard'), shardsText === undefined ? undefined : numberOption(shardsText, '--shards', { min: 1, integer: true }));
    // scancel, a pre-empted pod or Ctrl-C: leave no partial shard behind (finished shards stay)
    const stop = (signal: NodeJS.Signals): void => {
      removePartialShards();
      process.stderr.write(`fairhead: stopped by ${signal}; shard ${shard.index}/${shard.count} not written (run the task again)\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    const result = await embedShard(
      {
        out: String(flags['out']),
        shard,
        ...opt('images', str('images')),
        ...opt('labels', str('labels')),
        ...opt('imageColumn', str('imageColumn')),
        ...opt('data', str('data')),
        ...opt('target', str('target')),
        ...opt('sensitive', list('sensitive')),
        ...opt('drop', list('drop')),
        ...opt('backbone', str('backbone')),
        ...opt('model', str('model')),
        ...modelInputOptionsFrom(flags),
        ...opt('strict', flags['strict'] === true ? true : undefined),
      },
      { progress: progressFactory(quiet), onWarning: warn },
    );
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    const r = result.record;
    const where = shard.from === 'slurm' ? ' (Slurm array task)' : shard.from === 'kubernetes' ? ' (Kubernetes completion index)' : '';
    if (result.status === 'skipped') log(`shard ${shard.index}/${shard.count}${where}: ${result.file} is already written and checks out (${r.rows} rows); skipped`);
    else log(`shard ${shard.index}/${shard.count}${where}: wrote ${result.file}: ${r.rows} rows x ${result.manifest.dim} (input rows ${r.range[0]}..${r.range[1] - 1}${r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : ''}) in ${r.seconds.toFixed(1)} s`);
  });
}
