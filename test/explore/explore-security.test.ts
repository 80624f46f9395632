/**
 * The explore server against hostile requests and hostile data, through the real CLI: a token on every request,
 * 404 for anything but its routes, 400/413/415 for bad bodies while it keeps serving, 200 requests at once, no
 * CORS, a Content-Security-Policy, names from the data shown as text in Chromium, and Ctrl-C during a save leaving
 * only complete files.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALPHA_STEPS } from '../../src/explore/state.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/explore/server.ts';
import { launchChromium } from '../../src/report/screenshot.ts';
import { listFiles, tinyRow } from '../hardening/cli.ts';
import { startExplore, waitShown, type RunningExplore } from './explore-cli.ts';

const COLUMN = '<img src=x onerror=alert(1)>';
const GROUP = '<script>alert(2)</script>';
const dir = mkdtempSync(join(tmpdir(), 'fairhead-explore-security-'));
const out = join(dir, 'saved');
let explore: RunningExplore;

/** A raw HTTP request (no URL normalisation: the path is sent as written). */
function request(
  origin: string,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method: options.method ?? 'GET', path: options.path, headers: options.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A state the page could send. */
function state(alpha: number): Record<string, unknown> {
  return {
    method: 'm2', constraint: 'eo', mode: 'alpha', alpha, maxGap: 0.05, seed: 0, groupBy: [COLUMN], minGroupSize: 0, smallGroups: 'fold',
    baseline: 'b1', performance: ['accuracy'], fairness: ['equalizedOddsDifference'], curve: 'equalizedOddsDifference', tolerance: 0.05,
  };
}

beforeAll(async () => {
  const lines = [`age,hours,color,"${COLUMN}",y`];
  for (let i = 0; i < 120; i++) {
    const f = tinyRow(i);
    lines.push([f[0], f[1], f[2], f[3] === 'F' ? `"${GROUP}"` : 'M & <b>', f[4]].join(','));
  }
  writeFileSync(join(dir, 'data.csv'), `${lines.join('\n')}\n`);
  explore = await startExplore(['--data', 'data.csv', '--target', 'y', '--sensitive', COLUMN, '--epochs', '2', '--hidden', '8', '--out', out, '--quiet'], dir);
}, 180_000);

afterAll(async () => {
  await explore?.stop('SIGKILL');
});

describe('fairhead explore: requests', { timeout: 180_000 }, () => {
  it('every request needs the token (403 without it or with a wrong one), and answers carry the CSP, no CORS', async () => {
    const t = explore.token;
    const wrong = t.slice(0, -1) + (t.endsWith('A') ? 'B' : 'A');
    expect((await request(explore.origin, { path: '/' })).status).toBe(403);
    expect((await request(explore.origin, { path: `/?token=${wrong}` })).status).toBe(403);
    expect((await request(explore.origin, { path: '/explore.js' })).status).toBe(403);
    expect((await request(explore.origin, { method: 'POST', path: '/api/view', headers: { 'content-type': 'application/json', 'x-fairhead-token': wrong }, body: JSON.stringify(state(1)) })).status).toBe(403);
    const page = await request(explore.origin, { path: `/?token=${t}`, headers: { origin: 'http://evil.example' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await request(explore.origin, { method: 'OPTIONS', path: `/api/view?token=${t}`, headers: { origin: 'http://evil.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(405);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    // a page of another site that rebinds its name to 127.0.0.1 sends its own Host
    expect((await request(explore.origin, { path: `/?token=${t}`, headers: { host: 'evil.example' } })).status).toBe(403);
  });

  it('anything but the page\'s routes is 404, paths with ".." included; a target that is not a path is 400', async () => {
    const t = explore.token;
    for (const path of [`/../../etc/passwd?token=${t}`, `/%2e%2e/%2e%2e/etc/passwd?token=${t}`, `/explore.js/../../../etc/passwd?token=${t}`, `/data.csv?token=${t}`, `/api/../data.csv?token=${t}`]) {
      const r = await request(explore.origin, { path });
      expect(r.status, path).toBe(404);
      expect(r.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    }
    expect((await request(explore.origin, { path: `//etc/passwd?token=${t}` })).status).toBe(400);
    expect((await request(explore.origin, { method: 'GET', path: `/api/view?token=${t}` })).status).toBe(405);
  });

  it('bad bodies get 400, 413 or 415 with the reason, and the server keeps serving', async () => {
    const t = explore.token;
    const post = (body: string | Buffer, type = 'application/json') =>
      request(explore.origin, { method: 'POST', path: `/api/view?token=${t}`, headers: { 'content-type': type }, body });
    const big = await post(Buffer.alloc(10 * 2 ** 20, 0x20));
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toEqual({ error: 'request body over 65536 bytes' });
    expect((await post('{"method": ')).status).toBe(400);
    expect((await post(JSON.stringify(state(1)), 'text/plain')).status).toBe(415);
    const bad = await post(JSON.stringify({ ...state(1), constraint: 'eq' }));
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toBe('state.constraint: expected one of eo, dp, eopp, di, ae, mmf, received "eq"');
    const column = await post(JSON.stringify({ ...state(1), groupBy: ['nope'] }));
    expect(JSON.parse(column.body).error).toContain('state.groupBy: expected a list of');
    const ok = await post(JSON.stringify(state(1)));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).record.method).toBe('m2');
  });

  it('answers 200 requests fired at once (stale fits superseded), and still answers after', async () => {
    const t = explore.token;
    const requests = Array.from({ length: 200 }, (_, i) =>
      i % 2 === 0
        ? request(explore.origin, { path: `/?token=${t}` })
        : request(explore.origin, { method: 'POST', path: `/api/view?token=${t}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(state(ALPHA_STEPS[i % ALPHA_STEPS.length] as number)) }),
    );
    const answers = await Promise.all(requests);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    const views = answers.filter((_, i) => i % 2 === 1).map((a) => JSON.parse(a.body) as { superseded?: boolean; key?: string });
    // each is a view or says a newer request replaced it; the last one sent is shown
    expect(views.every((v) => v.superseded === true || typeof v.key === 'string')).toBe(true);
    expect(views.at(-1)!.superseded).toBeUndefined();
    expect((await request(explore.origin, { path: `/?token=${t}` })).status).toBe(200);
  });
});

describe('fairhead explore: hostile names in the page', { timeout: 180_000 }, () => {
  it('a column named <img src=x onerror=...> and a group named <script> are shown as text, run nothing and load nothing', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const dialogs: string[] = [];
      const requests: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      page.on('request', (r) => requests.push(new URL(r.url()).pathname));
      await page.goto(explore.url);
      await waitShown(page, { method: 'm2' });
      expect(await page.locator('label.check', { hasText: COLUMN }).count()).toBe(1);
      expect(await page.locator('#group-table td', { hasText: GROUP }).count()).toBe(1);
      expect(await page.locator('#group-table td', { hasText: 'M & <b>' }).count()).toBe(1);
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('script').count()).toBe(1);
      expect(await page.locator('#group-table b').count()).toBe(0);
      expect(dialogs).toEqual([]);
      // the page, its script and stylesheet, and its own API: nothing else (an <img src=x> would ask for /x)
      expect(requests.filter((p) => !['/', '/explore.js', '/explore.css', '/api/view', '/api/curve'].includes(p))).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe('fairhead explore: Ctrl-C', { timeout: 180_000 }, () => {
  it('during a save: the save is finished, the process exits 0, and the output folder holds only complete files', async () => {
    const saving = request(explore.origin, { method: 'POST', path: `/api/save?token=${explore.token}`, headers: { 'content-type': 'application/json' }, body: JSON.stringify(state(2)) }).catch((error: unknown) => error);
    await new Promise((r) => setTimeout(r, 50));
    const { code } = await explore.stop('SIGINT');
    expect(code).toBe(0);
    await saving;
    const files = listFiles(out);
    expect(files.filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(files).toEqual(['metrics.json', 'model/backbone.json', 'model/manifest.json', 'report.html', 'report.md']);
  });
});
