/**
 * `npm run bench -- explore [--utkface DIR] [--cache-dir DIR]`: how live `fairhead explore` is on the UTKFace
 * face-api embeddings (9,778 faces x 512; target gender, sensitive race white / non-white, as the reproduction's
 * utkface-gender-race). The faces come from --utkface or FAIRHEAD_UTKFACE (images/ and labels.csv); the embeddings
 * from fairhead's embedding cache in --cache-dir (default bench/work/explore-cache; the first run embeds every face,
 * 1-8 minutes). Each part starts the real CLI (node bin/fairhead.js explore) and drives its page in headless
 * Chromium; every time is the page's own (the status line: from the request, sent on the slider's input event, to
 * the new fragments in the page). Writes bench/results/explore.json:
 *
 * - startToPageSeconds: from spawning `fairhead explore` (embeddings cached) to the page showing its first head
 *   (M2 + EO, alpha 1), median of 3 starts (Chromium is started beforehand and not counted);
 * - m2EoRefitP50Ms / m2EoRefitP95Ms: a scripted drag of the strength slider, 50 steps from alpha 0.01 to 1,000, each
 *   step waiting for its update, with --no-sweep so that every step is a new fit (M2 + EO, a 6,148-row set);
 * - m2EoCachedP50Ms / m2EoCachedP95Ms: the same drag back, every head in the session's cache (what a drag costs once
 *   the background sweep has passed those strengths);
 * - b1RefitP50Ms / b1RefitP95Ms: 50 B1 fits (the 5,868-row training set), one per seed 1..50 typed into the seed box
 *   (B1's head does not depend on the seed, but each seed is a new request the cache does not hold).
 *
 * The 1-minute load average is recorded beside every part: other jobs share the machine.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../src/report/screenshot.ts';
import { writeUtkfaceLabels } from '../src/pipeline/reproduce/utkface-labels.ts';
import { writeResult } from './machine.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));
const work = join(here, 'work');
const flag = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const utkface = flag('--utkface') ?? process.env['FAIRHEAD_UTKFACE'];
if (utkface === undefined) {
  process.stderr.write('bench explore: give the UTKFace folder (images/, labels.csv) with --utkface DIR or FAIRHEAD_UTKFACE\n');
  process.exit(2);
}
const cacheDir = flag('--cache-dir') ?? join(work, 'explore-cache');
const load = (): number => Math.round(os.loadavg()[0]! * 100) / 100;
const log = (msg: string): void => void process.stdout.write(`${msg}\n`);
const quantile = (values: number[], q: number): number => {
  const s = [...values].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (at - lo);
};
const round = (v: number, digits = 3): number => Number(v.toPrecision(digits));

// the CLI runs from dist/ (bin/fairhead.js): build it when src/ is newer, as the tests do
const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--quiet'], { stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);
mkdirSync(work, { recursive: true });
const labels = join(work, 'utkface-labels.csv');
writeUtkfaceLabels(join(utkface, 'labels.csv'), labels);
const task = ['--images', join(utkface, 'images'), '--labels', labels, '--target', 'gender', '--positive', '1', '--sensitive', 'race_group', '--cache-dir', cacheDir];

/** Start `fairhead explore` with the task's flags; resolves with the child and its address once printed. */
function start(extra: string[]): Promise<{ child: ChildProcess; url: string; printedMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'bin', 'fairhead.js'), 'explore', ...task, '--out', join(work, 'explore-out'), '--quiet', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`explore exited ${code}: ${stderr}`)));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const line = stdout.split('\n').find((l) => l.startsWith('http://'));
      if (line !== undefined) resolve({ child, url: line.trim(), printedMs: performance.now() - started });
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', () => resolve());
    child.kill('SIGINT');
  });
}

/** The page's own time of its last update ("Updated in N ms"), once the page shows `selector` and is idle. */
async function updateMs(page: Page, selector: string): Promise<number> {
  await page.waitForFunction((sel) => {
    const d = (globalThis as unknown as { document: { querySelector(s: string): unknown; body: { dataset: Record<string, string | undefined> } } }).document;
    return d.querySelector(sel) !== null && d.body.dataset['busy'] === undefined;
  }, selector, { timeout: 120_000, polling: 5 });
  const status = (await page.locator('#status').textContent()) ?? '';
  const m = /Updated in (\d+) ms/.exec(status);
  if (!m) throw new Error(`no time in the status line: ${status}`);
  return Number(m[1]);
}

