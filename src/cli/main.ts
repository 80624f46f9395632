#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { FairheadError } from '../errors.ts';
import { commands } from './commands/index.ts';
import { VERSION } from '../version.ts';

/**
 * The fairhead command line: a thin shell over the library. Each command lives in `commands/<name>.ts` and
 * registers itself on the program. Errors a user caused print one line and exit 2; internal failures exit 1;
 * `--debug` prints the stack trace.
 */
export async function main(argv: readonly string[]): Promise<number> {
  // `fairhead --help | head` closes the pipe early: stop quietly instead of crashing with EPIPE
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const debug = argv.includes('--debug');
  const program = new Command('fairhead')
    .description('Fairer neural networks by re-training only their last layer (Mao et al., 2023), on a CPU.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--debug', 'print stack traces of internal errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (error) {
    return reportError(error, debug);
  }
}

function reportError(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (help, version or a usage error)
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  }
  if (error instanceof FairheadError) {
    process.stderr.write(`fairhead: ${error.message}\n`);
    if (debug && error.exitCode !== 2) process.stderr.write(`${error.stack ?? ''}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`fairhead: internal error: ${message}${debug ? '' : ' (run with --debug for details)'}\n`);
  if (debug && error instanceof Error) process.stderr.write(`${error.stack ?? ''}\n`);
  return 1;
}

const isEntry = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop() ?? '');
if (isEntry) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
