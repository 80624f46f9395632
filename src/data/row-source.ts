/**
 * Rows of embeddings that stay outside memory: a float32/float64 `.npy` or raw `.f32` file ({@link DiskMatrix})
 * or a list of Parquet files ({@link ParquetRows}). The streaming trainer reads them a chunk at a time, and each of
 * its worker threads opens the same rows again from their {@link RowLocation}.
 */
import { openDiskMatrix } from './disk-matrix.ts';
import { openParquetRows, type ParquetRowsLocation } from './parquet-rows.ts';

/** Where a {@link RowSource}'s rows are, as plain data another thread can open ({@link openRowSource}). */
export type RowLocation = { readonly kind: 'file'; readonly file: string; readonly cols: number } | ParquetRowsLocation;

/** A read-only row-major matrix whose rows are read on demand into a buffer the caller owns. */
export interface RowSource {
  /** The file or folder, for messages. */
  readonly file: string;
  readonly location: RowLocation;
  readonly rows: number;
  readonly cols: number;
  /** True when `readRows` itself refuses non-finite values (InputError), so no separate check pass is needed. */
  readonly finiteChecked?: boolean;
  /**
   * Copy rows `start .. start+count-1` into `into[0 .. count*cols-1]` (`into` may be longer); a file matrix reads
   * synchronously (returns nothing), Parquet decodes asynchronously (returns a promise to await).
   */
  readRows(start: number, count: number, into: Float32Array): void | Promise<void>;
  /** Release the file descriptors (reads after close fail). */
  close(): void;
}

/**
 * Open the rows at `location` (as {@link RowSource.location} describes them), e.g. in a worker thread.
 *
 * @example
 * const again = await openRowSource(source.location); // same rows, cols and values as `source`
 */
export async function openRowSource(location: RowLocation): Promise<RowSource> {
  return location.kind === 'file' ? openDiskMatrix(location.file, { cols: location.cols }) : openParquetRows(location);
}
