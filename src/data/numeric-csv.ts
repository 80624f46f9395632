import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError, ShapeError } from '../errors.ts';
import { matrix, type Matrix } from './matrix.ts';
import { fieldCountProblem } from './csv-table.ts';

/** Which columns of an embedding CSV to read, and how. */
export interface NumericCsvOptions {
  /**
   * Feature columns, in this order. Default: the columns named `f0`, `f1`, ... (sorted by number) when the header
   * has any; otherwise every column except the `text` columns whose first data row holds a number.
   */
  readonly features?: readonly string[];
  /** Columns kept as strings (labels, groups, ids); each must exist. */
  readonly text: readonly string[];
}

/** An embedding CSV: the feature matrix plus the requested text columns. */
export interface NumericCsv {
  readonly source: string;
  readonly header: readonly string[];
  readonly featureColumns: readonly string[];
  readonly x: Matrix;
  /** Values of each `text` column, in the order asked for. */
  readonly text: readonly (readonly string[])[];
  /** 1-based file line of each row. */
  readonly lines: Int32Array;
}

const CHUNK = 1 << 22;
const POW10 = Array.from({ length: 309 }, (_, i) => Number(`1e${i}`));

/**
 * Read a large numeric CSV (e.g. 160,000 x 512 embeddings, about 1 GB) in one pass: the file is read in 4 MB
 * chunks and each number is parsed straight from the bytes (no string per cell); only the `text` columns become
 * strings. Same dialect as {@link readCsvTable} (header line; comma, semicolon or tab, guessed from the header;
 * spaces around fields trimmed; UTF-8 BOM; LF or CRLF; quoted fields on one line; empty lines skipped). A first
 * column without a header name (the index pandas' `to_csv` writes) is skipped.
 *
 * Errors (naming file, line and column): a row with another number of fields than the header, a feature cell that
 * is empty or not a finite number (NaN/Inf embeddings are refused), a missing column, no feature column, a quoted
 * field spanning lines.
 *
 * @example
 * // emb.csv: "f0,f1,label\n0.5,-1,yes\n2,3e-1,no\n"
 * const t = readNumericCsv('emb.csv', { text: ['label'] });
 * t.x.data; // Float32Array [0.5, -1, 2, 0.3]; t.text[0] -> ['yes', 'no']
 */
export function readNumericCsv(file: string, options: NumericCsvOptions): NumericCsv {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: ${code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, expected a CSV file' : `cannot read (${code ?? String(error)})`}`);
  }
  try {
    const size = fstatSync(fd).size;
    const reader = new Reader(file, size, options);
    const chunk = Buffer.allocUnsafe(CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      const n = readSync(fd, chunk, 0, CHUNK, null);
      if (n === 0) break;
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      const end = buf.lastIndexOf(10) + 1;
      if (end > 0) reader.lines(buf, 0, end);
      carry = Buffer.from(buf.subarray(end));
    }
    if (carry.length > 0) reader.lines(carry, 0, carry.length);
    return reader.finish();
  } finally {
    closeSync(fd);
  }
}

/** Parse a decimal number in bytes[s, e) (already trimmed); NaN when the bytes are not a plain decimal number. */
function parseDecimal(b: Uint8Array, s: number, e: number): number {
  const v = parsePrefix(b, s, e);
  return parsedEnd === e ? v : Number.NaN;
}

/** Where {@link parsePrefix} stopped. */
let parsedEnd = 0;

/**
 * Parse the longest decimal number (`[+-]digits[.digits][e[+-]digits]`) starting at bytes[s], before e; sets
 * `parsedEnd` to the first byte after it. NaN when there are no digits. Up to 15 significant digits are used
 * (exact in a double), then scaled by an exact power of ten: within one double ulp, so float32 results match Number().
 */
