import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { optionsRecord, recordArgs, recordAsFlags, runCommand, shellWord } from '../../src/pipeline/run-command.ts';

describe('optionsRecord and runCommand', () => {
  it('keeps the flags of run (paths absolute), leaves out the rest, and prints a command a shell reads back', () => {
    const record = optionsRecord({
      data: 'data/adult.csv',
      target: 'Y',
      positive: '>50K',
      sensitive: ['sex', 'race'],
      groupBy: ['race'],
      minGroupSize: 50,
      keepSensitive: false,
      backbone: 'onnx:models/m.onnx',
      cacheDir: '.cache',
      method: 'm2',
      constraint: 'eo',
      alpha: 0.25,
      seed: 3,
      // not flags of run: left out
      ...({ out: 'x', quiet: true, methods: ['b1'] } as object),
    });
    expect(record).toEqual({
      data: resolve('data/adult.csv'),
      target: 'Y',
      positive: '>50K',
      sensitive: ['sex', 'race'],
      groupBy: ['race'],
      minGroupSize: 50,
      backbone: `onnx:${resolve('models/m.onnx')}`,
      cacheDir: resolve('.cache'),
      method: 'm2',
      constraint: 'eo',
      alpha: 0.25,
      seed: 3,
    });
    expect(runCommand(record, 'out')).toBe(
      `fairhead run --data ${resolve('data/adult.csv')} --target Y --positive '>50K' --sensitive sex,race --group-by race --min-group-size 50 ` +
        `--backbone onnx:${resolve('models/m.onnx')} --cache-dir ${resolve('.cache')} --method m2 --constraint eo --alpha 0.25 --seed 3 --out ${resolve('out')}`,
    );
  });

  it('writes true booleans as bare flags and reads back as --config values', () => {
    expect(recordArgs({ target: 'y', sensitive: ['a'], keepSensitive: true, hidden: [64, 32] })).toEqual(['--target', 'y', '--sensitive', 'a', '--keep-sensitive', '--hidden', '64,32']);
    expect(recordAsFlags({ target: 'y', sensitive: ['a', 'b'], keepSensitive: true, alpha: 2 })).toEqual({ target: 'y', sensitive: 'a,b', keepSensitive: true, alpha: '2' });
  });

  it('quotes for a POSIX shell only what needs it', () => {
    expect(shellWord('/data/x-1.csv')).toBe('/data/x-1.csv');
    expect(shellWord('>50K')).toBe(`'>50K'`);
    expect(shellWord('my file')).toBe(`'my file'`);
    expect(shellWord(`it's`)).toBe(`'it'\\''s'`);
    expect(shellWord('$(rm -rf /)')).toBe(`'$(rm -rf /)'`);
  });
});
