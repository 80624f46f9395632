/**
 * A folder of embedding shards, as `fairhead embed` writes it, one task per shard (Slurm array tasks, Kubernetes
 * Indexed Job pods, or one machine):
 *
 *     emb/manifest.json                     what every shard shares: backbone, preprocessing, columns, shard count
 *     emb/shard-00000-of-00004.parquet      rows 0 .. n/4-1 of the input: id, label columns, embedding
 *     emb/shard-00000-of-00004.json         its record: input rows, rows kept, skipped images, bytes, SHA-256
 *     emb/shard-00001-of-00004.parquet ...
 *
 * Shard K of N holds the input rows floor(K n / N) .. floor((K+1) n / N) - 1 in input order, so the shards read in
 * name order are the input's rows (less undecodable images). A shard is written to a temporary file and renamed,
 * then its record is written (atomically too): a shard without its record is unfinished. The Parquet files are
 * plain (no compression, no dictionary, row groups of 4 MiB of embeddings): `embedding` is a
 * `fixed_size_list<float32>[dim]` column, the others are strings, so pandas, pyarrow, Spark or DuckDB read them as
 * they are.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Field, FixedSizeList, Float32, makeData, RecordBatch, Schema, Struct, Table, tableToIPC, Utf8, vectorFromArray } from 'apache-arrow';
import { Compression, EnabledStatistics, Table as WasmTable, transformParquetStream, WriterPropertiesBuilder, type RecordBatch as WasmRecordBatch } from 'parquet-wasm';
import { writeFileAtomic } from '../atomic-write.ts';
import { sha256File } from '../hash.ts';
import { InputError } from '../errors.ts';
import type { Matrix } from './matrix.ts';
import { parquetFileInfo } from './parquet-rows.ts';
import { parquetFiles } from './parquet.ts';
import { canonicalJson, type JsonValue } from './_internal/canonical-json.ts';

/** Name of the manifest in a shard folder. */
export const SHARDS_MANIFEST = 'manifest.json';
/** Name of the embedding column of every shard. */
export const EMBEDDING_COLUMN = 'embedding';

/** What every shard of a folder shares (`manifest.json`). Equal manifests mean shards that belong together. */
export interface ShardsManifest {
  readonly format: 'fairhead.embeddings';
  readonly version: 1;
  /** N: how many shards the input is cut into. */
  readonly shards: number;
  /** Rows of the input (the labels CSV of an image folder, or a CSV of rows), undecodable images included. */
  readonly inputRows: number;
  /** Embedding length. */
  readonly dim: number;
  /** The frozen backbone: `id` identifies its weights by content (a SHA-256), whatever the path it was read from. */
  readonly backbone: { readonly kind: string; readonly spec: string; readonly id: string; readonly embeddingNode?: string };
  /** Preprocessing: how an input row became the backbone's input (as a model folder's `input`). */
  readonly input: { readonly kind: string; readonly [key: string]: JsonValue };
  /** The labels or data CSV, by name and content, so that tasks reading another version of it are caught. */
  readonly source: { readonly kind: 'images' | 'rows'; readonly file: string; readonly sha256: string };
  /** Column of the row identifier (the image file name, or the CSV row number). */
  readonly idColumn: string;
  /** Columns of every shard, in order: the id, the other columns of the input (as strings), then `embedding`. */
  readonly columns: readonly string[];
}

/** A shard's record (`shard-K-of-N.json`), written once its Parquet file is complete. */
export interface ShardRecord {
  readonly format: 'fairhead.embedding-shard';
  readonly version: 1;
  /** K, 0-based. */
  readonly shard: number;
  readonly shards: number;
  /** {@link manifestFingerprint} of the manifest the shard was embedded under. */
  readonly fingerprint: string;
  /** Copied from that manifest, so a mismatch can be told in words. */
  readonly backbone: ShardsManifest['backbone'];
  readonly input: ShardsManifest['input'];
  readonly source: ShardsManifest['source'];
  readonly dim: number;
  readonly columns: readonly string[];
  /** The input rows of this shard: `[start, end)`. */
  readonly range: readonly [number, number];
  /** Rows in the Parquet file (inputRows less skipped images). */
  readonly rows: number;
  /** Input rows (0-based) left out, with why. */
  readonly skipped: readonly { readonly row: number; readonly reason: string }[];
  readonly bytes: number;
  readonly sha256: string;
  readonly seconds: number;
  readonly host: string;
  readonly created: string;
}

