/**
 * `fairhead explore` on UCI Adult (in the repository), driven in real headless Chromium: the strength slider moved
 * with the keyboard re-fits the head, the page shows what `fairhead run` gives for the same options (the command
 * the page prints), the method, penalty and target mode switch, the URL reopens the view, and "save" writes a model
 * that predicts exactly as the one `fairhead run` writes. Screenshots of two states go to test-output/explore/.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRate } from '../../src/report/format.ts';
import { launchChromium } from '../../src/report/screenshot.ts';
import type { MetricsFile } from '../../src/report/schema.ts';
import { fairhead, listFiles } from '../hardening/cli.ts';
import { ADULT_TEST, ADULT_TRAIN } from '../support/data.ts';
import { runArgs, screenshot, startExplore, waitSaved, waitShown, type RunningExplore } from './explore-cli.ts';

const ADULT = ['--data', ADULT_TRAIN, '--test-data', ADULT_TEST, '--target', 'Y', '--positive', '>50K', '--sensitive', 'sex'];
const dir = mkdtempSync(join(tmpdir(), 'fairhead-explore-adult-'));
let explore: RunningExplore;
let browser: Browser;
let page: Page;
const errors: string[] = [];

beforeAll(async () => {
  [explore, browser] = await Promise.all([startExplore([...ADULT, '--out', join(dir, 'saved'), '--quiet'], dir), launchChromium()]);
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()} ${response.request().method()} ${response.url()}`);
  });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await explore?.stop();
});

/** `fairhead run` with the page's command; its last run's test split. */
async function runAsShown(command: string, out: string): Promise<MetricsFile> {
  const r = await fairhead(['run', ...runArgs(command, out), '--json', '--quiet'], dir, 240_000);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as MetricsFile;
}

describe('fairhead explore on UCI Adult in Chromium', { timeout: 480_000 }, () => {
  it('the slider moved with the keyboard re-fits the head, and the page shows what fairhead run gives for the same options', async () => {
    await page.goto(explore.url);
    const first = await waitShown(page, { method: 'm2', constraint: 'eo', alpha: '1' });
    console.log(`screenshots: ${await screenshot(page, 'adult-1-m2-eo-alpha-1.png')}`);
    // alpha 1 -> 1.3 -> 1.6 -> 2 (ten steps a decade)
    await page.focus('#alpha-slider');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowRight');
    const moved = await waitShown(page, { method: 'm2', constraint: 'eo', alpha: '2' });
    expect(await page.locator('#alpha-value').textContent()).toBe('2');
    expect(moved.values).not.toEqual(first.values);
    const command = (await page.locator('#command').textContent()) ?? '';
    expect(command).toContain('--alpha 2 ');
    const run = (await runAsShown(command, join(dir, 'run-a'))).runs.at(-1)!;
    expect(run).toMatchObject({ method: 'm2', constraint: 'eo', alpha: 2 });
    expect(moved.values['accuracy']).toBe(formatRate(run.splits.test.accuracy));
    expect(moved.values['equalizedOddsDifference']).toBe(formatRate(run.splits.test.equalizedOddsDifference));
    expect(moved.values['demographicParityDifference']).toBe(formatRate(run.splits.test.demographicParityDifference));
    expect(errors).toEqual([]);
  });

  it('switching method, penalty and target mode re-fits too; save writes the model fairhead run writes; the URL reopens the view', async () => {
    await page.selectOption('#method', 'm1');
    await page.selectOption('#constraint', 'dp');
    await waitShown(page, { method: 'm1', constraint: 'dp' });
    await page.check('input[name="mode"][value="target"]');
    await page.focus('#gap-slider');
    // 0.05 -> 0.03
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
    const shown = await waitShown(page, { method: 'm1', constraint: 'dp', 'max-gap': '0.03' });
    console.log(`screenshots: ${await screenshot(page, 'adult-2-m1-dp-gap-0.03.png')}`);
    const command = (await page.locator('#command').textContent()) ?? '';
    expect(command).toMatch(/--method m1 --constraint dp --max-gap 0\.03 --seed 0 --out /);
    const runDir = join(dir, 'run-b');
    const run = (await runAsShown(command, runDir)).runs.at(-1)!;
    expect(run).toMatchObject({ method: 'm1', constraint: 'dp', maxGap: 0.03 });
    expect(shown.values['accuracy']).toBe(formatRate(run.splits.test.accuracy));
    expect(shown.values['demographicParityDifference']).toBe(formatRate(run.splits.test.demographicParityDifference));

    await page.click('#save');
    expect(await waitSaved(page)).toMatch(/^Saved 5 files to /);
    const saved = join(dir, 'saved');
    expect(listFiles(saved)).toEqual(listFiles(runDir));
    const head = (d: string): unknown => (JSON.parse(readFileSync(join(d, 'model', 'manifest.json'), 'utf8')) as { head: unknown }).head;
    expect(head(saved)).toEqual(head(runDir));
    const savedRun = (JSON.parse(readFileSync(join(saved, 'metrics.json'), 'utf8')) as MetricsFile).runs.at(-1)!;
    expect(savedRun.splits.test).toEqual(run.splits.test);
    const predict = async (model: string): Promise<string> => {
      const r = await fairhead(['predict', '--model', model, '--data', ADULT_TEST, '--quiet'], dir, 120_000);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const [fromSave, fromRun] = await Promise.all([predict(join(saved, 'model')), predict(join(runDir, 'model'))]);
    expect(fromSave.split('\n').length).toBe(16281 + 2);
    expect(fromSave).toBe(fromRun);

    // the address records the state: a new tab opens on the same head, with the same controls
    const again = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await again.goto(page.url());
    const reopened = await waitShown(again, { method: 'm1', constraint: 'dp', 'max-gap': '0.03' });
    expect(reopened.values).toEqual(shown.values);
    expect(await again.locator('#method').inputValue()).toBe('m1');
    expect(await again.locator('input[name="mode"][value="target"]').isChecked()).toBe(true);
    await again.close();
    expect(errors).toEqual([]);
  });
});
