/**
 * A disk cache of embeddings, so a frozen backbone runs once per data set: `<dir>/<key>.f32` holds the matrix as
 * row-major float32 in the machine's byte order (little-endian on every platform Node ships for), `<dir>/<key>.json`
 * its metadata (shape, the key's parts, extra JSON and the SHA-256 of the .f32 file). The key is SHA-256 over the
 * backbone id, the data's content hash and the preprocessing options, so changing any image byte, the input
 * matrix, the backbone or an option gives another entry.
 *
 * Both files are written atomically (binary first, metadata last: an entry without its metadata is a miss). An
 * entry whose binary does not match its checksum or shape is reported through `onWarning` and rebuilt.
 * The default folder is `.fairhead-cache/` in the working directory.
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../atomic-write.ts';
import { sha256 } from '../hash.ts';
import type { Matrix } from '../data/matrix.ts';
import { canonicalJson, type JsonValue } from '../data/_internal/canonical-json.ts';

/** Default cache folder, relative to the working directory. */
export const DEFAULT_CACHE_DIR = '.fairhead-cache';

export type { JsonValue } from '../data/_internal/canonical-json.ts';

/** What an entry depends on. Two computations with equal parts must give equal embeddings. */
export interface EmbeddingCacheKey {
  /** Backbone id and version, e.g. "face-api@1.7.15/age_gender_model". */
  readonly backbone: string;
  /** Hash of the input data: {@link hashFiles} for images, {@link hashMatrix} for a matrix. */
  readonly contentHash: string;
  /** Preprocessing options that change the result (image size, fit, ...). */
  readonly options?: { readonly [key: string]: JsonValue };
}

/** Options of {@link cachedEmbeddings}. */
export interface EmbeddingCacheOptions {
  /** Cache folder. Default `.fairhead-cache` in the working directory. */
  readonly dir?: string;
  /** Told when an entry is corrupt and rebuilt. */
  readonly onWarning?: (message: string) => void;
}

/** What `compute` may return: a matrix, or a matrix with extra JSON data stored beside it (e.g. skipped rows). */
export type CacheValue = Matrix | { readonly matrix: Matrix; readonly extra: JsonValue };

/** The result of {@link cachedEmbeddings}. */
export interface CachedEmbeddings {
  readonly matrix: Matrix;
  /** The extra data stored with the entry (null when none). */
  readonly extra: JsonValue;
  /** True when read from the cache, false when computed (and stored). */
  readonly hit: boolean;
  /** The entry's key (hex SHA-256); its files are `<dir>/<key>.f32` and `<dir>/<key>.json`. */
  readonly key: string;
}

interface EntryMeta {
  readonly format: 'fairhead.embedding-cache';
  readonly version: 1;
  readonly rows: number;
  readonly cols: number;
  readonly sha256: string;
  readonly key: EmbeddingCacheKey;
  readonly extra: JsonValue;
  readonly created: string;
}

/**
 * The entry's name: hex SHA-256 of the canonical JSON of `key` (object keys sorted, so option order is irrelevant).
 *
 * @example
 * cacheKey({ backbone: 'b', contentHash: 'h', options: { size: 112 } }) === cacheKey({ contentHash: 'h', backbone: 'b', options: { size: 112 } }); // true
 */
export function cacheKey(key: EmbeddingCacheKey): string {
  return sha256(canonicalJson({ backbone: key.backbone, contentHash: key.contentHash, options: key.options ?? {} }));
}

/**
 * Hex SHA-256 over the files' bytes, in order (each preceded by its length, so a byte moving from one file to the
 * next changes the hash). File names do not enter: renaming files keeps the hash.
 *
 * @example
 * await hashFiles(['a.jpg', 'b.jpg']); // '3f1c...' (64 hex digits)
 */
export async function hashFiles(files: readonly string[], concurrency = 16): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`files:${files.length}\n`);
  for (let start = 0; start < files.length; start += concurrency) {
    const chunk = await Promise.all(files.slice(start, start + concurrency).map((f) => readFile(f)));
    for (const bytes of chunk) {
      hash.update(`${bytes.length}:`);
      hash.update(bytes);
    }
  }
  return hash.digest('hex');
}