/** One block of rows to append to a shard: ids, the text columns (manifest order, id excluded) and embeddings. */
export interface ShardBatch {
  readonly ids: readonly string[];
  readonly text: readonly (readonly string[])[];
  readonly x: Matrix;
}

/**
 * The Parquet file name of shard `k` of `n` (numbers padded to 5 digits, so names sort in shard order).
 *
 * @example
 * shardFileName(2, 4); // 'shard-00002-of-00004.parquet'
 */
export function shardFileName(k: number, n: number): string {
  return `shard-${String(k).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.parquet`;
}

/** The record file name of shard `k` of `n` (`shard-00002-of-00004.json`). */
export function shardRecordName(k: number, n: number): string {
  return shardFileName(k, n).replace(/\.parquet$/, '.json');
}

/**
 * The input rows of shard `k` of `n` over `rows` rows: `[floor(k rows / n), floor((k+1) rows / n))`, contiguous,
 * in order, sizes differing by at most one; together the shards cover every row once.
 *
 * @example
 * shardRange(10, 0, 4); // { start: 0, end: 2 }
 * shardRange(10, 3, 4); // { start: 7, end: 10 }
 */
export function shardRange(rows: number, k: number, n: number): { start: number; end: number } {
  return { start: Math.floor((k * rows) / n), end: Math.floor(((k + 1) * rows) / n) };
}

/** Which shard a task embeds, and where K and N came from. */
export interface ShardChoice {
  readonly index: number;
  readonly count: number;
  /** `flag` (--shard K/N), `slurm`, `kubernetes`, or `default` (no --shard: the whole input as shard 0 of 1). */
  readonly from: 'flag' | 'slurm' | 'kubernetes' | 'default';
}

/**
 * Parse `--shard K/N | auto` (with `--shards N`). K is 0-based (0 .. N-1), as Slurm array indices
 * (`--array=0-3`) and Kubernetes completion indices are.
 *
 * - `K/N`: that shard.
 * - `auto` under Slurm: K = `SLURM_ARRAY_TASK_ID`; N = `--shards N`, else `SLURM_ARRAY_TASK_COUNT` when the array
 *   is `0-(N-1)` (resubmitting one task, e.g. `sbatch --array=2`, needs `--shards N`).
 * - `auto` under Kubernetes (an Indexed Job): K = `JOB_COMPLETION_INDEX`, N = `--shards N` (required: the pod is
 *   not told the completion count).
 * - absent: the whole input (0 of 1); `--shards` alone is an error.
 *
 * Errors (InputError naming the flag or variable): not K/N, K >= N, N < 1, `auto` outside a scheduler, an array
 * that does not start at 0 without `--shards`.
 *
 * @example
 * parseShardOption('1/4', undefined, {});                              // { index: 1, count: 4, from: 'flag' }
 * parseShardOption('auto', undefined, { SLURM_ARRAY_TASK_ID: '3', SLURM_ARRAY_TASK_COUNT: '4',
 *   SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '3' });            // { index: 3, count: 4, from: 'slurm' }
 * parseShardOption('auto', 8, { JOB_COMPLETION_INDEX: '5' });          // { index: 5, count: 8, from: 'kubernetes' }
 */
export function parseShardOption(shard: string | undefined, shards: number | undefined, env: Readonly<Record<string, string | undefined>> = process.env): ShardChoice {
  if (shards !== undefined && !(Number.isInteger(shards) && shards >= 1)) throw new InputError(`--shards: expected an integer >= 1, received ${shards}`);
  if (shard === undefined) {
    if (shards !== undefined) throw new InputError('--shards N goes with --shard auto (N from the flag, K from the scheduler); give --shard K/N or --shard auto');
    return { index: 0, count: 1, from: 'default' };
  }
  const text = shard.trim();
  if (text === 'auto') return autoShard(shards, env);
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(text);
  if (!m) throw new InputError(`--shard: expected K/N (e.g. 0/4: shards are numbered 0 to N-1) or auto, received "${shard}"`);
  const [k, n] = [Number(m[1]), Number(m[2])];
  if (n < 1) throw new InputError(`--shard ${text}: N must be at least 1`);
  if (k >= n) throw new InputError(`--shard ${text}: K must be below N (shards are numbered 0 to N-1: 0/${n} .. ${n - 1}/${n})`);
  if (shards !== undefined && shards !== n) throw new InputError(`--shard ${text} and --shards ${shards} disagree on N`);
  return { index: k, count: n, from: 'flag' };
}

