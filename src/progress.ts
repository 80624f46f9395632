/**
 * Progress bars for long steps (embedding images, sweeps): a small {@link Progress} interface every stage reports
 * to, and {@link createProgress}, which draws a cli-progress bar with rate and ETA on stderr.
 *
 * The bar is drawn only when the stream is a TTY (or `force`), never with `quiet`, and only once the step has run
 * for `delayMs` (default 1000 ms): steps shorter than a second print nothing. Without a terminal and with `force`,
 * it prints one line every 2 s instead of redrawing.
 */
import { createRequire } from 'node:module';

/** What a long-running step reports to. `stop()` must be called (use try/finally): it ends the line. */
export interface Progress {
  /** Set the number of units done so far (0..total). */
  update(done: number): void;
  /** Add `by` units (default 1). */
  increment(by?: number): void;
  /** Finish: draws the last state (if the bar was shown) and releases the terminal. Safe to call twice. */
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Short name printed before the bar, e.g. "embedding images". */
  readonly label: string;
  /** Units in the whole step. */
  readonly total: number;
  /** Unit name for the rate, e.g. "img" gives "35.2 img/s". Default "it". */
  readonly unit?: string;
  /** Print nothing (the CLI's `--quiet`). */
  readonly quiet?: boolean;
  /** Draw even when the stream is not a TTY (e.g. logs in CI). */
  readonly force?: boolean;
  /** Show the bar only after this many milliseconds. Default 1000. */
  readonly delayMs?: number;
  /** Where to draw. Default `process.stderr`. */
  readonly stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** A {@link Progress} that ignores every call. */
export const silentProgress: Progress = Object.freeze({
  update(): void {},
  increment(): void {},
  stop(): void {},
});

interface CliBar {
  start(total: number, startValue: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}
interface CliProgressModule {
  SingleBar: new (options: Record<string, unknown>) => CliBar;
}

const require = createRequire(import.meta.url);

/**
 * A progress bar, or {@link silentProgress} when nothing would be shown (quiet, or no TTY and not forced).
 *
 * Line format: `embedding images [=====-----] 52% | 5100/9780 img | 35.2 img/s | ETA 2m13s`.
 *
 * @example
 * const bar = createProgress({ label: 'embedding images', total: files.length, unit: 'img' });
 * try { for (...) bar.update(done); } finally { bar.stop(); }
 */
export function createProgress(options: ProgressOptions): Progress {
  const { label, total, unit = 'it', quiet = false, force = false, delayMs = 1000 } = options;
  const stream = options.stream ?? process.stderr;
  if (quiet || (!stream.isTTY && !force)) return silentProgress;
  const { SingleBar } = require('cli-progress') as CliProgressModule;
  const startedAt = Date.now();
  let done = 0;
  let bar: CliBar | undefined;
  let stopped = false;
  const payload = (): Record<string, unknown> => {
    const seconds = (Date.now() - startedAt) / 1000;
    return { rate: seconds > 0 ? (done / seconds).toFixed(1) : '0.0', unit };
  };
  const show = (): void => {
    if (stopped) return;
    if (!bar) {
      if (Date.now() - startedAt < delayMs) return;
      bar = new SingleBar({
        format: `${label} [{bar}] {percentage}% | {value}/{total} {unit} | {rate} {unit}/s | ETA {eta_formatted}`,
        stream,
        barsize: 30,
        hideCursor: Boolean(stream.isTTY),
        noTTYOutput: force && !stream.isTTY,
        etaBuffer: 50,
      });
      bar.start(total, done, payload());
      return;
    }
    bar.update(done, payload());
  };
  return {
    update(value: number): void {
      done = Math.max(0, Math.min(total, value));
      show();
    },
    increment(by = 1): void {
      done = Math.max(0, Math.min(total, done + by));
      show();
    },
    stop(): void {
      if (stopped) return;
      if (bar) {
        bar.update(done, payload());
        bar.stop();
      }
      stopped = true;
    },
  };
}
