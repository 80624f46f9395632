import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/data/text-tokenizer.ts';
import { InputError } from '../../src/errors.ts';
import { TEXT_VOCAB, wordPieceTokenizerJson } from '../fixtures/make-text-model.ts';

const dir = mkdtempSync(join(tmpdir(), 'fairhead-tokenizer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

const id = (t: (typeof TEXT_VOCAB)[number]): number => TEXT_VOCAB.indexOf(t);
const [PAD, CLS, SEP] = [id('[PAD]'), id('[CLS]'), id('[SEP]')];

describe('loadTokenizer on a WordPiece tokenizer.json', () => {
  const t = loadTokenizer(write('tokenizer.json', wordPieceTokenizerJson()));

  it('finds the special tokens the post-processor adds, the pad token and the vocabulary size', () => {
    expect(t.prefix).toEqual([CLS]);
    expect(t.suffix).toEqual([SEP]);
    expect(t.padId).toBe(PAD);
    expect(t.vocabSize).toBe(TEXT_VOCAB.length);
  });

  it('lower-cases, splits word pieces, adds [CLS] and [SEP], and pads to the longest text with mask 0', () => {
    const b = t.encode(['The films', 'bad'], 16);
    // "the films" -> the, film, ##s
    expect(b.length).toBe(5);
    expect(Array.from(b.inputIds)).toEqual([CLS, id('the'), id('film'), id('##s'), SEP, CLS, id('bad'), SEP, PAD, PAD]);
    expect(Array.from(b.attentionMask)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
    expect(Array.from(b.tokenTypeIds)).toEqual(new Array(10).fill(0));
  });

  it('truncates the text, not the special tokens: max length 4 keeps [CLS], two tokens and [SEP]', () => {
    const b = t.encode(['the film was good'], 4);
    expect(Array.from(b.inputIds)).toEqual([CLS, id('the'), id('film'), SEP]);
  });

  it('pads to a fixed length when asked (a model with a fixed sequence length)', () => {
    const b = t.encode(['good'], 8, 6);
    expect(Array.from(b.inputIds)).toEqual([CLS, id('good'), SEP, PAD, PAD, PAD]);
  });

  it('maps an unknown word to [UNK]', () => {
    expect(Array.from(t.encode(['zebra'], 8).inputIds)).toEqual([CLS, id('[UNK]'), SEP]);
  });

  it('refuses a max length that leaves no room for the text', () => {
    expect(() => t.encode(['good'], 2)).toThrow('--max-length 2: expected an integer above 2, the special tokens this tokenizer adds to every text');
  });
});

describe('loadTokenizer on bad files', () => {
  it('names a file that is not JSON', () => {
    const file = write('broken.json', '{"model": ');
    expect(() => loadTokenizer(file)).toThrow(InputError);
    expect(() => loadTokenizer(file)).toThrow(new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}: not valid JSON \\(.*\\); expected a Hugging Face tokenizer\\.json$`));
  });

  it('names a JSON file the tokenizers cannot build a tokenizer from', () => {
    const file = write('weird.json', { model: { type: 'NoSuchModel' } });
    expect(() => loadTokenizer(file)).toThrow(new RegExp(`^${file.replace(/[.\\/]/g, '\\$&')}: not a tokenizer Hugging Face tokenizers can read \\(.+\\); expected a tokenizer\\.json saved by tokenizer\\.save_pretrained\\(\\)$`));
  });

  it('names a JSON file without a model', () => {
    const file = write('empty.json', {});
    expect(() => loadTokenizer(file)).toThrow(`${file}: not a tokenizer Hugging Face tokenizers can read (no "model" object); expected a tokenizer.json saved by tokenizer.save_pretrained()`);
  });
});