function autoShard(shards: number | undefined, env: Readonly<Record<string, string | undefined>>): ShardChoice {
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v.trim())) throw new InputError(`--shard auto: ${name}=${JSON.stringify(v)} is not a whole number`);
    return Number(v);
  };
  const slurmId = int('SLURM_ARRAY_TASK_ID');
  if (slurmId !== undefined) {
    let count = shards;
    if (count === undefined) {
      const [total, min, max] = [int('SLURM_ARRAY_TASK_COUNT'), int('SLURM_ARRAY_TASK_MIN'), int('SLURM_ARRAY_TASK_MAX')];
      if (total === undefined || min !== 0 || max !== total - 1) {
        throw new InputError(
          `--shard auto: the Slurm array is ${min ?? '?'}-${max ?? '?'} (${total ?? '?'} tasks), not 0-(N-1); give the shard count with --shards N (needed too when resubmitting single tasks, e.g. sbatch --array=2)`,
        );
      }
      count = total;
    }
    if (slurmId >= count) throw new InputError(`--shard auto: SLURM_ARRAY_TASK_ID=${slurmId} is not below the shard count ${count}; submit --array=0-${count - 1}`);
    return { index: slurmId, count, from: 'slurm' };
  }
  const k8sIndex = int('JOB_COMPLETION_INDEX');
  if (k8sIndex !== undefined) {
    if (shards === undefined) throw new InputError('--shard auto under Kubernetes (JOB_COMPLETION_INDEX is set) needs --shards N, the Job\'s completions');
    if (k8sIndex >= shards) throw new InputError(`--shard auto: JOB_COMPLETION_INDEX=${k8sIndex} is not below --shards ${shards}`);
    return { index: k8sIndex, count: shards, from: 'kubernetes' };
  }
  throw new InputError('--shard auto: not inside a Slurm array task (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX); give --shard K/N');
}

/**
 * Hex SHA-256 of the manifest's canonical JSON: equal for shards embedded under the same backbone, preprocessing,
 * input, columns and shard count.
 */
export function manifestFingerprint(manifest: ShardsManifest): string {
  return createHash('sha256').update(canonicalJson(manifest as unknown as JsonValue)).digest('hex');
}

/** True when `path` is a folder holding a shard manifest (a `fairhead embed` output). */
export function isShardFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory() && existsSync(join(path, SHARDS_MANIFEST));
  } catch {
    return false;
  }
}

/**
 * The manifest of the shard folder `dir`, or null when it has none. InputError when it is not valid JSON or not a
 * fairhead embeddings manifest of a version this fairhead reads.
 */
export function readShardsManifest(dir: string): ShardsManifest | null {
  const file = join(dir, SHARDS_MANIFEST);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  let m: Partial<ShardsManifest> | null;
  try {
    m = JSON.parse(text) as Partial<ShardsManifest> | null;
  } catch {
    throw new InputError(`${file}: is not valid JSON (a shard manifest written by fairhead embed)`);
  }
  if (!m || m.format !== 'fairhead.embeddings') throw new InputError(`${file}: not a fairhead embeddings manifest (expected format "fairhead.embeddings")`);
  if (m.version !== 1) throw new InputError(`${file}: embeddings format version ${String(m.version)} is not one this fairhead reads (1)`);
  if (!(Number.isInteger(m.shards) && (m.shards as number) >= 1) || !Number.isInteger(m.dim) || !Array.isArray(m.columns) || typeof m.idColumn !== 'string' || !m.backbone || !m.input || !m.source) {
    throw new InputError(`${file}: incomplete manifest (needs shards, dim, backbone, input, source, idColumn and columns)`);
  }
  return m as ShardsManifest;
}

