/**
 * Helpers of the explore tests: start the real `fairhead explore` (node bin/fairhead.js) and find its address on
 * stdout, drive the page in Chromium, split the run command the page shows, and keep screenshots where a person can
 * look at them (test-output/explore/, printed by the tests).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ROOT, startFairhead } from '../hardening/cli.ts';

/** Where the explore tests keep their screenshots (gitignored). */
export const SCREENSHOTS = join(ROOT, 'test-output', 'explore');

/** A running `fairhead explore`. */
export interface RunningExplore {
  readonly child: ChildProcess;
  /** The address printed on stdout, token included. */
  readonly url: string;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly token: string;
  /** Everything the process wrote to stderr so far. */
  stderr(): string;
  /** Ctrl-C, then the exit code and signal. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `fairhead explore ...args` in `cwd` and wait for the address line (rejects if the process ends first). */
export function startExplore(args: readonly string[], cwd: string, timeoutMs = 180_000): Promise<RunningExplore> {
  const child = startFairhead(['explore', ...args], cwd);
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`explore printed no address within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`explore exited (${code ?? signal}) before printing its address; stderr: ${stderr}`));
    });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.startsWith('http://'));
      if (line === undefined) return;
      clearTimeout(timer);
      const url = new URL(line.trim());
      resolve({
        child,
        url: line.trim(),
        origin: url.origin,
        token: url.searchParams.get('token') ?? '',
        stderr: () => stderr,
        stop: (signal = 'SIGINT') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    });
  });
}

/**
 * The words of a command the page printed (runCommand's quoting: bare words, single quotes, '\'' for a quote).
 *
 * @example
 * shellSplit(`fairhead run --positive '>50K' --x 'it'\\''s'`); // ['fairhead', 'run', '--positive', '>50K', '--x', "it's"]
 */
export function shellSplit(command: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      word = (word ?? '') + command.slice(i + 1, end);
      i = end;
    } else if (c === '\\') {
      word = (word ?? '') + (command[++i] ?? '');
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (word !== null) words.push(word);
  return words;
}

/** The `fairhead run` arguments of the page's command, writing to `out` instead. */
export function runArgs(command: string, out: string): string[] {
  const words = shellSplit(command);
  if (words[0] !== 'fairhead' || words[1] !== 'run') throw new Error(`not a run command: ${command}`);
  const args = words.slice(2);
  const at = args.indexOf('--out');
  args.splice(at, 2, '--out', out);
  return args;
}

/** What the page shows of a head: its settings and the test (and fine-tuning set) values of its metric cards, as printed. */
export interface Shown {
  readonly method: string;
  readonly constraint: string;
  readonly alpha: string;
  readonly maxGap: string;
  readonly values: Readonly<Record<string, string>>;
  /** The same metrics on the fine-tuning set (the rows the head was fitted on). */
  readonly finetune: Readonly<Record<string, string>>;
}

/** Wait until the page shows a head matching `expected` (data attributes of `.now`) with no request in flight, and read it. */
export async function waitShown(page: Page, expected: Partial<Record<'method' | 'constraint' | 'alpha' | 'max-gap' | 'seed', string>> = {}): Promise<Shown> {
  const selector = `.now${Object.entries(expected).map(([k, v]) => `[data-${k}="${v}"]`).join('')}`;
  await page.waitForFunction((sel) => document.querySelector(sel) !== null && document.body.dataset['busy'] === undefined, selector, { timeout: 300_000 });
  return page.evaluate(() => {
    const now = document.querySelector('.now') as PageElement;
    const values: Record<string, string> = {};
    const finetune: Record<string, string> = {};
    for (const card of document.querySelectorAll('#metrics .card')) {
      values[card.dataset['metric'] ?? ''] = card.querySelector('[data-split="test"]')?.textContent ?? '';
      finetune[card.dataset['metric'] ?? ''] = card.querySelector('[data-split="finetune"]')?.textContent ?? '';
    }
    const d = now.dataset;
    return { method: d['method'] ?? '', constraint: d['constraint'] ?? '', alpha: d['alpha'] ?? '', maxGap: d['maxGap'] ?? '', values, finetune };
  });
}

/** Wait until the page's save has answered, and return what it says. */
export async function waitSaved(page: Page): Promise<string> {
  await page.waitForFunction(() => /^(Saved|Not saved)/.test(document.querySelector('#save-result')?.textContent ?? ''), undefined, { timeout: 300_000 });
  return (await page.locator('#save-result').textContent()) ?? '';
}

/** The little of the DOM the page functions above use (the tests are type-checked without the DOM library). */
interface PageElement {
  readonly dataset: Readonly<Record<string, string | undefined>>;
  readonly textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: { querySelector(selector: string): PageElement | null; querySelectorAll(selector: string): Iterable<PageElement>; readonly body: PageElement };

/** Save a full-page screenshot under {@link SCREENSHOTS}; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = join(SCREENSHOTS, name);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
