/**
 * Physical lines of CSV records, for messages. csv-parse's `info.lines` is not the line where a record starts: it is
 * where the record ends, and its count drifts when quoted fields span lines (with CRLF line ends most of all). The
 * byte offsets it gives are exact, so the line is counted here from the bytes: a record starts at the first byte
 * that is not white space after the end of the record before it (blank lines are skipped, as by the readers).
 * Line breaks are LF, CRLF or a lone CR, each counting one line. @internal
 */
export class RecordLines {
  private offset = 0;
  private line = 1;

  /** `bytes`: the text as csv-parse saw it (UTF-8, offsets as in its `info.bytes`). */
  constructor(private readonly bytes: Uint8Array) {}

  /**
   * The 1-based line where the record after byte `end` starts (`end`: csv-parse's `info.bytes` of the record before
   * it, 0 for the first). Calls must give non-decreasing offsets; each byte is read once over all calls.
   *
   * @example
   * const lines = new RecordLines(Buffer.from('a,b\n"x\ny",1\n\n3,4\n'));
   * [lines.startAfter(0), lines.startAfter(4), lines.startAfter(12)]; // [1, 2, 5]
   */
  startAfter(end: number): number {
    const b = this.bytes;
    let i = Math.max(this.offset, 0);
    let line = this.line;
    const step = (): void => {
      const c = b[i];
      if (c === 10 || (c === 13 && b[i + 1] !== 10)) line++;
      i++;
    };
    while (i < end && i < b.length) step();
    // skip blank lines and padding before the record's first byte
    while (i < b.length && (b[i] === 32 || b[i] === 9 || b[i] === 10 || b[i] === 13)) step();
    this.offset = i;
    this.line = line;
    return line;
  }
}

/**
 * The message of an error csv-parse threw, without its own "at line N" (which counts lines differently), on one line.
 *
 * @example
 * parserMessage(new Error('Quote Not Closed: the parsing is finished with an opening quote at line 9'));
 * // 'Quote Not Closed: the parsing is finished with an opening quote'
 */
export function parserMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? text).replace(/ at line \d+/g, '');
}
