/**
 * Helpers shared by the hardening and bad-input tests: run the real CLI (`node bin/fairhead.js ...`) as a child
 * process with no stdin, and list the files a run left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where bin/fairhead.js is). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The CLI entry point. */
export const BIN = join(ROOT, 'bin', 'fairhead.js');

/** What a finished CLI run gave. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Start `fairhead ...args` in `cwd` (stdin closed); the caller reads or kills the child. */
export function startFairhead(args: readonly string[], cwd: string = ROOT): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
}

/** Run `fairhead ...args` in `cwd` to the end (async, so the test worker stays free while it runs). */
export function fairhead(args: readonly string[], cwd: string = ROOT, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = startFairhead(args, cwd);
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * Every file under `dir` (recursively), as paths relative to `dir` with '/' separators, sorted; [] when absent.
 * Entries that vanish while it walks (a writer renaming a staging folder) are left out.
 */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return; // renamed or removed while we looked (a writer at work): list what is there now
    }
    for (const name of names) {
      const full = join(d, name);
      let isDir: boolean;
      try {
        isDir = statSync(full).isDirectory();
      } catch {
        continue; // gone between readdir and stat
      }
      if (isDir) walk(full);
      else out.push(relative(dir, full).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * A tiny, balanced tabular task: `rows` rows of age, hours (numbers), color (a category), sex (F/M) and y (0/1),
 * each (y, sex) cell holding rows/4 rows, so every split and every group-balanced sample is non-empty.
 *
 * @example
 * tinyCsv(4); // 'age,hours,color,sex,y\n20,10,red,F,0\n27,23,blue,M,0\n39,36,blue,F,1\n46,49,red,M,1\n'
 */
export function tinyCsv(rows = 60, header = 'age,hours,color,sex,y'): string {
  const lines = [header];
  for (let i = 0; i < rows; i++) lines.push(tinyRow(i).join(','));
  return `${lines.join('\n')}\n`;
}

/** Row `i` of {@link tinyCsv} as fields. */
export function tinyRow(i: number): string[] {
  const y = Math.floor(i / 2) % 2;
  return [String(20 + ((i * 7) % 50) + 5 * y), String(10 + ((i * 13) % 50)), i % 3 === 0 ? 'red' : 'blue', i % 2 === 0 ? 'F' : 'M', String(y)];
}

/** The flags of a quick `fairhead run` on {@link tinyCsv} (mlp, 2 epochs, no bootstrap, quiet). */
export const QUICK_RUN = ['--epochs', '2', '--hidden', '8', '--bootstrap', '0', '--quiet'] as const;
