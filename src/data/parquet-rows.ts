/**
 * Embeddings in Parquet files read a row group at a time, so that a folder of shards larger than memory streams
 * like an `.npy` file does ({@link RowSource}). Only a file's footer and the byte ranges of the row groups asked
 * for are read (parquet-wasm's async reader over a file handle), never the whole file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { tableFromIPC, type Table as ArrowTable, type Vector } from 'apache-arrow';
import { ParquetFile } from 'parquet-wasm';
import { fileReadError, InputError } from '../errors.ts';
import { featurePlan, featureRows, firstLineOfError, parquetFiles, type FeaturePlan } from './parquet.ts';
import type { RowSource } from './row-source.ts';

/** Where Parquet rows are: plain data a worker thread opens again with {@link openParquetRows}. */
export interface ParquetRowsLocation {
  readonly kind: 'parquet';
  /** The folder or file given, for messages. */
  readonly name: string;
  /** The files, in row order. */
  readonly files: readonly string[];
  /** Rows of each file (from its footer). */
  readonly fileRows: readonly number[];
  readonly plan: FeaturePlan;
  readonly cols: number;
}

/** A {@link RowSource} over Parquet files (see {@link openParquetRows}). */
export interface ParquetRows extends RowSource {
  readonly location: ParquetRowsLocation;
}

/** One open Parquet file: its handle for parquet-wasm and where each row group starts. */
interface OpenFile {
  readonly fd: number;
  readonly reader: ParquetFile;
  /** First row (within the file) of each row group, then the file's row count. */
  readonly groupStarts: readonly number[];
}

/**
 * Inspect Parquet embeddings without reading their values: the files of `path` ({@link parquetFiles}: one file,
 * or every Parquet file of a folder, sorted), each one's row count, which columns hold the features (the rules of
 * {@link readParquetEmbeddings}) and the embedding length. Every file must hold the `text` columns and the
 * feature columns of the first one. Errors (InputError naming the file): not Parquet (a truncated file has no
 * footer), a missing column, a list column whose first row has no values.
 *
 * @example
 * const where = await locateParquetRows('emb/', { text: ['gender', 'race'] });
 * where.cols; // 512
 */
export async function locateParquetRows(path: string, options: { features?: readonly string[]; text: readonly string[] }): Promise<ParquetRowsLocation> {
  const files = parquetFiles(path);
  const fileRows: number[] = [];
  let plan: FeaturePlan | undefined;
  let cols = 0;
  for (const file of files) {
    const open = await openFile(file);
    try {
      const schema = tableFromIPC(open.reader.schema().intoIPCStream()).schema;
      const names = schema.fields.map((f) => f.name);
      const wanted = [...options.text, ...(plan ? plan.columns : (options.features ?? []))];
      const missing = wanted.filter((c) => !names.includes(c));
      if (missing.length > 0) {
        throw new InputError(`${file}: missing column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')}${plan ? ` (found in ${files[0]})` : ''}; columns are: ${names.join(', ')}`);
      }
      const rows = open.groupStarts[open.groupStarts.length - 1] as number;
      if (plan === undefined) {
        plan = featurePlan(schema, options, file);
        if (!plan.vector) cols = plan.columns.length;
      }
      if (cols === 0 && rows > 0) {
        // a list column: the embedding length is the first row's
        const first = await decode(open.reader, file, 0, plan.columns, 1);
        cols = featureRows(first, plan, file, 0).dim;
        if (cols === 0) throw new InputError(`${file}: the first row of column "${plan.columns[0]}" is an empty list; expected the embedding's values`);
      }
      fileRows.push(rows);
    } finally {
      closeOpen(open);
    }
  }
  return { kind: 'parquet', name: path, files, fileRows, plan: plan as FeaturePlan, cols };
}

/**
 * Open the rows at `location` for reading: file handles are opened on first use, and one decoded row group is
 * kept (the one the last read ended in), so reading the rows in order decodes each row group once. Every value
 * read is checked finite (an InputError names the file, row and feature), so no separate pass is needed.
 *
 * @example
 * const rows = await openParquetRows(await locateParquetRows('emb/', { text: [] }));
 * const buf = new Float32Array(2 * rows.cols);
 * await rows.readRows(0, 2, buf); // the first two embeddings
 * rows.close();
 */
