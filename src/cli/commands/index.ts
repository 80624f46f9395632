import type { Command } from 'commander';
import { register as demo } from './demo.ts';
import { register as embed } from './embed.ts';
import { register as metrics } from './metrics.ts';
import { register as run } from './run.ts';
import { register as predict } from './predict.ts';
import { register as sweep } from './sweep.ts';
import { register as explore } from './explore.ts';
import { register as exportModel } from './export.ts';
import { register as report } from './report.ts';
import { register as reproduce } from './reproduce.ts';

/** Every CLI command, in help order. Each module exports `register(program)`; add one line per command. */
export const commands: ((program: Command) => void)[] = [
  demo,
  run,
  sweep,
  explore,
  embed,
  reproduce,
  exportModel,
  report,
  predict,
  metrics,
];
