import type { Command } from 'commander';

/** Every CLI command, in help order. Each module exports `register(program)`; add one line per command. */
export const commands: ((program: Command) => void)[] = [];
