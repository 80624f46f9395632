import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataOptionsFrom } from '../../src/cli/flags.ts';
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

  it('keeps a text model\'s and an image model\'s input flags, so the command repeats the run, and reads them back as given', () => {
    const text = optionsRecord({
      data: 'reviews.csv', textColumn: 'text', target: 'label', positive: 'pos', sensitive: ['group'], backbone: 'onnx:bert/model.onnx',
      tokenizer: 'bert/tokenizer.json', maxLength: 12, threads: 2,
    });
    expect(runCommand(text, 'out')).toBe(
      `fairhead run --data ${resolve('reviews.csv')} --target label --positive pos --sensitive group --backbone onnx:${resolve('bert/model.onnx')} ` +
        `--text-column text --tokenizer ${resolve('bert/tokenizer.json')} --max-length 12 --threads 2 --out ${resolve('out')}`,
    );
    const image = {
      images: 'faces', labels: 'faces.csv', target: 'gender', sensitive: ['race'], backbone: 'onnx:vit.onnx',
      imageSize: { height: 224, width: 160 }, crop: 112, imageMean: [0.485, 0.456, 0.406], imageStd: [0.229, 0.224, 0.225],
      inputSize: [3, 224, 160] as [number, number, number], imageFit: 'cover' as const, resample: 'bicubic' as const, channels: 'bgr' as const, layout: 'nhwc' as const,
    };
    const record = optionsRecord(image);
    expect(recordArgs(record).join(' ')).toContain('--image-size 224x160 --crop 112 --image-mean 0.485,0.456,0.406 --image-std 0.229,0.224,0.225 --input-size 3x224x160 --image-fit cover --resample bicubic --channels bgr --layout nhwc');
    const back = dataOptionsFrom(recordAsFlags(record));
    for (const key of ['imageSize', 'crop', 'imageMean', 'imageStd', 'inputSize', 'imageFit', 'resample', 'channels', 'layout'] as const) {
      expect(back[key], key).toEqual(image[key]);
    }
    expect(dataOptionsFrom(recordAsFlags(text))).toMatchObject({ textColumn: 'text', maxLength: 12, threads: 2, tokenizer: resolve('bert/tokenizer.json') });
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
