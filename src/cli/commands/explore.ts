import type { Command } from 'commander';
import { InputError } from '../../errors.ts';
import { CONSTRAINTS, METHODS, choice, numberOption, type HeadOptions } from '../../pipeline/run-options.ts';
import { addDataFlags, dataOptionsFrom, logger, mergeConfig, progressFactory, type RawFlags, warn } from '../flags.ts';

/** The head flags of explore: the page's first head (no defaults here, so that --from's head is kept unless given). */
const HEAD_FLAGS = ['method', 'constraint', 'alpha', 'maxGap', 'seed'] as const;

/** `fairhead explore`: embed once, then a local page that re-trains the last layer live while a person chooses. */
export function register(program: Command): void {
  const cmd = program
    .command('explore')
    .description('serve a local page that re-trains the fair last layer live as you move its controls; save the head you choose')
    .option('--from <dir>', 'a folder written by run, sweep or explore: its data, backbone and head options (flags given override them)')
    .option('--method <name>', `first fine-tuning set: ${METHODS.join(', ')} (default m2)`)
    .option('--constraint <name>', `first penalty: ${CONSTRAINTS.join(', ')} (default eo)`)
    .option('--alpha <n>', 'first penalty strength (default 1)')
    .option('--max-gap <g>', 'open in target mode: the most accurate head whose gap on the fine-tuning set is at most G')
    .option('--seed <n>', 'first seed (default 0)')
    .option('--out <dir>', 'where the page\'s "save" writes the chosen head (metrics.json, report.html, report.md, model/)', 'fairhead-explore')
    .option('--port <n>', 'port to listen on (0: any free one)', '0')
    .option('--host <address>', 'address to listen on; anything but 127.0.0.1 / localhost / ::1 opens the page to other machines', '127.0.0.1')
    .option('--no-sweep', 'no background sweep of the strength (the trade-off curve shows the heads fitted so far)')
    .option('--quiet', 'no progress or status lines (warnings and the address still print)');
  addDataFlags(cmd);
  cmd.addHelpText(
    'after',
    `
Once the page is ready, stdout carries one line: its address, token included (http://127.0.0.1:PORT/?token=...).
Every request must carry the token. Ctrl-C stops the server (a save in progress is finished first).

Examples:
  fairhead explore --data adult.csv --target income --positive '>50K' --sensitive sex,race --min-group-size 50
  fairhead explore --from out/                      # the data, backbone and head of a run, sweep or save
  fairhead explore --images faces/ --labels faces.csv --target gender --positive 1 --sensitive race --port 8050`,
  );
  cmd.action(async (raw: RawFlags) => {
    const { readRunFolder, startExplore } = await import('../../explore/explore.ts');
    const { recordAsFlags } = await import('../../pipeline/run-command.ts');
    let flags = mergeConfig(cmd, raw);
    let head: Partial<HeadOptions> = {};
    if (typeof flags['from'] === 'string') {
      const from = readRunFolder(flags['from']);
      head = from.head;
      // the folder's options, under every flag given on the command line or in --config
      const merged: RawFlags = { ...recordAsFlags(from.options) };
      for (const [key, value] of Object.entries(flags)) {
        if (cmd.getOptionValueSource(key) === 'default' && key in merged) continue;
        merged[key] = value;
      }
      flags = merged;
    }
    const quiet = flags['quiet'] === true;
    const log = logger(quiet);
    const host = String(flags['host']);
    if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
      warn(`--host ${host}: the page is reachable from other machines; anyone with its address (token included) sees the groups and metrics of this data`);
    }
    const { server } = await startExplore(
      {
        ...dataOptionsFrom(flags),
        ...head,
        ...headFlags(flags),
        out: String(flags['out']),
        host,
        port: numberOption(String(flags['port']), '--port', { min: 0, integer: true }),
        sweep: flags['sweep'] !== false,
      },
      { progress: progressFactory(quiet), onWarning: warn, log },
    ).catch((error: unknown) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new InputError(`--port ${String(flags['port'])}: already in use; choose another or 0 for any free port`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new InputError(`--host ${host}: not an address of this machine`);
      throw error;
    });
    process.stdout.write(`${server.url}\n`);
    log('fairhead explore: open the address above in a browser; Ctrl-C stops the server');
    await new Promise<void>((resolve) => {
      const stop = (signal: NodeJS.Signals): void => {
        log(`\n${signal}: stopping (a save in progress is finished first)`);
        // a second Ctrl-C does not wait: every file is written atomically, so nothing is left half-written
        process.once(signal, () => process.exit(130));
        void server.close().then(resolve);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}

/** The head flags given (each checked), as a partial of HeadOptions. */
function headFlags(flags: RawFlags): Partial<HeadOptions> {
  const given = (key: (typeof HEAD_FLAGS)[number]): string | undefined => (typeof flags[key] === 'string' ? (flags[key] as string) : undefined);
  const method = given('method');
  const constraint = given('constraint');
  const alpha = given('alpha');
  const maxGap = given('maxGap');
  const seed = given('seed');
  return {
    ...(method !== undefined ? { method: choice(method, METHODS, 'method') } : {}),
    ...(constraint !== undefined ? { constraint: choice(constraint, CONSTRAINTS, 'constraint') } : {}),
    ...(alpha !== undefined ? { alpha: numberOption(alpha, '--alpha', { min: 0 }) } : {}),
    ...(maxGap !== undefined ? { maxGap: numberOption(maxGap, '--max-gap', { min: 0 }) } : {}),
    ...(seed !== undefined ? { seed: numberOption(seed, '--seed', { min: 0, integer: true }) } : {}),
  };
}
