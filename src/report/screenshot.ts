import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { writeFileAtomic } from '../atomic-write.ts';
import { InputError } from '../errors.ts';

/** Where Debian's `chromium` package installs the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, offline headless Chromium: no GPU, no sandbox (containers), no background traffic. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Start Debian's headless Chromium through playwright-core. Playwright gives every launch a fresh temporary
 * user-data dir and removes it on `close()`. Throws an {@link InputError} saying how to install Chromium when
 * `executablePath` does not exist.
 *
 * @example
 * const browser = await launchChromium();
 * try { const page = await browser.newPage(); ... } finally { await browser.close(); }
 */
export async function launchChromium(executablePath: string = CHROMIUM_PATH): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new InputError(
      `Chromium not found at ${executablePath}; install it (Debian/Ubuntu: apt-get install chromium) to take screenshots`,
    );
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath, args: [...CHROMIUM_ARGS], timeout: 60_000 });
}

/**
 * Open `htmlFile` in headless Chromium (1100 px wide) and save a full-page PNG to `pngFile` (written atomically).
 * Any request other than the file itself is aborted, so a report that tried to call out would show it broken.
 *
 * @example
 * await screenshotHtml('out/report.html', 'out/report.png');
 */
export async function screenshotHtml(htmlFile: string, pngFile: string): Promise<void> {
  if (!existsSync(htmlFile)) throw new InputError(`${htmlFile}: file not found, expected an HTML report`);
  const url = pathToFileURL(resolve(htmlFile)).href;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 }, deviceScaleFactor: 1 });
    await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
    await page.goto(url, { waitUntil: 'load' });
    const png = await page.screenshot({ fullPage: true, type: 'png' });
    writeFileAtomic(pngFile, png);
  } finally {
    await browser.close();
  }
}