/** The parts of a manifest (or of a shard record, which copies them) that say how embeddings were made. */
type Described = Pick<ShardsManifest, 'backbone' | 'input' | 'columns' | 'source' | 'dim' | 'shards'> & { readonly inputRows?: number };

/** What differs between two manifests, in words ("backbone onnx:a.onnx (sha256 1a2b3c4d) vs ..."), for messages. */
export function describeManifestDifference(mine: Described, theirs: Described): string {
  const parts: string[] = [];
  const backbone = (b: ShardsManifest['backbone']): string => `${b.spec} (${b.id.slice(0, 24)}${b.embeddingNode !== undefined ? `, node ${b.embeddingNode}` : ''})`;
  if (canonicalJson(mine.backbone as unknown as JsonValue) !== canonicalJson(theirs.backbone as unknown as JsonValue)) parts.push(`backbone ${backbone(mine.backbone)} vs ${backbone(theirs.backbone)}`);
  const input = leafDifferences(mine.input as JsonValue, theirs.input as JsonValue);
  if (input.length > 0) parts.push(`preprocessing (${input.slice(0, 4).join(', ')}${input.length > 4 ? ', ...' : ''})`);
  if (mine.columns.join(',') !== theirs.columns.join(',')) parts.push(`columns ${mine.columns.join(', ')} vs ${theirs.columns.join(', ')}`);
  if (mine.shards !== theirs.shards) parts.push(`${mine.shards} shards vs ${theirs.shards}`);
  if (mine.source.sha256 !== theirs.source.sha256) parts.push(`input ${mine.source.file} (sha256 ${mine.source.sha256.slice(0, 12)}) vs ${theirs.source.file} (sha256 ${theirs.source.sha256.slice(0, 12)})`);
  if (mine.inputRows !== undefined && theirs.inputRows !== undefined && mine.inputRows !== theirs.inputRows) parts.push(`${mine.inputRows} input rows vs ${theirs.inputRows}`);
  if (mine.dim !== theirs.dim) parts.push(`dimension ${mine.dim} vs ${theirs.dim}`);
  return parts.length > 0 ? parts.join('; ') : 'their descriptions differ';
}

/** `path a vs b` for each leaf where two JSON values differ (objects compared key by key, arrays whole). */
function leafDifferences(a: JsonValue | undefined, b: JsonValue | undefined, path = ''): string[] {
  const isObject = (v: JsonValue | undefined): v is { readonly [key: string]: JsonValue } => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObject(a) && isObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => leafDifferences(a[k], b[k], path === '' ? k : `${path}.${k}`));
  }
  const [ta, tb] = [canonicalJson(a), canonicalJson(b)];
  return ta === tb ? [] : [`${path} ${a === undefined ? '(none)' : ta} vs ${b === undefined ? '(none)' : tb}`];
}

/**
 * Before a task writes anything: the folder's manifest, if there is one, must be this task's (InputError naming
 * what differs: another backbone, preprocessing, input, shard count).
 */
export function checkFolderManifest(dir: string, mine: ShardsManifest): void {
  const theirs = readShardsManifest(dir);
  if (theirs && manifestFingerprint(theirs) !== manifestFingerprint(mine)) {
    throw new InputError(`--out ${dir} holds shards of other embeddings (${describeManifestDifference(mine, theirs)}: this task's first); write to another folder, or empty this one`);
  }
}

/**
 * Whether shard `k` of `dir` is complete and checks out against `manifest`: its record exists and belongs to this
 * manifest, and the Parquet file has the recorded size and SHA-256. `reason` says why not (for a warning).
 */
