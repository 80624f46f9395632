/**
 * Image folders with a labels CSV: `--images DIR --labels FILE --image-column file`.
 *
 * {@link readImageLabels} reads the CSV and checks every named file exists (one error naming the first few that do
 * not). {@link imageBatches} decodes the files with sharp, resizes them to a square, and yields batches of RGB
 * bytes while the next batches are decoded on libuv's thread pool (so decoding overlaps the consumer's work).
 *
 * Images of mixed sizes are all resized to `size x size`: by default `fit: 'contain'` keeps the aspect ratio and
 * pads the short side with black, centred (what face-api does before its nets); `'cover'` crops the centre,
 * `'fill'` stretches. Orientation from EXIF is applied; grey or RGBA images become RGB (alpha dropped).
 *
 * An image sharp cannot decode (corrupt, truncated, not an image) is skipped with a warning and counted, or, with
 * `strict: true`, fails with an {@link InputError} naming the file.
 */
import { statSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve, sep } from 'node:path';
import sharp from 'sharp';
import { firstLine, InputError } from '../errors.ts';
import { columnIndex, readCsvTable, type CsvTable } from './csv-table.ts';

/** Where the images and their labels are. */
export interface ImageSetOptions {
  /** Folder holding the images. */
  readonly images: string;
  /** CSV file with one row per image. */
  readonly labels: string;
  /** Column of `labels` holding each image's file name, relative to `images`. */
  readonly imageColumn: string;
  /**
   * Check only the rows `start .. end-1` (a shard of a large set: names outside it are not looked up on disk, and
   * `files` still has one entry per row).
   */
  readonly only?: { readonly start: number; readonly end: number };
  /** `labels` already read (readCsvTable), when the caller has it: not read again. */
  readonly table?: CsvTable;
}

/** A labels CSV whose rows name existing image files. */
export interface ImageLabels {
  readonly table: CsvTable;
  /** Path of the image of each CSV row (`images` joined with the row's file name). */
  readonly files: readonly string[];
}

/** How images are resized: see the module comment. */
export type ImageFit = 'contain' | 'cover' | 'fill';

/** Valid values of {@link ImageFit}, for messages and CLI flags. */
export const IMAGE_FITS: readonly ImageFit[] = ['contain', 'cover', 'fill'];

/** How {@link imageBatches} decodes. */
export interface ImageDecodeOptions {
  /** Side of the square output, in pixels. */
  readonly size: number;
  /** Default `'contain'` (pad with black, keep the aspect ratio). */
  readonly fit?: ImageFit;
  /** Fail on the first image that cannot be decoded instead of skipping it. Default false. */
  readonly strict?: boolean;
  /** Images per batch. Default 32. */
  readonly batchSize?: number;
  /** Batches decoded ahead of the consumer. Default 2. */
  readonly prefetch?: number;
  /** Told about every skipped image (one line, naming the file). */
  readonly onWarning?: (message: string) => void;
}

/** An image that was skipped because it could not be decoded. */
export interface SkippedImage {
  /** Index into the `files` given to {@link imageBatches}. */
  readonly index: number;
  readonly file: string;
  readonly reason: string;
}

/** Decoded images: `pixels` holds `rows.length` images of `size x size x 3` RGB bytes (0..255), row-major HWC. */
export interface ImageBatch {
  readonly pixels: Uint8Array;
  /** Index into `files` of each image in this batch (skipped images are absent). */
  readonly rows: readonly number[];
  readonly size: number;
  /** Files handled so far, including this batch and every skipped one (for progress). */
  readonly done: number;
  /** Images skipped so far (cumulative). */
  readonly skipped: readonly SkippedImage[];
}

/**
 * Read the labels CSV and resolve each row's image file. Errors: a missing folder or CSV, an unknown column
 * (listing the columns), an empty file name, a name leaving the folder (`../x.jpg`), or files that do not exist
 * (the message names up to 5 with their CSV lines and gives the count). Images in the folder that no row names
 * are ignored.
 *
 * @example
 * const { files } = readImageLabels({ images: 'utkface/images', labels: 'utkface/labels.csv', imageColumn: 'file' });
 * files.length; // 9778
 */
