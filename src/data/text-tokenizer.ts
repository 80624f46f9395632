/**
 * Tokenising text for a Hugging Face text classifier exported to ONNX, from its `tokenizer.json` (read by
 * `@huggingface/tokenizers`, offline), then truncated and padded as the Python tokenizers do with
 * `truncation=True, padding=True`: the text's own tokens are cut to `maxLength` minus the special tokens the
 * post-processor adds ([CLS] ... [SEP] for BERT, <s> ... </s> for RoBERTa), the special tokens are kept, and every
 * row of a batch is padded to the batch's longest row (or to a model's fixed sequence length) with the pad token,
 * attention mask 0 and token type 0 (`padding.pad_id` / `pad_type_id` / `direction` from tokenizer.json when it
 * has them, else the id of [PAD] or <pad>, else 0; padding on the right unless tokenizer.json says left).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { firstLine, InputError } from '../errors.ts';

/** Token ids of a batch of texts, row-major `rows x length`, ready to feed as int64 tensors. */
export interface TokenBatch {
  readonly rows: number;
  /** Tokens per row after padding. */
  readonly length: number;
  readonly inputIds: Int32Array;
  readonly attentionMask: Int32Array;
  readonly tokenTypeIds: Int32Array;
}

/** A loaded tokenizer.json with the truncation and padding rules of the module comment. */
export interface TextTokenizer {
  /** The tokenizer.json file. */
  readonly file: string;
  /** tokenizer_config.json read beside it, when there is one. */
  readonly configFile?: string;
  /** Hex SHA-256 of tokenizer.json (cache keys, manifests). */
  readonly sha256: string;
  /** Largest token id the tokenizer can produce, plus one. */
  readonly vocabSize: number;
  readonly padId: number;
  /** Special tokens before and after a single text's own tokens. */
  readonly prefix: readonly number[];
  readonly suffix: readonly number[];
  /** A default for `maxLength`: tokenizer.json's `truncation.max_length`, else tokenizer_config.json's `model_max_length` (if below 100,000), else undefined. */
  readonly maxLengthHint?: number;
  /**
   * Tokenise `texts`: each cut to `maxLength` tokens (special tokens included), padded to the longest row or to
   * `padTo` when given.
   */
  encode(texts: readonly string[], maxLength: number, padTo?: number): TokenBatch;
}

type Json = Record<string, unknown>;

function readJson(file: string, what: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`${file}: cannot read the ${what} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`${file}: not valid JSON (${firstLine((error as Error).message)}); expected a Hugging Face ${what}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new InputError(`${file}: expected a JSON object (a Hugging Face ${what})`);
  return json as Json;
}


/**
 * Load a Hugging Face `tokenizer.json` (and `tokenizer_config.json` beside it, if present).
 *
 * Errors (one-line InputError naming the file): unreadable, not JSON, or a JSON that Hugging Face's tokenizers
 * cannot build a tokenizer from (`tok.json: not a tokenizer Hugging Face tokenizers can read (Unknown model type:
 * X); expected a tokenizer.json saved by tokenizer.save_pretrained()`).
 *
 * @example
 * const t = loadTokenizer('model/tokenizer.json');
 * const b = t.encode(['a good film', 'bad'], 128);
 * b.length; // 5 = [CLS] a good film [SEP]; the second row is [CLS] bad [SEP] [PAD] [PAD]
 */
