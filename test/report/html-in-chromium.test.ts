/**
 * The HTML report in real headless Chromium (Debian's /usr/bin/chromium through playwright-core): it loads with no
 * console error and no request besides the file itself, draws the expected SVG marks, survives a hostile group
 * name, and screenshots to a real PNG.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReport, type ScatterChart } from '../../src/report/build-report.ts';
import { readMetricsFile } from '../../src/report/metrics-file.ts';
import { launchChromium, screenshotHtml } from '../../src/report/screenshot.ts';
import { writeReport } from '../../src/report/write-report.ts';
import { group, metricsOf, run, split } from './tiny-metrics.ts';

const HOSTILE = '<script>alert(1)</script>';
const root = mkdtempSync(join(tmpdir(), 'fairhead-chromium-'));
const sample = readMetricsFile(new URL('../fixtures/metrics-sample.json', import.meta.url).pathname);
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Open a file and record every request, console error, page error and dialog while it loads. */
async function open(file: string): Promise<{ page: Page; url: string; requests: string[]; errors: string[]; dialogs: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  page.setDefaultTimeout(10_000);
  const requests: string[] = [];
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, url, requests, errors, dialogs };
}

describe('report.html in headless Chromium', () => {
  it('loads without console errors or network requests and draws one dot per run', async () => {
    const dir = join(root, 'sample');
    await writeReport(dir, sample);
    const { page, url, requests, errors } = await open(join(dir, 'report.html'));
    expect(requests).toEqual([url]); // the page itself, nothing else
    expect(errors).toEqual([]);
    expect(await page.locator('svg.chart').count()).toBe(4);
    expect(await page.locator('#chart-pareto circle.point').count()).toBe(sample.runs.length);
    const chart = buildReport(sample).sections[0]?.blocks[0] as ScatterChart;
    expect(await page.locator('#chart-pareto circle.on-front').count()).toBe(chart.front.length);
    expect(await page.locator('#chart-pareto circle.selected-marker').count()).toBe(1);
    const groups = Object.keys(sample.runs[0]?.splits.test.byGroup ?? {}).length;
    expect(await page.locator('#chart-groups rect.bar').count()).toBe(groups * 2 * 3); // groups x (before, after) x 3 rates
    const methods = new Set(sample.runs.map((r) => r.method)).size;
    expect(await page.locator('#chart-train-test rect.bar').count()).toBe(methods * 2);
    // every chart is laid out with a real size
    for (const box of await Promise.all((await page.locator('svg.chart').all()).map((s) => s.boundingBox()))) {
      expect(box?.width).toBeGreaterThan(600);
      expect(box?.height).toBeGreaterThan(200);
    }
    await page.close();
  });

  it('shows a group named <script>alert(1)</script> as text and runs nothing', async () => {
    const byGroup = { [HOSTILE]: group({ tpr: 0.9 }), Other: group({ tpr: 0.6 }) };
    const s = split(0.8, 0.3, { byGroup });
    const metrics = metricsOf(
      [run('b1', 'none', 0, 0, 0.8, 0.3, { splits: { train: s, finetune: s, test: s } }), run('m2', 'eo', 1, 0, 0.78, 0.1, { splits: { train: s, finetune: split(0.78, 0.1, { byGroup }), test: split(0.78, 0.1, { byGroup }) } })],
      HOSTILE,
    );
    const dir = join(root, 'hostile');
    await writeReport(dir, metrics);
    const { page, errors, dialogs, requests, url } = await open(join(dir, 'report.html'));
    expect(dialogs).toEqual([]);
    expect(await page.locator('#chart-groups').count()).toBe(1);
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.title()).toBe(`Fairness report — ${HOSTILE}`);
    expect(await page.locator('h1').textContent()).toBe(`Fairness report — ${HOSTILE}`);
    expect(await page.locator('#table-group-rates td').first().textContent()).toBe(HOSTILE);
    expect(await page.locator('#chart-groups text.category').first().textContent()).toContain('<script>alert(1)</script>');
    await page.close();
  });

  it('screenshots the report to a non-trivial full-page PNG', async () => {
    const dir = join(root, 'shot');
    await writeReport(dir, sample);
    const png = join(dir, 'report.png');
    await screenshotHtml(join(dir, 'report.html'), png);
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(statSync(png).size).toBeGreaterThan(50_000);
    const meta = await sharp(bytes).metadata();
    expect(meta.width).toBe(1100);
    expect(meta.height).toBeGreaterThan(2000); // the full page, not just the first screen
    const stats = await sharp(bytes).stats();
    expect(stats.entropy).toBeGreaterThan(0.5); // not a blank page
    expect(stats.channels[2]?.mean).toBeLessThan(stats.channels[2]?.max ?? 0);
  });
});