export async function openParquetRows(location: ParquetRowsLocation): Promise<ParquetRows> {
  const { files, fileRows, plan, cols } = location;
  const fileStarts = [0];
  for (const r of fileRows) fileStarts.push((fileStarts[fileStarts.length - 1] as number) + r);
  const rows = fileStarts[fileStarts.length - 1] as number;
  const opened = new Map<number, OpenFile>();
  let cached: { file: number; group: number; first: number; rows: number; values: Float32Array } | null = null;
  let open = true;

  const fileOf = (row: number): number => {
    let lo = 0;
    let hi = files.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((fileStarts[mid] as number) <= row) lo = mid;
      else hi = mid - 1;
    }
    while ((fileRows[lo] as number) === 0) lo++; // skip empty files
    return lo;
  };

  /** The decoded row group holding global row `row`. */
  const groupOf = async (row: number): Promise<NonNullable<typeof cached>> => {
    if (cached && row >= cached.first && row < cached.first + cached.rows) return cached;
    const f = fileOf(row);
    let handle = opened.get(f);
    if (!handle) {
      handle = await openFile(files[f] as string);
      const found = handle.groupStarts[handle.groupStarts.length - 1] as number;
      if (found !== fileRows[f]) {
        closeOpen(handle);
        throw new InputError(`${files[f]}: holds ${found} rows, ${fileRows[f]} when it was first read (was it rewritten while being read?)`);
      }
      opened.set(f, handle);
    }
    const local = row - (fileStarts[f] as number);
    const starts = handle.groupStarts;
    let g = 0;
    while ((starts[g + 1] as number) <= local) g++;
    const groupRows = (starts[g + 1] as number) - (starts[g] as number);
    const table = await decode(handle.reader, files[f] as string, g, plan.columns, groupRows);
    const { values, dim } = featureRows(table, plan, files[f] as string, cols);
    if (dim !== cols || values.length !== groupRows * cols) {
      throw new InputError(`${files[f]}: row group ${g} holds embeddings of ${dim} values, expected ${cols} (as in ${files[0]})`);
    }
    const first = (fileStarts[f] as number) + (starts[g] as number);
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      // v - v is 0 for finite v and NaN for NaN and +-Infinity
      if (v - v !== 0) {
        const r = Math.floor(i / cols);
        throw new InputError(`${files[f]}: row ${(starts[g] as number) + r + 1}, feature ${i % cols}: not a finite number (${v}); embeddings must be finite`);
      }
    }
    cached = { file: f, group: g, first, rows: groupRows, values };
    return cached;
  };

  return {
    file: location.name,
    location,
    rows,
    cols,
    finiteChecked: true,
    async readRows(start, count, into) {
      if (!open) throw new Error(`${location.name}: ParquetRows used after close()`);
      if (!(Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= rows)) {
        throw new RangeError(`${location.name}: rows ${start}..${start + count - 1} are outside 0..${rows - 1}`);
      }
      let row = start;
      while (row < start + count) {
        const group = await groupOf(row);
        const take = Math.min(start + count - row, group.first + group.rows - row);
        const from = (row - group.first) * cols;
        into.set(group.values.subarray(from, from + take * cols), (row - start) * cols);
        row += take;
      }
    },
    close() {
      if (!open) return;
      open = false;
      cached = null;
      for (const handle of opened.values()) closeOpen(handle);
      opened.clear();
    },
  };
}

/**
 * The `names` columns of every row, as strings (null -> ''), read a row group at a time; equal values share one
 * string, so a column of a few distinct labels costs a pointer per row.
 *
 * @example
 * const [gender, race] = await readParquetText(where, ['gender', 'race']);
 */