export function loadTokenizer(file: string): TextTokenizer {
  const json = readJson(file, 'tokenizer.json');
  const configPath = join(dirname(file), 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJson(configPath, 'tokenizer_config.json') : undefined;
  let tokenizer: Tokenizer;
  try {
    if (!json['model'] || typeof json['model'] !== 'object') throw new Error('no "model" object');
    tokenizer = new Tokenizer({ added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json }, config ?? {});
    tokenizer.encode('a');
  } catch (error) {
    throw new InputError(`${file}: not a tokenizer Hugging Face tokenizers can read (${firstLine(String((error as Error).message ?? error))}); expected a tokenizer.json saved by tokenizer.save_pretrained()`);
  }
  let vocabSize = 0;
  for (const id of tokenizer.get_vocab(true).values()) if (id + 1 > vocabSize) vocabSize = id + 1;

  // The special tokens around one text: encode a probe with and without them and find the text's own tokens inside.
  const probe = 'a';
  const own = tokenizer.encode(probe, { add_special_tokens: false }).ids;
  const full = tokenizer.encode(probe, { add_special_tokens: true, return_token_type_ids: true });
  let at = -1;
  for (let i = 0; i + own.length <= full.ids.length && at < 0; i++) if (own.every((t: number, k: number) => full.ids[i + k] === t)) at = i;
  if (at < 0) at = 0;
  const prefix = full.ids.slice(0, at);
  const suffix = full.ids.slice(at + own.length);
  // a tokenizer that gives no token types gives zeros, as the Python tokenizers do
  const types = full.token_type_ids ?? full.ids.map(() => 0);
  const prefixTypes = types.slice(0, at);
  const suffixTypes = types.slice(at + own.length);
  const ownType = types[at] ?? 0;

  const padding = (json['padding'] && typeof json['padding'] === 'object' ? json['padding'] : {}) as Json;
  const padToken = tokenizer.token_to_id('[PAD]') ?? tokenizer.token_to_id('<pad>');
  const padId = typeof padding['pad_id'] === 'number' ? padding['pad_id'] : (padToken ?? 0);
  const padType = typeof padding['pad_type_id'] === 'number' ? padding['pad_type_id'] : 0;
  const padLeft = padding['direction'] === 'Left';
  const truncation = (json['truncation'] && typeof json['truncation'] === 'object' ? json['truncation'] : {}) as Json;
  const hinted = typeof truncation['max_length'] === 'number' ? truncation['max_length'] : config?.['model_max_length'];
  const maxLengthHint = typeof hinted === 'number' && Number.isInteger(hinted) && hinted > 0 && hinted < 100_000 ? hinted : undefined;
  const specials = prefix.length + suffix.length;

  function encode(texts: readonly string[], maxLength: number, padTo?: number): TokenBatch {
    if (!Number.isInteger(maxLength) || maxLength <= specials) {
      throw new InputError(`--max-length ${maxLength}: expected an integer above ${specials}, the special tokens this tokenizer adds to every text`);
    }
    const rows = texts.map((t) => {
      const ids = tokenizer.encode(t, { add_special_tokens: false }).ids;
      return ids.length > maxLength - specials ? ids.slice(0, maxLength - specials) : ids;
    });
    const longest = rows.reduce((m, r) => Math.max(m, r.length + specials), 0);
    const length = padTo ?? longest;
    const inputIds = new Int32Array(rows.length * length).fill(padId);
    const attentionMask = new Int32Array(rows.length * length);
    const tokenTypeIds = new Int32Array(rows.length * length).fill(padType);
    rows.forEach((ids, r) => {
      const n = Math.min(length, ids.length + specials);
      const start = r * length + (padLeft ? length - n : 0);
      const seq = [...prefix, ...ids, ...suffix].slice(0, n);
      const seqTypes = [...prefixTypes, ...ids.map(() => ownType), ...suffixTypes].slice(0, n);
      for (let i = 0; i < n; i++) {
        inputIds[start + i] = seq[i] as number;
        attentionMask[start + i] = 1;
        tokenTypeIds[start + i] = seqTypes[i] as number;
      }
    });
    return { rows: rows.length, length, inputIds, attentionMask, tokenTypeIds };
  }

  return {
    file,
    ...(config ? { configFile: configPath } : {}),
    sha256: createHash('sha256').update(readFileSync(file)).digest('hex'),
    vocabSize,
    padId,
    prefix,
    suffix,
    ...(maxLengthHint !== undefined ? { maxLengthHint } : {}),
    encode,
  };
}