/**
 * Hex SHA-256 of a matrix's shape and float32 bytes.
 *
 * @example
 * hashMatrix(matrix(Float32Array.of(1, 2), 1, 2)) === hashMatrix(matrix(Float32Array.of(1, 2), 2, 1)); // false
 */
export function hashMatrix(m: Matrix): string {
  const hash = createHash('sha256');
  hash.update(`matrix:${m.rows}x${m.cols}\n`);
  hash.update(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength));
  return hash.digest('hex');
}

/**
 * Embeddings for `key` from the cache, or from `compute()` (then stored). A missing, unreadable or corrupt entry
 * (checksum or shape mismatch: reported via `onWarning`) is recomputed and overwritten.
 *
 * @example
 * const { matrix, hit } = await cachedEmbeddings({ backbone: 'mlp@1', contentHash: hashMatrix(x) }, () => net.embed(x));
 * // first run: hit = false (computed, stored); second run: hit = true, identical bytes
 */
export async function cachedEmbeddings(
  key: EmbeddingCacheKey,
  compute: () => Promise<CacheValue>,
  options: EmbeddingCacheOptions = {},
): Promise<CachedEmbeddings> {
  const dir = resolve(options.dir ?? DEFAULT_CACHE_DIR);
  const name = cacheKey(key);
  const binFile = join(dir, `${name}.f32`);
  const metaFile = join(dir, `${name}.json`);
  const found = await readEntry(binFile, metaFile);
  if (found.kind === 'hit') return { matrix: found.matrix, extra: found.extra, hit: true, key: name };
  if (found.kind === 'corrupt') options.onWarning?.(`embedding cache ${metaFile}: ${found.reason}; recomputing`);
  const value = await compute();
  const m = 'data' in value ? value : value.matrix;
  const extra = 'data' in value ? null : value.extra;
  const bytes = float32Bytes(m.data);
  writeFileAtomic(binFile, bytes);
  const meta: EntryMeta = {
    format: 'fairhead.embedding-cache',
    version: 1,
    rows: m.rows,
    cols: m.cols,
    sha256: sha256(bytes),
    key: { backbone: key.backbone, contentHash: key.contentHash, options: key.options ?? {} },
    extra,
    created: new Date().toISOString(),
  };
  writeFileAtomic(metaFile, `${JSON.stringify(meta, null, 1)}\n`);
  return { matrix: m, extra, hit: false, key: name };
}

type Found =
  | { kind: 'hit'; matrix: Matrix; extra: JsonValue }
  | { kind: 'miss' }
  | { kind: 'corrupt'; reason: string };

async function readEntry(binFile: string, metaFile: string): Promise<Found> {
  let metaText: string;
  try {
    metaText = await readFile(metaFile, 'utf8');
  } catch {
    return { kind: 'miss' };
  }
  let meta: Partial<EntryMeta>;
  try {
    meta = JSON.parse(metaText) as Partial<EntryMeta>;
  } catch {
    return { kind: 'corrupt', reason: 'metadata is not valid JSON' };
  }
  if (meta.format !== 'fairhead.embedding-cache' || meta.version !== 1 || typeof meta.rows !== 'number' || typeof meta.cols !== 'number' || typeof meta.sha256 !== 'string') {
    return { kind: 'corrupt', reason: 'metadata lacks format, version, rows, cols or sha256' };
  }
  let bin: Buffer;
  try {
    const handle = await open(binFile, 'r');
    try {
      bin = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch {
    return { kind: 'corrupt', reason: `binary ${binFile} is missing` };
  }
  if (bin.length !== meta.rows * meta.cols * 4) {
    return { kind: 'corrupt', reason: `binary holds ${bin.length} bytes, expected ${meta.rows} x ${meta.cols} x 4 = ${meta.rows * meta.cols * 4}` };
  }
  if (sha256(bin) !== meta.sha256) return { kind: 'corrupt', reason: 'binary does not match its SHA-256 checksum' };
  const data = new Float32Array(meta.rows * meta.cols);
  new Uint8Array(data.buffer).set(bin);
  return { kind: 'hit', matrix: { data, rows: meta.rows, cols: meta.cols }, extra: meta.extra ?? null };
}

function float32Bytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

