import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DataType, tableFromIPC, type Schema, type Table as ArrowTable, type Vector } from 'apache-arrow';
import { readParquet, readSchema } from 'parquet-wasm';
import { InputError, ShapeError } from '../errors.ts';
import { matrix, type Matrix } from './matrix.ts';

/** Embeddings read from Parquet: the feature matrix plus the requested text columns (labels, groups). */
export interface ParquetEmbeddings {
  readonly files: readonly string[];
  readonly featureColumns: readonly string[];
  readonly x: Matrix;
  /** Values of each `text` column as strings (null -> ''), in the order asked for. */
  readonly text: readonly (readonly string[])[];
}

const PARQUET_EXTENSIONS = ['.parquet', '.parq', '.pq'];

/** True for a file named `*.parquet`, `*.parq` or `*.pq` (any case). */
export function hasParquetExtension(file: string): boolean {
  return PARQUET_EXTENSIONS.includes(extname(file).toLowerCase());
}

/**
 * The Parquet files of `path`: the file itself, or every `*.parquet` / `*.parq` / `*.pq` file under a folder
 * (recursively, sorted by path), skipping names that start with `_` or `.` (Spark's `_SUCCESS`, `.crc` files).
 * This reads the folders Spark (`df.write.parquet`), Ray (`ds.write_parquet`) and pandas/pyarrow write. Values of
 * hive partition folders (`col=value/`) are not read as columns.
 */
export function parquetFiles(path: string): string[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new InputError(`${path}: file or folder not found`);
  }
  if (!isDir) return [path];
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (hasParquetExtension(entry.name)) out.push(full);
    }
  };
  walk(path);
  if (out.length === 0) throw new InputError(`${path}: folder holds no Parquet files (*.parquet, *.parq, *.pq)`);
  return out.sort();
}

/**
 * Read embeddings from one Parquet file or a folder of shards (see {@link parquetFiles}); rows are concatenated in
 * file order.
 *
 * Features: `features` if given; else the columns named `f0`, `f1`, ... (sorted by number); else one list column
 * of numbers (`embedding: list<float>` or a fixed-size list, as Spark/Ray write vectors); else every numeric column
 * that is not a `text` column nor a pandas index (`__index_level_0__`). Integer and float columns become float32.
 *
 * Errors (InputError naming the file): a missing column (all missing ones named, with the columns there are),
 * a null or non-finite feature value, list rows of different lengths, a shard whose feature columns differ, not a
 * Parquet file.
 *
 * @example
 * // emb/ = part-0.parquet, part-1.parquet with columns embedding: list<float32>, label: string, race: string
 * const p = readParquetEmbeddings('emb', { text: ['label', 'race'] });
 * p.x.cols; // the embedding length, e.g. 512
 */
export function readParquetEmbeddings(path: string, options: { features?: readonly string[]; text: readonly string[] }): ParquetEmbeddings {
  const files = parquetFiles(path);
  let plan: { columns: string[]; vector: boolean } | undefined;
  let dim = 0;
  const chunks: Float32Array[] = [];
  const text: string[][] = options.text.map(() => []);
  let rows = 0;
  for (const file of files) {
    const bytes = readFileSync(file);
    const schema = parquetSchema(bytes, file);
    const names = schema.fields.map((f) => f.name);
    const wanted = [...options.text, ...(options.features ?? [])];
    const missing = wanted.filter((c) => !names.includes(c));
    if (missing.length > 0) {
      throw new InputError(`${file}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')}; columns are: ${names.join(', ')}`);
    }
    if (plan === undefined) plan = featurePlan(schema, options, file);
    else {
      const absent = plan.columns.filter((c) => !names.includes(c));
      if (absent.length > 0) {
        throw new InputError(`${file}: missing feature column${absent.length > 1 ? 's' : ''} ${absent.map((c) => `"${c}"`).join(', ')} found in ${files[0]}; columns are: ${names.join(', ')}`);
      }
    }
    const table = readColumns(bytes, file, [...plan.columns, ...options.text]);
    const n = table.numRows;
    const features = featureRows(table, plan, file, dim);
    dim = features.dim;
    chunks.push(features.values);
    options.text.forEach((name, t) => {
      const vec = table.getChild(name) as Vector;
      const list = text[t] as string[];
      for (let r = 0; r < n; r++) {
        const v = vec.get(r) as unknown;
        list.push(v === null || v === undefined ? '' : String(v));
      }
    });
    rows += n;
  }
  const data = new Float32Array(rows * dim);
  let offset = 0;
  for (const c of chunks) {
    data.set(c, offset);
    offset += c.length;
  }
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i] as number)) {
      throw new InputError(`${path}: row ${Math.floor(i / dim) + 1}, feature ${i % dim}: not a finite number (${data[i]}); embeddings must be finite`);
    }
  }
  return { files, featureColumns: (plan as { columns: string[] }).columns, x: matrix(data, rows, dim), text };
}

/** How the feature matrix is laid out in a Parquet schema: one list column (`vector`) or one column per feature. */
export interface FeaturePlan {
  readonly columns: readonly string[];
  readonly vector: boolean;
}

/**
 * The row-major float32 features of an Arrow table read from Parquet, laid out as `plan` says; `dim` is the
 * expected row length of a list column (0: take the first row's). Errors (naming `file`): null values, list rows
 * of different lengths.
 */
