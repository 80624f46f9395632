import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsvBytes, parseCsvText } from '../../src/data/csv-table.ts';

/**
 * A minimal RFC 4180 writer, as Python's csv module or pandas' to_csv write: a field is quoted when it holds the
 * delimiter, a quote, CR or LF (or, since the reader trims padding, leading or trailing white space); quotes are
 * doubled; records end with `eol`. Quoted fields keep their white space; the reader trims only unquoted padding.
 */
function writeCsv(rows: readonly (readonly string[])[], delimiter = ',', eol = '\r\n'): string {
  const field = (v: string): string =>
    v.includes(delimiter) || /["\r\n]/.test(v) || v !== v.trim() ? `"${v.replace(/"/g, '""')}"` : v;
  return rows.map((r) => r.map(field).join(delimiter)).join(eol) + eol;
}

// Characters that stress a CSV reader: delimiters, quotes, line breaks, spaces, non-ASCII (2-, 3- and 4-byte UTF-8).
const tricky = fc.constantFrom(',', ';', '\t', '"', '\n', '\r\n', ' ', 'a', 'b', 'Z', '0', '9', '.', '-', 'é', '中', '🙂', '?');
const cell = fc.array(tricky, { maxLength: 6 }).map((cs) => cs.join(''));
// Header names hold no unquoted ';' or tab: the delimiter is guessed from the header line (the most frequent of
// , ; TAB outside quotes), so a comma-separated header whose names are full of semicolons reads as ';'-separated.
const name = fc.array(tricky.filter((c) => c !== ';' && c !== '\t'), { minLength: 1, maxLength: 6 }).map((cs) => cs.join('')).filter((s) => s.trim() !== '');
/** A table of 2..5 columns, 1..6 rows; no row made only of empty cells (a blank line, skipped by design). */
const table = fc.integer({ min: 2, max: 5 }).chain((cols) =>
  fc.tuple(
    fc.uniqueArray(name, { minLength: cols, maxLength: cols, selector: (s) => s.trim() }),
    fc.array(fc.array(cell, { minLength: cols, maxLength: cols }), { minLength: 1, maxLength: 6 }),
  ),
);

describe('reading back what a standard CSV writer wrote', () => {
  it('gives the same header and cells for any table, with LF or CRLF line ends', () => {
    fc.assert(
      fc.property(table, fc.constantFrom('\n', '\r\n'), ([header, rows], eol) => {
        const text = writeCsv([header, ...rows], ',', eol);
        const t = parseCsvText(text, 'gen.csv');
        expect(t.header).toEqual(header);
        expect(t.rows).toEqual(rows);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same table from UTF-8 bytes with and without a byte order mark', () => {
    fc.assert(
      fc.property(table, fc.boolean(), ([header, rows], bom) => {
        const text = (bom ? '\uFEFF' : '') + writeCsv([header, ...rows]);
        const t = parseCsvBytes(new TextEncoder().encode(text), 'gen.csv');
        expect(t.header).toEqual(header);
        expect(t.rows).toEqual(rows);
      }),
      { numRuns: 200 },
    );
  });

  it('reads unquoted padding (", " as in UCI files) as no padding', () => {
    fc.assert(
      fc.property(table, ([header, rows]) => {
        const plain = (v: string): string => v.replace(/[",;\t\r\n"]/g, '').trim();
        const h = header.map(plain).map((v, i) => `${v}c${i}`);
        const r = rows.map((row) => row.map(plain));
        const t = parseCsvText([h, ...r].map((row) => row.join(' ,  ')).join('\n'), 'gen.csv');
        expect(t.header).toEqual(h);
        expect(t.rows).toEqual(r.filter((row) => row.some((v) => v !== '') || row.length > 1));
      }),
      { numRuns: 200 },
    );
  });

  it('numbers each row by its line in the file when no field spans lines', () => {
    const flat = fc.array(fc.constantFrom(',', '"', ' ', 'a', '0', 'é'), { maxLength: 5 }).map((cs) => cs.join(''));
    fc.assert(
      fc.property(fc.array(fc.tuple(flat, flat), { minLength: 1, maxLength: 8 }), (rows) => {
        const t = parseCsvText(writeCsv([['a', 'b'], ...rows], ',', '\n'), 'gen.csv');
        expect(t.lines).toEqual(rows.map((_, i) => i + 2));
      }),
      { numRuns: 100 },
    );
  });
});