function parsePrefix(b: Uint8Array, s: number, e: number): number {
  let i = s;
  let neg = false;
  let c = b[i];
  if (c === 45 || c === 43) {
    neg = c === 45;
    i++;
  }
  let mant = 0;
  let sig = 0;
  let exp10 = 0;
  let digits = 0;
  while (i < e) {
    c = b[i] as number;
    if (c < 48 || c > 57) break;
    digits++;
    if (sig < 15) {
      mant = mant * 10 + (c - 48);
      if (mant > 0) sig++;
    } else exp10++;
    i++;
  }
  if (i < e && b[i] === 46) {
    i++;
    while (i < e) {
      c = b[i] as number;
      if (c < 48 || c > 57) break;
      digits++;
      if (sig < 15) {
        mant = mant * 10 + (c - 48);
        if (mant > 0) sig++;
        exp10--;
      }
      i++;
    }
  }
  if (digits === 0) {
    parsedEnd = i;
    return Number.NaN;
  }
  if (i < e && (b[i] === 101 || b[i] === 69)) {
    i++;
    let eneg = false;
    if (b[i] === 45 || b[i] === 43) {
      eneg = b[i] === 45;
      i++;
    }
    let ev = 0;
    let ed = 0;
    while (i < e) {
      c = b[i] as number;
      if (c < 48 || c > 57) break;
      if (ev < 100000) ev = ev * 10 + (c - 48);
      ed++;
      i++;
    }
    if (ed === 0) {
      parsedEnd = i;
      return Number.NaN;
    }
    exp10 += eneg ? -ev : ev;
  }
  parsedEnd = i;
  let v: number;
  if (mant === 0) v = 0;
  else if (exp10 >= 0) v = exp10 <= 308 ? mant * (POW10[exp10] as number) : Infinity;
  else if (exp10 >= -308) v = mant / (POW10[-exp10] as number);
  else v = mant / 1e308 / (POW10[Math.min(-exp10 - 308, 308)] as number);
  return neg ? -v : v;
}

/** Streaming state: header, column roles, growing output. */
class Reader {
  private header: string[] | null = null;
  private delimiter = 44;
  /** Per column: -1 skip, k >= 0 feature k, -2 - t text column t. */
  private roles: Int32Array = new Int32Array(0);
  private featureColumns: string[] = [];
  private dim = 0;
  private data = new Float32Array(0);
  private rows = 0;
  private lineNo = 0;
  private lineList: number[] = [];
  private readonly text: string[][];

  constructor(
    private readonly source: string,
    private readonly size: number,
    private readonly options: NumericCsvOptions,
  ) {
    this.text = options.text.map(() => []);
  }