export function featureRows(table: ArrowTable, plan: FeaturePlan, file: string, dim: number): { values: Float32Array; dim: number } {
  const n = table.numRows;
  if (plan.vector) {
    const { values, length } = listColumn(table.getChild(plan.columns[0] as string) as Vector, file, plan.columns[0] as string, dim);
    return { values, dim: n > 0 ? length : dim };
  }
  const d = plan.columns.length;
  const out = new Float32Array(n * d);
  plan.columns.forEach((name, k) => {
    const vec = table.getChild(name) as Vector;
    if (vec.nullCount > 0) throw new InputError(`${file}: column "${name}" has ${vec.nullCount} null values; embeddings must be complete`);
    const values = vec.toArray() as ArrayLike<number | bigint>;
    for (let r = 0; r < n; r++) out[r * d + k] = Number(values[r]);
  });
  return { values: out, dim: d };
}

/** The Arrow schema of a Parquet file's bytes (InputError naming `file` when it is not Parquet). */
export function parquetSchema(bytes: Uint8Array, file: string): Schema {
  try {
    return tableFromIPC(readSchema(bytes).intoIPCStream()).schema;
  } catch (error) {
    throw new InputError(`${file}: not a readable Parquet file (${firstLineOfError(error)})`);
  }
}

function readColumns(bytes: Uint8Array, file: string, columns: string[]): ArrowTable {
  try {
    return tableFromIPC(readParquet(bytes, { columns }).intoIPCStream());
  } catch (error) {
    throw new InputError(`${file}: cannot read Parquet columns ${columns.join(', ')} (${firstLineOfError(error)})`);
  }
}

/**
 * Which columns of `schema` hold the features (the rules of {@link readParquetEmbeddings}): `features` if given;
 * else f0, f1, ...; else the one list column of numbers; else every numeric column that is not a `text` column.
 */
export function featurePlan(schema: Schema, options: { features?: readonly string[]; text: readonly string[] }, file: string): { columns: string[]; vector: boolean } {
  const fields = schema.fields;
  const isNumeric = (t: DataType): boolean => DataType.isFloat(t) || DataType.isInt(t);
  if (options.features) {
    const columns = [...options.features];
    const lists = columns.filter((c) => isListOfNumbers(fields.find((f) => f.name === c)?.type));
    if (lists.length === 1 && columns.length === 1) return { columns, vector: true };
    for (const c of columns) {
      const type = fields.find((f) => f.name === c)?.type as DataType;
      if (!isNumeric(type)) throw new InputError(`${file}: feature column "${c}" has type ${String(type)}; expected numbers or one list of numbers`);
    }
    return { columns, vector: false };
  }
  // pandas writes its index as "__index_level_0__": never a feature
  const candidates = fields.filter((f) => !options.text.includes(f.name) && !/^__index_level_\d+__$/.test(f.name));
  const named = candidates.filter((f) => /^f\d+$/.test(f.name) && isNumeric(f.type));
  if (named.length > 0) {
    return { columns: named.map((f) => f.name).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1))), vector: false };
  }
  const lists = candidates.filter((f) => isListOfNumbers(f.type));
  if (lists.length === 1) return { columns: [(lists[0] as { name: string }).name], vector: true };
  if (lists.length > 1) {
    throw new InputError(`${file}: several list columns (${lists.map((f) => f.name).join(', ')}); name the embedding column with --features`);
  }
  const numeric = candidates.filter((f) => isNumeric(f.type));
  if (numeric.length === 0) {
    throw new InputError(`${file}: no numeric feature columns besides ${options.text.join(', ')}; columns are: ${fields.map((f) => `${f.name} (${String(f.type)})`).join(', ')}`);
  }
  return { columns: numeric.map((f) => f.name), vector: false };
}

function isListOfNumbers(type: DataType | undefined): boolean {
  if (type === undefined || !(DataType.isList(type) || DataType.isFixedSizeList(type))) return false;
  const child = type.children[0]?.type;
  return child !== undefined && (DataType.isFloat(child) || DataType.isInt(child));
}

/**
 * Copy a list<number> column into a row-major float32 array; every row must have the same length. Arrow JS slices
 * a Data's offset/value buffers with it, so indices here start at 0 for every chunk.
 */
function listColumn(vec: Vector, file: string, name: string, expected: number): { values: Float32Array; length: number } {
  const n = vec.length;
  let length = expected;
  let out = new Float32Array(0);
  let row = 0;
  for (const data of vec.data) {
    if (data.nullCount > 0) throw new InputError(`${file}: column "${name}" has null rows; embeddings must be complete`);
    const child = data.children[0];
    if (child === undefined) throw new InputError(`${file}: column "${name}" is not a list`);
    if (child.nullCount > 0) throw new InputError(`${file}: column "${name}" has null values inside its lists; embeddings must be complete`);
    const values = child.values as ArrayLike<number | bigint>;
    const fixed = DataType.isFixedSizeList(data.type) ? (data.type as unknown as { listSize: number }).listSize : 0;
    if (fixed > 0 && (length === 0 || length === fixed) && values instanceof Float32Array) {
      // float32 vectors of one length (as fairhead embed writes them): one copy
      length = fixed;
      if (out.length === 0) out = new Float32Array(n * length);
      out.set(values.subarray(0, data.length * fixed), row * length);
      row += data.length;
      continue;
    }
    const offsets = data.valueOffsets as Int32Array | undefined;
    for (let r = 0; r < data.length; r++) {
      const start = fixed > 0 ? r * fixed : (offsets?.[r] as number);
      const end = fixed > 0 ? start + fixed : (offsets?.[r + 1] as number);
      if (row === 0 && length === 0) length = end - start;
      if (out.length === 0) out = new Float32Array(n * length);
      if (end - start !== length) {
        throw new ShapeError(`${file}: column "${name}" row ${row + 1} has ${end - start} values, expected ${length} (as in the first row)`);
      }
      const base = row * length;
      for (let k = 0; k < length; k++) out[base + k] = Number(values[start + k]);
      row++;
    }
  }
  return { values: out, length };
}

/** The first line of an error's message (untrimmed), for one-line Parquet errors. */
export function firstLineOfError(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}