export async function shardChecksOut(dir: string, k: number, manifest: ShardsManifest): Promise<{ ok: true; record: ShardRecord } | { ok: false; reason: string }> {
  const n = manifest.shards;
  const file = join(dir, shardFileName(k, n));
  const recordFile = join(dir, shardRecordName(k, n));
  if (!existsSync(file)) return { ok: false, reason: 'not written yet' };
  const record = readRecord(recordFile);
  if (typeof record === 'string') return { ok: false, reason: record };
  if (record.fingerprint !== manifestFingerprint(manifest)) return { ok: false, reason: `embedded under another manifest (${describeManifestDifference(manifest, record)})` };
  const size = statSync(file).size;
  if (size !== record.bytes) return { ok: false, reason: `${size} bytes, its record says ${record.bytes} (cut short?)` };
  if ((await sha256File(file)) !== record.sha256) return { ok: false, reason: 'its bytes do not match the SHA-256 of its record (corrupt)' };
  return { ok: true, record };
}

const partialFiles = new Set<string>();

/**
 * Delete the temporary files of shards being written (for a task stopped by SIGTERM: `scancel`, pod eviction), so
 * a stopped task leaves nothing behind. Safe to call at any time.
 */
export function removePartialShards(): void {
  for (const f of partialFiles) rmSync(f, { force: true });
  partialFiles.clear();
}

/**
 * Write shard `k` of `manifest` into `dir` from `batches`, streamed through parquet-wasm's writer into a temporary
 * file (memory: one row group of 4 MiB of embeddings, plus one batch), then renamed into place. Returns the
 * rows written, the file's size and SHA-256. The record is the caller's to write ({@link writeShardRecord}), once it
 * knows the skipped rows. An error in `batches` deletes the temporary file and is rethrown.
 */
export async function writeShardFile(dir: string, k: number, manifest: ShardsManifest, batches: AsyncIterable<ShardBatch>): Promise<{ rows: number; bytes: number; sha256: string }> {
  const file = join(dir, shardFileName(k, manifest.shards));
  const tmp = `${file}.${process.pid}.tmp`;
  const textColumns = manifest.columns.filter((c) => c !== manifest.idColumn && c !== EMBEDDING_COLUMN);
  const listType = new FixedSizeList(manifest.dim, new Field('item', new Float32(), false));
  const schema = new Schema(
    [new Field(manifest.idColumn, new Utf8(), false), ...textColumns.map((c) => new Field(c, new Utf8(), false)), new Field(EMBEDDING_COLUMN, listType, false)],
    new Map([['fairhead', JSON.stringify({ shard: k, shards: manifest.shards, fingerprint: manifestFingerprint(manifest) })]]),
  );
  const toWasm = (b: ShardBatch): WasmRecordBatch => {
    const n = b.ids.length;
    if (b.x.rows !== n || b.x.cols !== manifest.dim || b.text.length !== textColumns.length) {
      throw new Error(`shard batch: ${n} ids, ${b.x.rows} x ${b.x.cols} embeddings, ${b.text.length} text columns; expected ${manifest.dim} columns and ${textColumns.length} text columns`);
    }
    const strings = (values: readonly string[]) => vectorFromArray(values as string[], new Utf8()).data[0] ?? makeData({ type: new Utf8(), length: 0, valueOffsets: new Int32Array(1), data: new Uint8Array(0) });
    const embedding = makeData({ type: listType, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * manifest.dim, data: b.x.data.subarray(0, n * manifest.dim) }) });
    const children = [strings(b.ids), ...b.text.map(strings), embedding];
    const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
    // the record batch shares the table's buffers; free the table at once (left to the garbage collector, the
    // WebAssembly memory would hold every batch of the shard and end at its 4 GiB limit)
    const table = WasmTable.fromIPCStream(tableToIPC(new Table([batch]), 'stream'));
    const wasm = table.recordBatch(0);
    table.free();
    if (!wasm) throw new Error('shard batch: parquet-wasm returned no record batch');
    return wasm;
  };
  // parquet-wasm ends the file quietly when its source fails: remember the failure and rethrow it below
  let failure: unknown;
  let rows = 0;
  async function* source(): AsyncGenerator<WasmRecordBatch> {
    try {
      for await (const b of batches) {
        rows += b.ids.length;
        yield toWasm(b);
      }
      if (rows === 0) yield toWasm({ ids: [], text: textColumns.map(() => []), x: { data: new Float32Array(0), rows: 0, cols: manifest.dim } });
    } catch (error) {
      failure = error;
    }
  }
  // small row groups: a reader decodes one at a time, and parquet-wasm's decoder needs about 8 times its size
  const rowsPerGroup = Math.max(256, Math.floor((4 << 20) / (4 * Math.max(1, manifest.dim))));
  const properties = new WriterPropertiesBuilder()
    .setCompression(Compression.UNCOMPRESSED)
    .setDictionaryEnabled(false)
    .setStatisticsEnabled(EnabledStatistics.None)
    .setMaxRowGroupSize(rowsPerGroup)
    .setDataPageSizeLimit(8 << 20)
    .setCreatedBy('fairhead embed')
    .build();
  let fd: number;
  try {
    mkdirSync(dir, { recursive: true });
    fd = openSync(tmp, 'w');
  } catch (error) {
    throw new InputError(`${dir}: cannot write the shard there (${(error as NodeJS.ErrnoException).code ?? String(error)}); choose another --out folder`);
  }
  partialFiles.add(tmp);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    try {
      const batchesIn = source();
      const stream = new ReadableStream<WasmRecordBatch>({
        async pull(controller) {
          const next = await batchesIn.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
      });
      const out = await transformParquetStream(stream as ReadableStream, properties);
      for await (const chunk of out as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done, chunk.length - done);
        bytes += chunk.length;
      }
    } finally {
      closeSync(fd);
    }
    if (failure !== undefined) throw failure;
    renameSync(tmp, file);
    partialFiles.delete(tmp);
  } catch (error) {
    rmSync(tmp, { force: true });
    partialFiles.delete(tmp);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EIO') throw new InputError(`${file}: cannot write the shard (${code}); free space or choose another --out folder, then run the task again`);
    throw error;
  }
  return { rows, bytes, sha256: hash.digest('hex') };
}