  /** Process the complete lines in buf[start, end). */
  lines(buf: Buffer, start: number, end: number): void {
    let s = start;
    while (s < end) {
      let nl = buf.indexOf(10, s);
      if (nl < 0 || nl >= end) nl = end;
      this.lineNo++;
      let e = nl;
      if (e > s && buf[e - 1] === 13) e--;
      if (this.lineNo === 1 && e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3;
      if (!isBlank(buf, s, e)) {
        if (this.header === null) this.readHeader(buf.toString('utf8', s, e));
        else this.row(buf, s, e);
      }
      s = nl + 1;
    }
  }

  private readHeader(line: string): void {
    const counts = [44, 59, 9].map((d) => [d, line.split(String.fromCharCode(d)).length - 1] as const);
    counts.sort((a, b) => b[1] - a[1]);
    const best = counts[0] as readonly [number, number];
    this.delimiter = best[1] > 0 ? best[0] : 44;
    this.header = splitHeader(line, String.fromCharCode(this.delimiter));
    this.header.forEach((name, i) => {
      // pandas' to_csv writes its index as a first column without a name: skipped, never a feature
      if (name === '' && i > 0) throw new InputError(`${this.source}: header column ${i + 1} has no name`);
    });
  }

  private column(name: string, option: string): number {
    const header = this.header as string[];
    const found = header.flatMap((h, i) => (h === name ? [i] : []));
    if (found.length === 0) {
      const shown = header.slice(0, 20).join(', ') + (header.length > 20 ? ', ...' : '');
      throw new InputError(`${this.source}: ${option} "${name}" not found; columns are: ${shown}`);
    }
    if (found.length > 1) throw new InputError(`${this.source}: ${option} "${name}" appears ${found.length} times in the header; rename one`);
    return found[0] as number;
  }

  /** Decide the column roles from the header and the first data row. */
  private decideRoles(buf: Buffer, s: number, e: number): void {
    const header = this.header as string[];
    const roles = new Int32Array(header.length).fill(-1);
    const textJ = this.options.text.map((name) => this.column(name, 'column'));
    textJ.forEach((j, t) => (roles[j] = -2 - t));
    let featureJ: number[];
    if (this.options.features) {
      featureJ = this.options.features.map((name) => this.column(name, 'feature column'));
    } else {
      const named = header.flatMap((h, j) => (/^f\d+$/.test(h) && !textJ.includes(j) ? [j] : []));
      if (named.length > 0) {
        featureJ = named.sort((a, b) => Number(header[a]?.slice(1)) - Number(header[b]?.slice(1)));
      } else {
        const cells = this.fields(buf, s, e);
        featureJ = header.flatMap((_, j) => {
          if (textJ.includes(j) || header[j] === '') return [];
          const [a, z] = cells[j] as [number, number];
          return Number.isFinite(parseDecimal(buf, a, z)) ? [j] : [];
        });
      }
    }
    for (const j of featureJ) {
      if ((roles[j] as number) <= -2) throw new InputError(`${this.source}: column "${header[j]}" cannot be both a feature and a label/group column`);
    }
    featureJ.forEach((j, k) => (roles[j] = k));
    if (featureJ.length === 0) {
      throw new InputError(`${this.source}: no numeric feature columns (expected f0, f1, ... or numeric columns besides ${this.options.text.join(', ') || 'the label'}); columns are: ${header.slice(0, 20).join(', ')}`);
    }
    this.roles = roles;
    this.dim = featureJ.length;
    this.featureColumns = featureJ.map((j) => header[j] as string);
    const estimate = Math.ceil((this.size / Math.max(1, e - s + 1)) * 1.05) + 16;
    this.data = new Float32Array(estimate * this.dim);
  }

  /** [start, end) of every field of the line (trimmed, quotes excluded); for the first-row type check. */
  private fields(buf: Buffer, s: number, e: number): [number, number][] {
    const out: [number, number][] = [];
    let i = s;
    for (;;) {
      let a = i;
      while (a < e && buf[a] === 32) a++;
      let z = a;
      while (z < e && buf[z] !== this.delimiter) z++;
      let t = z;
      while (t > a && buf[t - 1] === 32) t--;
      if (buf[a] === 34 && t - a >= 2 && buf[t - 1] === 34) out.push([a + 1, t - 1]);
      else out.push([a, t]);
      if (z >= e) break;
      i = z + 1;
    }
    return out;
  }

  private row(buf: Buffer, s: number, e: number): void {
    if (this.rows === 0 && this.dim === 0) this.decideRoles(buf, s, e);
    const roles = this.roles;
    const ncols = roles.length;
    const dim = this.dim;
    if ((this.rows + 1) * dim > this.data.length) {
      const grown = new Float32Array(Math.ceil(this.data.length * 1.5) + dim * 16);
      grown.set(this.data);
      this.data = grown;
    }
    const base = this.rows * dim;
    const d = this.delimiter;
    let i = s;
    let j = 0;
    for (;;) {
      if (j >= ncols) {
        throw new InputError(`${this.source}: line ${this.lineNo} has more than ${ncols} fields, expected ${ncols} (as in the header)`);
      }
      const role = roles[j] as number;
      if (role >= 0) {
        // fast path: a plain number directly followed by the delimiter or the line end
        const v = parsePrefix(buf, i, e);
        const end = parsedEnd;
        if (end > i && (end === e || buf[end] === d) && v === v) {
          this.data[base + role] = v;
          i = end;
          j++;
          if (i >= e) break;
          i++;
          if (i === e) this.trailingField(j++, ncols);
          if (i === e) break;
          continue;
        }
      }
      while (i < e && (buf[i] === 32 || (buf[i] === 9 && d !== 9))) i++;
      let a = i;
      let z: number;
      let quoted = false;
      if (buf[i] === 34) {
        quoted = true;
        a = i + 1;
        let q = a;
        for (;;) {
          q = buf.indexOf(34, q);
          if (q < 0 || q >= e) {
            throw new InputError(`${this.source}: line ${this.lineNo}: a quoted field in column "${this.header?.[j]}" does not end on this line; embedding CSVs must keep each row on one line`);
          }
          if (buf[q + 1] === 34) q += 2;
          else break;
        }
        z = q;
        i = q + 1;
        while (i < e && buf[i] !== d) i++;
      } else {
        while (i < e && buf[i] !== d) i++;
        z = i;
        while (z > a && (buf[z - 1] === 32 || (buf[z - 1] === 9 && d !== 9))) z--;
      }
      if (role >= 0) {
        const v = parseDecimal(buf, a, z);
        if (!Number.isFinite(v)) {
          const cell = buf.toString('utf8', a, z);
          const other = Number(cell);
          if (cell === '' || !Number.isFinite(other)) {
            throw new InputError(`${this.source}: line ${this.lineNo}, column "${this.header?.[j]}": expected a finite number, received ${JSON.stringify(cell)}`);
          }
          this.data[base + role] = other;
        } else {
          this.data[base + role] = v;
        }
      } else if (role <= -2) {
        let value = buf.toString('utf8', a, z);
        if (quoted) value = value.replaceAll('""', '"');
        (this.text[-2 - role] as string[]).push(value);
      }
      j++;
      if (i >= e) break;
      i++; // skip the delimiter
      if (i === e) {
        this.trailingField(j++, ncols);
        break;
      }
    }
    if (j !== ncols) {
      throw new InputError(`${this.source}: ${fieldCountProblem(this.lineNo, j, ncols)}`);
    }
    this.lineList.push(this.lineNo);
    this.rows++;
  }

  /** A line ending in a delimiter: field j is empty. */
  private trailingField(j: number, ncols: number): void {
    if (j >= ncols) throw new InputError(`${this.source}: line ${this.lineNo} has more than ${ncols} fields, expected ${ncols} (as in the header)`);
    const r = this.roles[j] as number;
    if (r >= 0) throw new InputError(`${this.source}: line ${this.lineNo}, column "${this.header?.[j]}": expected a finite number, received ""`);
    if (r <= -2) (this.text[-2 - r] as string[]).push('');
  }

  finish(): NumericCsv {
    if (this.header === null) throw new InputError(`${this.source}: file is empty, expected a header line and rows`);
    if (this.rows === 0) throw new InputError(`${this.source}: no data rows after the header`);
    const n = this.rows * this.dim;
    const data = this.data.length > n * 1.1 ? this.data.slice(0, n) : this.data.subarray(0, n);
    if (data.length !== n) throw new ShapeError(`${this.source}: internal size mismatch`);
    return {
      source: this.source,
      header: this.header,
      featureColumns: this.featureColumns,
      x: matrix(data, this.rows, this.dim),
      text: this.text,
      lines: Int32Array.from(this.lineList),
    };
  }
}

function isBlank(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) {
    const c = buf[i];
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

function splitHeader(line: string, delimiter: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (inQuotes) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') inQuotes = false;
      else cur += ch;
    } else if (ch === '"' && cur.trim() === '') {
      inQuotes = true;
      cur = '';
    } else if (ch === delimiter) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}