async function main(browser: Browser): Promise<void> {
  if (!existsSync(cacheDir)) log(`no embedding cache in ${cacheDir} yet: the first start embeds all 9,778 faces (1-8 minutes)`);
  // warm: the embedding cache filled, the files in the OS's cache
  const warm = await start(['--no-sweep']);
  await stop(warm.child);

  // 1. start to page
  const starts: number[] = [];
  const printed: number[] = [];
  const startLoads: number[] = [];
  for (let i = 0; i < 3; i++) {
    startLoads.push(load());
    const t0 = performance.now();
    const s = await start([]);
    const page = await browser.newPage();
    await page.goto(s.url);
    await updateMs(page, '.now[data-method="m2"][data-alpha="1"]');
    starts.push((performance.now() - t0) / 1000);
    printed.push(s.printedMs / 1000);
    await page.close();
    await stop(s.child);
    log(`start ${i + 1}: page usable after ${starts.at(-1)!.toFixed(2)} s (address printed after ${printed.at(-1)!.toFixed(2)} s), load ${startLoads.at(-1)}`);
  }

  // 2. the drag (M2 + EO) and 3. B1 fits, on one server without the background sweep
  const s = await start(['--no-sweep', '--alpha', '0.01']);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(s.url);
  await updateMs(page, '.now[data-alpha="0.01"]');
  const alphas = JSON.parse((await page.locator('body').getAttribute('data-alphas')) ?? '[]') as number[];
  const m2: number[] = [];
  const m2Fit: number[] = [];
  const m2Iterations: number[] = [];
  const m2Load = [load()];
  await page.focus('#alpha-slider');
  for (let step = 2; step <= 51; step++) {
    await page.keyboard.press('ArrowRight');
    m2.push(await updateMs(page, `.now[data-alpha="${alphas[step]}"]`));
    m2Fit.push(Number(/fitted in (\d+) ms/.exec((await page.locator('#status').textContent()) ?? '')?.[1] ?? NaN));
    m2Iterations.push(Number(/lbfgs, (\d+) iterations/.exec((await page.locator('#cost').textContent()) ?? '')?.[1] ?? NaN));
  }
  m2Load.push(load());
  log(`M2 + EO drag, 50 steps: p50 ${quantile(m2, 0.5).toFixed(0)} ms, p95 ${quantile(m2, 0.95).toFixed(0)} ms (fit alone p50 ${quantile(m2Fit, 0.5).toFixed(0)} ms, L-BFGS iterations p50 ${quantile(m2Iterations, 0.5)}, p95 ${quantile(m2Iterations, 0.95).toFixed(0)}), load ${m2Load.join(' -> ')}`);
  // back over the same 50 strengths: every head is in the session's cache now (as after the background sweep)
  const cached: number[] = [];
  for (let step = 50; step >= 1; step--) {
    await page.keyboard.press('ArrowLeft');
    cached.push(await updateMs(page, `.now[data-alpha="${alphas[step]}"]`));
  }
  log(`the same drag back, every head cached: p50 ${quantile(cached, 0.5).toFixed(0)} ms, p95 ${quantile(cached, 0.95).toFixed(0)} ms, load ${load()}`);

  await page.selectOption('#method', 'b1');
  await updateMs(page, '.now[data-method="b1"][data-seed="0"]');
  const b1: number[] = [];
  const b1Fit: number[] = [];
  const b1Load = [load()];
  for (let seed = 1; seed <= 50; seed++) {
    await page.fill('#seed', String(seed));
    await page.locator('#seed').dispatchEvent('change');
    b1.push(await updateMs(page, `.now[data-method="b1"][data-seed="${seed}"]`));
    b1Fit.push(Number(/fitted in (\d+) ms/.exec((await page.locator('#status').textContent()) ?? '')?.[1] ?? NaN));
  }
  b1Load.push(load());
  log(`B1 fits, 50 seeds: p50 ${quantile(b1, 0.5).toFixed(0)} ms, p95 ${quantile(b1, 0.95).toFixed(0)} ms (fit alone p50 ${quantile(b1Fit, 0.5).toFixed(0)} ms), load ${b1Load.join(' -> ')}`);
  const rows = await page.locator('.subtitle').textContent();
  await stop(s.child);

  writeResult('explore', {
    data: `UTKFace, face-api embeddings (512), target gender, sensitive race white / non-white: ${rows ?? ''}`,
    command: 'npm run bench -- explore --utkface DIR (or FAIRHEAD_UTKFACE)',
    startToPageSeconds: round(quantile(starts, 0.5)),
    m2EoRefitP50Ms: Math.round(quantile(m2, 0.5)),
    m2EoRefitP95Ms: Math.round(quantile(m2, 0.95)),
    b1RefitP50Ms: Math.round(quantile(b1, 0.5)),
    b1RefitP95Ms: Math.round(quantile(b1, 0.95)),
    m2EoCachedP50Ms: Math.round(quantile(cached, 0.5)),
    m2EoCachedP95Ms: Math.round(quantile(cached, 0.95)),
    details: {
      startSeconds: starts.map((v) => round(v)),
      addressPrintedSeconds: printed.map((v) => round(v)),
      startLoad: startLoads,
      m2EoUpdateMs: m2,
      m2EoFitMs: m2Fit,
      m2EoIterations: m2Iterations,
      m2EoLoad: m2Load,
      m2EoCachedUpdateMs: cached,
      b1UpdateMs: b1,
      b1FitMs: b1Fit,
      b1Load,
    },
  });
  log('wrote bench/results/explore.json');
}

const browser = await launchChromium();
try {
  await main(browser);
} finally {
  await browser.close();
}