export function readImageLabels(options: ImageSetOptions): ImageLabels {
  const { images, labels, imageColumn } = options;
  let isDir = false;
  try {
    isDir = statSync(images).isDirectory();
  } catch {
    throw new InputError(`${images}: image folder not found (--images)`);
  }
  if (!isDir) throw new InputError(`${images}: is a file, expected a folder of images (--images)`);
  const table = options.table ?? readCsvTable(labels);
  const col = columnIndex(table, imageColumn, '--image-column');
  const root = resolve(images);
  const files: string[] = [];
  const missing: string[] = [];
  table.rows.forEach((row, r) => {
    const name = row[col] as string;
    const line = table.lines[r] as number;
    if (name === '') throw new InputError(`${labels}: line ${line}: column "${imageColumn}" is empty, expected an image file name`);
    if (isAbsolute(name) || normalize(name).split(/[\\/]/).includes('..')) {
      throw new InputError(`${labels}: line ${line}: image "${name}" must be a path inside ${images} (no absolute path, no "..")`);
    }
    const file = join(root, name);
    if (!file.startsWith(root + sep)) throw new InputError(`${labels}: line ${line}: image "${name}" is outside ${images}`);
    files.push(file);
    if (options.only && (r < options.only.start || r >= options.only.end)) return;
    let ok = false;
    try {
      ok = statSync(file).isFile();
    } catch {
      ok = false;
    }
    if (!ok) missing.push(`${name} (line ${line})`);
  });
  if (table.rows.length === 0) throw new InputError(`${labels}: no rows, expected one row per image`);
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, ... (${missing.length - 5} more)` : '');
    const checked = options.only ? options.only.end - options.only.start : table.rows.length;
    throw new InputError(`${labels}: ${missing.length} of ${checked} images named in column "${imageColumn}" are missing from ${images}: ${shown}`);
  }
  return { table, files };
}

/**
 * Decode one image to `size x size x 3` RGB bytes (see the module comment for `fit`). Rejects with sharp's error
 * when the file cannot be decoded (truncated JPEGs count as corrupt: sharp's `failOn: 'warning'`).
 *
 * @example
 * (await decodeImage('face.jpg', 112)).length; // 112 * 112 * 3 = 37632
 */
export async function decodeImage(file: string, size: number, fit: ImageFit = 'contain'): Promise<Uint8Array> {
  const { data, info } = await sharp(file, { failOn: 'warning' })
    .autoOrient()
    .resize(size, size, { fit, background: { r: 0, g: 0, b: 0 } })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== size * size * 3) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

type Decoded = { index: number; pixels: Uint8Array } | { index: number; error: string };

/**
 * Decode `files` in batches of RGB bytes, `prefetch` batches ahead of the consumer. Undecodable images are skipped
 * (with `onWarning` and in `skipped`) unless `strict`, which throws an {@link InputError}:
 * `face.jpg: cannot decode image (...); fix or remove it, or run without --strict to skip unreadable images`.
 *
 * @example
 * for await (const b of imageBatches(files, { size: 112 })) net.run(b.pixels, b.rows.length);
 */
export async function* imageBatches(files: readonly string[], options: ImageDecodeOptions): AsyncGenerator<ImageBatch, void, undefined> {
  const { size, fit = 'contain', strict = false, batchSize = 32, prefetch = 2, onWarning } = options;
  if (!Number.isInteger(size) || size < 1) throw new InputError(`image size must be a positive integer, received ${size}`);
  if (!IMAGE_FITS.includes(fit)) throw new InputError(`unknown image fit "${String(fit)}". Valid: ${IMAGE_FITS.join(', ')}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InputError(`batch size must be a positive integer, received ${batchSize}`);
  const decodeBatch = (start: number): Promise<Decoded[]> => {
    const jobs: Promise<Decoded>[] = [];
    for (let i = start; i < Math.min(start + batchSize, files.length); i++) {
      jobs.push(
        decodeImage(files[i] as string, size, fit).then(
          (pixels) => ({ index: i, pixels }),
          (error: unknown) => ({ index: i, error: firstLine(error instanceof Error ? error.message : String(error)) }),
        ),
      );
    }
    return Promise.all(jobs);
  };
  const queue: Promise<Decoded[]>[] = [];
  let next = 0;
  const fill = (): void => {
    while (queue.length <= prefetch && next < files.length) {
      queue.push(decodeBatch(next));
      next += batchSize;
    }
  };
  const skipped: SkippedImage[] = [];
  let done = 0;
  fill();
  while (queue.length > 0) {
    const decoded = await (queue.shift() as Promise<Decoded[]>);
    fill();
    const rows: number[] = [];
    const parts: Uint8Array[] = [];
    for (const d of decoded) {
      if ('error' in d) {
        const file = files[d.index] as string;
        if (strict) {
          throw new InputError(`${file}: cannot decode image (${d.error}); fix or remove it, or run without --strict to skip unreadable images`);
        }
        skipped.push({ index: d.index, file, reason: d.error });
        onWarning?.(`${file}: skipped, cannot decode image (${d.error})`);
        continue;
      }
      rows.push(d.index);
      parts.push(d.pixels);
    }
    done += decoded.length;
    const pixels = new Uint8Array(rows.length * size * size * 3);
    parts.forEach((p, k) => pixels.set(p, k * size * size * 3));
    yield { pixels, rows, size, done, skipped: [...skipped] };
  }
}

