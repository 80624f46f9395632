/**
 * The error hierarchy of fairhead.
 *
 * Every error a user can cause (a bad file, a missing column, an unknown option) is an {@link InputError}
 * or {@link ShapeError}; the CLI prints its one-line message and exits with code 2. Anything else is an
 * internal failure: exit code 1 (stack trace only with `--debug`).
 *
 * @example
 * throw new InputError('adult.csv: row 12 has 14 fields, expected 15 (header)');
 */
export class FairheadError extends Error {
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A user's mistake in a file, column, row or option: exit code 2. */
export class InputError extends FairheadError {
  override readonly exitCode: number = 2;
}

/** Arrays or matrices whose sizes do not agree (a user's data or model): exit code 2. */
export class ShapeError extends FairheadError {
  override readonly exitCode: number = 2;
}

/** An optimiser that did not converge or produced non-finite values: exit code 1. */
export class ConvergenceError extends FairheadError {}

/** True for errors caused by the user's input (exit code 2). */
export function isUserError(error: unknown): error is FairheadError {
  return error instanceof FairheadError && error.exitCode === 2;
}

/**
 * The {@link InputError} for a file that could not be opened or read: "FILE: file not found" or "FILE: cannot read
 * (CODE)".
 *
 * @example
 * try { fd = openSync(file, 'r'); } catch (error) { throw fileReadError(file, error); }
 */
export function fileReadError(file: string, error: unknown): InputError {
  const code = (error as NodeJS.ErrnoException).code;
  return new InputError(`${file}: ${code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(error)})`}`);
}

/** The first line of an error message, trimmed: what a one-line error quotes of a library's message. */
export function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).trim();
}
