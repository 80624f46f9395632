/**
 * Every CSV reader names the physical line where a bad record starts, also when quoted fields before it (or in it)
 * span several lines, with LF or CRLF line ends, and after blank lines.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsvBytes, parseCsvText, readCsvTable } from '../../src/data/csv-table.ts';
import { readImageLabels } from '../../src/data/images.ts';
import { readNumericCsv } from '../../src/data/numeric-csv.ts';
import { writeNpy } from '../../src/data/npy.ts';
import { encodeTabular, fitTabularEncoding } from '../../src/data/tabular.ts';
import { prepareData } from '../../src/pipeline/prepare.ts';

const dir = mkdtempSync(join(tmpdir(), 'fairhead-csv-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
function file(text: string, name = `t${n++}.csv`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}
const crlf = (text: string): string => text.replace(/\n/g, '\r\n');

// line 1 header; line 2 a record whose note spans lines 2-4; line 5 a good record
const MULTI = 'id,note,y\n1,"first\nsecond\nthird",0\n2,plain,1\n';

describe('readCsvTable (csv-table.ts)', () => {
  it('names the line of a short record after a quoted field spanning three lines, with LF and CRLF', () => {
    for (const text of [`${MULTI}3,short\n`, crlf(`${MULTI}3,short\n`)]) {
      expect(() => parseCsvText(text, 't.csv')).toThrow('t.csv: line 6 has 2 fields, expected 3 (as in the header)');
    }
  });

  it('names the line where a bad record starts when the record itself spans lines', () => {
    // the record opens on line 3 and ends on line 4
    expect(() => parseCsvText('id,note,y\n1,a,0\n2,"b\nc"\n4,d,1\n', 't.csv')).toThrow('t.csv: line 3 has 2 fields, expected 3 (as in the header)');
  });

  it('names the line where a never-closed quote opens, after blank lines and a multi-line field', () => {
    const text = `${MULTI}\n\n3,"open,1\n4,x,0\n`;
    expect(() => parseCsvText(text, 't.csv')).toThrow(/^t\.csv: line 8: /);
    expect(() => parseCsvText(crlf(text), 't.csv')).toThrow(/^t\.csv: line 8: /);
  });

  it('gives each row the line where it starts', () => {
    expect(parseCsvText(`${MULTI}\n3,x,0\n`, 't.csv').lines).toEqual([2, 5, 7]);
    expect(parseCsvText(crlf(`${MULTI}\n3,x,0\n`), 't.csv').lines).toEqual([2, 5, 7]);
    // a BOM and multi-byte characters do not shift the count
    const bytes = new TextEncoder().encode(`\uFEFFid,note,y\n1,"é\nü",0\n2,ß,1\n`);
    expect(parseCsvBytes(bytes, 't.csv').lines).toEqual([2, 4]);
  });

  it('names the line where a multi-line record starts in later errors (tabular target)', () => {
    const train = parseCsvText('x,g,y\n1,a,0\n2,b,1\n', 'train.csv');
    const enc = fitTabularEncoding(train, { target: 'y', sensitive: ['g'] });
    // line 3 opens a quoted group name ending on line 4; its target 7 is unknown
    const test = readCsvTable(file('x,g,y\n1,a,0\n2,"b\nb",7\n'));
    expect(() => encodeTabular(test, enc)).toThrow(/line 3: target "7" is not a training class/);
  });
});

describe('readImageLabels (images.ts)', () => {
  it('names the line of an empty file name after a multi-line quoted field', async () => {
    const images = join(dir, 'img');
    mkdirSync(images, { recursive: true });
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(join(images, 'a.png'));
    const labels = file(crlf('file,note,y\na.png,"two\nlines",0\n,x,1\n'));
    expect(() => readImageLabels({ images, labels, imageColumn: 'file' })).toThrow(`${labels}: line 4: column "file" is empty, expected an image file name`);
  });
});

describe('readNumericCsv (numeric-csv.ts)', () => {
  it('refuses a quoted field spanning lines, naming the line where it opens (after a blank line)', () => {
    const path = file('f0,note\n1,a\n\n2,"b\nc"\n');
    expect(() => readNumericCsv(path, { text: ['note'] })).toThrow(`${path}: line 4: a quoted field in column "note" does not end on this line`);
  });

  it('names the line of a bad number with CRLF line ends and blank lines', () => {
    const path = file(crlf('f0,note\n1,a\n\n\nx,b\n'));
    expect(() => readNumericCsv(path, { text: ['note'] })).toThrow(`${path}: line 5, column "f0": expected a finite number, received "x"`);
  });
});

describe('the labels CSV of embeddings streamed from disk (on-disk.ts)', () => {
  it('names the line of a short record after a multi-line quoted field, with CRLF line ends', async () => {
    const rows = 40;
    const npy = join(dir, 'emb.npy');
    writeNpy(npy, new Float32Array(rows * 4).map((_, i) => (i % 7) / 7), [rows, 4]);
    const lines = ['y,g,note', '0,a,"one\ntwo"'];
    for (let i = 1; i < rows; i++) lines.push(i === 5 ? '1,b' : `${i % 2},${i % 3 === 0 ? 'a' : 'b'},x`);
    // header line 1, the two-line record on lines 2-3, record i on line i + 3: the short record is on line 8
    const labels = file(crlf(`${lines.join('\n')}\n`));
    await expect(prepareData({ embeddings: npy, labels, backbone: 'embeddings', target: 'y', sensitive: ['g'], maxMemory: 64 })).rejects.toThrow(
      `${labels}: line 8 has 2 fields, expected 3 (as in the header)`,
    );
  });
});