/** Write a shard's record (atomically): the shard counts as finished from then on. */
export function writeShardRecord(dir: string, record: ShardRecord): void {
  writeFileAtomic(join(dir, shardRecordName(record.shard, record.shards)), `${JSON.stringify(record, null, 1)}\n`);
}

/** A record for shard `k` of `manifest` (host and time filled in). */
export function shardRecord(
  k: number,
  manifest: ShardsManifest,
  part: { range: readonly [number, number]; rows: number; skipped: ShardRecord['skipped']; bytes: number; sha256: string; seconds: number },
): ShardRecord {
  return {
    format: 'fairhead.embedding-shard',
    version: 1,
    shard: k,
    shards: manifest.shards,
    fingerprint: manifestFingerprint(manifest),
    backbone: manifest.backbone,
    input: manifest.input,
    source: manifest.source,
    dim: manifest.dim,
    columns: manifest.columns,
    ...part,
    host: hostname(),
    created: new Date().toISOString(),
  };
}

/** Write the manifest unless the folder has it already (every task writes the same bytes, atomically). */
export function writeShardsManifest(dir: string, manifest: ShardsManifest): void {
  checkFolderManifest(dir, manifest);
  if (!existsSync(join(dir, SHARDS_MANIFEST))) writeFileAtomic(join(dir, SHARDS_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** A checked shard folder: its manifest, its Parquet files in shard order, and the rows they hold. */
export interface ShardFolder {
  readonly manifest: ShardsManifest;
  readonly files: readonly string[];
  readonly rows: number;
}

/**
 * Check that the shard folder `dir` is complete and consistent before a fit reads it: every shard of the manifest
 * is there with its record; each record belongs to this manifest (same backbone, preprocessing, columns, shard
 * count, input); each file has its recorded size, columns, row count and SHA-256; no other Parquet file is in the
 * folder. Reads every byte once (for the checksums).
 *
 * Errors (InputError, one line naming the shard and what to do): missing shards (all listed, with the `--shard`
 * to run again), a shard from other embeddings (what differs), a file cut short, other columns, a corrupt file,
 * a stray Parquet file.
 *
 * @example
 * const { files, rows } = await checkShardFolder('emb'); // files: emb/shard-00000-of-00004.parquet, ...
 */
export async function checkShardFolder(dir: string): Promise<ShardFolder> {
  const manifest = readShardsManifest(dir);
  if (!manifest) throw new InputError(`${dir}: no ${SHARDS_MANIFEST}; expected a folder written by fairhead embed`);
  const n = manifest.shards;
  const fingerprint = manifestFingerprint(manifest);
  const expected = Array.from({ length: n }, (_, k) => join(dir, shardFileName(k, n)));
  const stray = parquetFilesOrNone(dir).filter((f) => !expected.includes(f));
  if (stray.length > 0) {
    throw new InputError(`${stray[0]}: is not one of the ${n} shards of ${join(dir, SHARDS_MANIFEST)}${stray.length > 1 ? ` (nor are ${stray.length - 1} more)` : ''}; move it out of the folder`);
  }
  const unfinished = expected.map((f, k) => ({ f, k })).filter(({ f, k }) => !existsSync(f) || !existsSync(join(dir, shardRecordName(k, n))));
  if (unfinished.length > 0) {
    const ks = unfinished.map(({ k }) => k);
    const shown = unfinished.slice(0, 4).map(({ f, k }) => `${shardFileName(k, n)}${existsSync(f) ? ' (no record: unfinished)' : ''}`).join(', ');
    throw new InputError(
      `${dir}: ${unfinished.length} of ${n} shards missing: ${shown}${unfinished.length > 4 ? ', ...' : ''}; run fairhead embed again with --shard ${ks[0]}/${n}${ks.length > 1 ? ` (and ${ks.slice(1, 4).map((k) => `${k}/${n}`).join(', ')}${ks.length > 4 ? ', ...' : ''})` : ''}: finished shards are skipped`,
    );
  }
  let rows = 0;
  for (let k = 0; k < n; k++) {
    const file = expected[k] as string;
    const recordFile = join(dir, shardRecordName(k, n));
    const record = readRecord(recordFile);
    if (typeof record === 'string') throw new InputError(`${recordFile}: ${record}; run fairhead embed again with --shard ${k}/${n}`);
    if (record.fingerprint !== fingerprint || record.shard !== k || record.shards !== n) {
      throw new InputError(`${file}: embedded differently from the other shards (${describeManifestDifference(record, manifest)}: this shard's first); re-embed it with --shard ${k}/${n} under the manifest's settings`);
    }
    const size = statSync(file).size;
    if (size !== record.bytes) {
      throw new InputError(`${file}: ${size} bytes, its record ${shardRecordName(k, n)} says ${record.bytes} (${size < record.bytes ? 'cut short' : 'changed'}); run fairhead embed again with --shard ${k}/${n}`);
    }
    const info = await parquetFileInfo(file);
    if (info.columns.join(',') !== manifest.columns.join(',')) {
      throw new InputError(`${file}: columns ${info.columns.join(', ')}; the manifest's are ${manifest.columns.join(', ')}`);
    }
    if (info.rows !== record.rows) throw new InputError(`${file}: ${info.rows} rows, its record says ${record.rows}; run fairhead embed again with --shard ${k}/${n}`);
    if ((await sha256File(file)) !== record.sha256) {
      throw new InputError(`${file}: its bytes do not match the SHA-256 in ${shardRecordName(k, n)} (corrupt); run fairhead embed again with --shard ${k}/${n}`);
    }
    rows += record.rows;
  }
  return { manifest, files: expected, rows };
}

/** Every Parquet file a folder reader would take from `dir` (recursively), or none. */
function parquetFilesOrNone(dir: string): string[] {
  try {
    return parquetFiles(dir);
  } catch {
    return [];
  }
}

/** A shard record, or a sentence saying why it cannot be used. */
function readRecord(file: string): ShardRecord | string {
  let r: Partial<ShardRecord> | null;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Partial<ShardRecord> | null;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'has no record (unfinished)' : 'record is not valid JSON';
  }
  if (!r || r.format !== 'fairhead.embedding-shard' || r.version !== 1 || typeof r.sha256 !== 'string' || typeof r.bytes !== 'number' || typeof r.rows !== 'number' || typeof r.fingerprint !== 'string' || !r.backbone || !r.input || !r.source || !Array.isArray(r.columns)) {
    return 'not a fairhead shard record (format "fairhead.embedding-shard", version 1, with bytes, rows, sha256 and fingerprint)';
  }
  return r as ShardRecord;
}
