import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { InputError } from '../errors.ts';
import { parserMessage, RecordLines } from './_internal/record-lines.ts';

/**
 * A CSV file read into strings: one header, then rows of exactly as many fields.
 *
 * Accepted: UTF-8 with or without BOM, LF or CRLF, quoted fields with commas, quotes and newlines, fields padded
 * with spaces (trimmed; UCI files use ", "), comma, semicolon or tab delimiters (guessed from the header line).
 * Refused with an {@link InputError} naming the file and line: an empty file, invalid UTF-8, a row with another
 * number of fields than the header, an empty header name, a quote that never closes. A line is the physical line
 * (LF, CRLF or CR) where the record starts, also when quoted fields before it or in it span several lines.
 */
export interface CsvTable {
  readonly source: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  /** 1-based line of each row in the file, where the row starts (for error messages). */
  readonly lines: readonly number[];
}

/** Read and check a CSV file. */
export function readCsvTable(file: string): CsvTable {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputError(`${file}: file not found`);
    if (code === 'EISDIR') throw new InputError(`${file}: is a folder, expected a CSV file`);
    throw new InputError(`${file}: cannot read (${code ?? String(error)})`);
  }
  return parseCsvBytes(bytes, file);
}

/** Parse CSV bytes; `source` names the input in errors. */
export function parseCsvBytes(bytes: Uint8Array, source: string): CsvTable {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    throw new InputError(`${source}: line ${lineAt(bytes, at)} is not valid UTF-8 (byte ${at}); re-save the file as UTF-8`);
  }
  return parseCsvText(text, source);
}

/** Parse CSV text; `source` names the input in errors. */
export function parseCsvText(text: string, source: string): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new InputError(`${source}: file is empty, expected a header line and rows`);
  const delimiter = guessDelimiter(text);
  // the line where each record starts, counted from csv-parse's byte offsets (see RecordLines)
  const lineCounter = new RecordLines(Buffer.from(text, 'utf8'));
  let end = 0;
  const starts: number[] = [];
  let records: string[][];
  try {
    records = parse(text, {
      delimiter,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      on_record: (record, context) => {
        starts.push(lineCounter.startAfter(end));
        end = context.bytes;
        return record;
      },
    });
  } catch (error) {
    throw new InputError(`${source}: line ${lineCounter.startAfter(end)}: ${parserMessage(error)}`);
  }
  const header = records[0];
  if (!header) throw new InputError(`${source}: file is empty, expected a header line and rows`);
  header.forEach((name, i) => {
    if (name === '') throw new InputError(`${source}: header column ${i + 1} has no name`);
  });
  const rows: string[][] = [];
  const lines: number[] = [];
  for (let r = 1; r < records.length; r++) {
    const record = records[r] as string[];
    const line = starts[r] as number;
    if (record.length === 1 && record[0] === '') continue;
    if (record.length !== header.length) throw new InputError(`${source}: ${fieldCountProblem(line, record.length, header.length)}`);
    rows.push(record);
    lines.push(line);
  }
  return { source, header, rows, lines };
}

/**
 * Index of column `name` in `table`. Errors when it is missing (listing the columns there are) or when the
 * header holds it more than once (ambiguous).
 */
export function columnIndex(table: CsvTable, name: string, option = 'column'): number {
  const found: number[] = [];
  table.header.forEach((h, i) => {
    if (h === name) found.push(i);
  });
  if (found.length === 0) {
    const shown = table.header.slice(0, 20).join(', ') + (table.header.length > 20 ? ', ...' : '');
    throw new InputError(`${table.source}: ${option} "${name}" not found; columns are: ${shown}`);
  }
  if (found.length > 1) {
    throw new InputError(`${table.source}: ${option} "${name}" appears ${found.length} times in the header (columns ${found.map((i) => i + 1).join(', ')}); rename one`);
  }
  return found[0] as number;
}

/** The values of column `name`. */
export function columnValues(table: CsvTable, name: string, option = 'column'): string[] {
  const j = columnIndex(table, name, option);
  return table.rows.map((row) => row[j] as string);
}

/** The delimiter used most often in the header record, counting only characters outside quoted fields. */
function guessDelimiter(text: string): string {
  let head = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted) head += ch;
  }
  const counts = [',', ';', '\t'].map((d) => [d, head.split(d).length - 1] as const);
  counts.sort((a, b) => b[1] - a[1]);
  const best = counts[0] as readonly [string, number];
  return best[1] > 0 ? best[0] : ',';
}

/**
 * The message for a record with another number of fields than the header, after the file name.
 *
 * @example
 * fieldCountProblem(6, 2, 3); // 'line 6 has 2 fields, expected 3 (as in the header)'
 */
export function fieldCountProblem(line: number, fields: number, expected: number): string {
  return `line ${line} has ${fields} field${fields === 1 ? '' : 's'}, expected ${expected} (as in the header)`;
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const extra = b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (extra < 0) return i;
    for (let k = 1; k <= extra; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
    }
    i += extra + 1;
  }
  return bytes.length;
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < bytes.length; i++) if (bytes[i] === 10) line++;
  return line;
}
