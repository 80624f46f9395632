import type { Command } from 'commander';
import { register as metrics } from './metrics.ts';
import { register as run } from './run.ts';

/** Every CLI command, in help order. Each module exports `register(program)`; add one line per command. */
export const commands: ((program: Command) => void)[] = [
  run,
  metrics,
];