export async function readParquetText(location: ParquetRowsLocation, names: readonly string[]): Promise<string[][]> {
  const out: string[][] = names.map(() => []);
  const interned = names.map(() => new Map<string, string>());
  for (const file of location.files) {
    const handle = await openFile(file);
    try {
      const starts = handle.groupStarts;
      for (let g = 0; g + 1 < starts.length; g++) {
        const table = await decode(handle.reader, file, g, names, (starts[g + 1] as number) - (starts[g] as number));
        names.forEach((name, c) => {
          const vec = table.getChild(name) as Vector;
          const list = out[c] as string[];
          const seen = interned[c] as Map<string, string>;
          for (let r = 0; r < table.numRows; r++) {
            const raw = vec.get(r) as unknown;
            const v = raw === null || raw === undefined ? '' : String(raw);
            let s = seen.get(v);
            if (s === undefined) seen.set(v, (s = v));
            list.push(s);
          }
        });
      }
    } finally {
      closeOpen(handle);
    }
  }
  return out;
}

/**
 * A file as the Blob parquet-wasm's async reader asks for: `size`, `slice(start, end)` and `arrayBuffer()`,
 * answered with positioned reads of the descriptor (only the ranges the reader asks for are read).
 */
interface FileRange {
  readonly size: number;
  slice(start?: number, end?: number): FileRange;
  arrayBuffer(): Promise<ArrayBuffer>;
}

function fileRange(fd: number, file: string, start: number, end: number): FileRange {
  return {
    size: end - start,
    slice(s = 0, e = end - start) {
      const size = end - start;
      const from = s < 0 ? Math.max(0, size + s) : Math.min(s, size);
      const to = e < 0 ? Math.max(0, size + e) : Math.min(e, size);
      return fileRange(fd, file, start + from, start + Math.max(from, to));
    },
    async arrayBuffer() {
      const bytes = new Uint8Array(end - start);
      let done = 0;
      while (done < bytes.length) {
        const got = readSync(fd, bytes, done, bytes.length - done, start + done);
        if (got === 0) throw new InputError(`${file}: file ended at byte ${start + done} (was it truncated while being read?)`);
        done += got;
      }
      return bytes.buffer;
    },
  };
}

async function openFile(file: string): Promise<OpenFile> {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw fileReadError(file, error);
  }
  try {
    const size = fstatSync(fd).size;
    let reader: ParquetFile;
    try {
      reader = await ParquetFile.fromFile(fileRange(fd, file, 0, size) as unknown as Blob);
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(`${file}: not a readable Parquet file (${firstLineOfError(error)}); a file cut short has no footer`);
    }
    // metadata objects live in WebAssembly memory until freed
    const meta = reader.metadata();
    const groupStarts = [0];
    for (let g = 0; g < meta.numRowGroups(); g++) {
      const group = meta.rowGroup(g);
      groupStarts.push((groupStarts[g] as number) + group.numRows());
      group.free();
    }
    meta.free();
    return { fd, reader, groupStarts };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

function closeOpen(handle: OpenFile): void {
  handle.reader.free();
  closeSync(handle.fd);
}

/** Row group `group` of `reader`, columns `columns`, as an Arrow JS table (InputError naming the file). */
async function decode(reader: ParquetFile, file: string, group: number, columns: readonly string[], rows: number): Promise<ArrowTable> {
  try {
    const table = await reader.read({ rowGroups: [group], columns: [...columns], batchSize: Math.max(1, rows), ...(rows === 1 ? { limit: 1 } : {}) });
    return tableFromIPC(table.intoIPCStream());
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`${file}: cannot read row group ${group} (${firstLineOfError(error)})`);
  }
}


/**
 * A Parquet file's row count and column names, from its footer alone.
 *
 * @example
 * await parquetFileInfo('emb/shard-00000-of-00004.parquet'); // { rows: 250, columns: ['file', 'y', 'g', 'embedding'] }
 */
export async function parquetFileInfo(file: string): Promise<{ rows: number; columns: string[] }> {
  const handle = await openFile(file);
  try {
    const schema = tableFromIPC(handle.reader.schema().intoIPCStream()).schema;
    return { rows: handle.groupStarts[handle.groupStarts.length - 1] as number, columns: schema.fields.map((f) => f.name) };
  } finally {
    closeOpen(handle);
  }
}
