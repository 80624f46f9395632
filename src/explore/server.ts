/**
 * The HTTP server of `fairhead explore` (node:http, no framework: five routes, and every byte of their handling in
 * view). Rules, in the order a request meets them:
 *
 * - a request target that is not an absolute path (`*`, `http://...`): 400;
 * - bound to a loopback address, a Host header naming another host (a DNS-rebinding page): 403;
 * - no token, or a wrong one, in the `token` query parameter or the `X-Fairhead-Token` header: 403;
 * - a path other than `/`, `/explore.js`, `/explore.css`, `/api/view`, `/api/curve`, `/api/save` (no file is ever
 *   served by path, so `/../x` is just an unknown path): 404; a known path with another method: 405;
 * - a JSON body over {@link MAX_BODY_BYTES}: 413 (the rest is read and dropped, so the client gets the answer);
 *   another content type: 415; a body that is not JSON or not a valid state: 400 with the reason;
 * - a state the data cannot be fitted with (e.g. a penalty needing a (label, group) cell the set lacks): 422.
 *
 * Every answer carries a Content-Security-Policy that allows the page's own script and stylesheet and requests to
 * itself only, `nosniff`, no referrer, no caching and no framing; no CORS header is ever sent. An error in one
 * request never stops the server.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isUserError } from '../errors.ts';
import { renderPage, type PageInfo } from './page.ts';
import { SupersededError, type ExploreSession } from './session.ts';

/** Largest request body read, in bytes (a state is a few hundred). */
export const MAX_BODY_BYTES = 64 * 1024;

/** The Content-Security-Policy of every answer. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** Options of {@link startExploreServer}. */
export interface ExploreServerOptions {
  /** Address to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: any free one). */
  readonly port?: number;
  /** The token every request must carry (default: 32 random bytes, base64url). */
  readonly token?: string;
  /** Called with a line for the person at the terminal (a save, an internal error). */
  readonly log?: (message: string) => void;
}

/** A running explore server. */
export interface ExploreServer {
  /** The page's full address, token included: `http://127.0.0.1:PORT/?token=...`. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Stop taking requests, close every connection, then close the session (waiting for a save in progress). */
  close(): Promise<void>;
}

const ASSETS = {
  '/explore.js': { file: new URL('./assets/explore-page.mjs', import.meta.url), type: 'text/javascript; charset=utf-8' },
  '/explore.css': { file: new URL('./assets/explore-page.css', import.meta.url), type: 'text/css; charset=utf-8' },
} as const;

const ROUTES: Readonly<Record<string, 'GET' | 'POST'>> = {
  '/': 'GET',
  '/explore.js': 'GET',
  '/explore.css': 'GET',
  '/api/view': 'POST',
  '/api/curve': 'POST',
  '/api/save': 'POST',
};

/** An answer with a status and a one-line reason, for the request handler's early exits. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Serve a session's page on `http://HOST:PORT/` (see the module comment for the rules). Resolves once the server
 * listens.
 *
 * @example
 * const server = await startExploreServer(session, { port: 0 });
 * console.log(server.url); // http://127.0.0.1:40123/?token=...
 * await server.close();
 */
export async function startExploreServer(session: ExploreSession, options: ExploreServerOptions = {}): Promise<ExploreServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(32).toString('base64url');
  const log = options.log ?? (() => undefined);
  const assets = Object.fromEntries(Object.entries(ASSETS).map(([path, a]) => [path, { body: readFileSync(a.file), type: a.type }]));
  const info = pageInfo(session);
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  let port = 0;

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`internal error: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error (see the terminal)' });
      else res.destroy();
    });
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const raw = req.url ?? '';
      if (!raw.startsWith('/') || raw.startsWith('//')) throw new HttpError(400, 'expected a path');
      if (loopback && !allowedHost(req.headers.host, port)) throw new HttpError(403, 'wrong Host header');
      const url = new URL(raw, 'http://localhost');
      if (!tokenMatches(url.searchParams.get('token') ?? headerValue(req.headers['x-fairhead-token']), token)) {
        throw new HttpError(403, 'missing or wrong token: open the address fairhead explore printed');
      }
      const method = ROUTES[url.pathname];
      if (method === undefined) throw new HttpError(404, 'not found');
      if (req.method !== method) {
        res.setHeader('allow', method);
        throw new HttpError(405, `use ${method}`);
      }
      if (url.pathname === '/') return sendText(res, 200, renderPage(info, token), 'text/html; charset=utf-8');
      const asset = assets[url.pathname];
      if (asset) return sendText(res, 200, asset.body, asset.type);
      const body = await readJson(req);
      let state;
      try {
        state = session.parse(body);
      } catch (error) {
        if (isUserError(error)) throw new HttpError(400, error.message);
        throw error;
      }
      if (url.pathname === '/api/view') return send(res, 200, await session.view(state));
      if (url.pathname === '/api/curve') return send(res, 200, session.curve(state));
      const saved = await session.save(state);
      log(`saved ${saved.files.length} files to ${saved.out}; the same head: ${saved.command}`);
      return send(res, 200, saved);
    } catch (error) {
      if (error instanceof HttpError) {
        // a body left unread (a wrong route or type) is dropped: the client then reads the answer
        if (!req.complete) req.resume();
        return send(res, error.status, { error: error.message }, error.status >= 400 && error.status !== 403 && error.status !== 404 ? { connection: 'close' } : {});
      }
      if (error instanceof SupersededError) return send(res, 200, { superseded: true });
      if (isUserError(error)) return send(res, 422, { error: error.message });
      throw error;
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await session.close();
        server.closeAllConnections();
        await closed;
      })()),
  };
}

function pageInfo(session: ExploreSession): PageInfo {
  const p = session.prepared;
  return {
    dataset: p.dataset,
    backbone: p.backbone.spec,
    target: session.task.target,
    ...(session.task.positive !== undefined ? { positive: session.task.positive } : {}),
    classes: p.train.classes,
    sensitive: session.task.sensitive,
    rows: { train: p.train.y.length, validation: p.validation.y.length, test: p.test.y.length },
    hasShipped: session.hasShipped,
    initial: session.initial,
    out: session.out,
  };
}

/**
 * The JSON body of a request. Over {@link MAX_BODY_BYTES}, the rest is read and dropped before the 413 (a client
 * still sending would otherwise see its connection reset instead of the answer), up to {@link DRAIN_LIMIT_BYTES};
 * past that the connection is cut.
 */
function readJson(req: IncomingMessage): Promise<unknown> {
  const type = headerValue(req.headers['content-type']) ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) return Promise.reject(new HttpError(415, 'expected Content-Type: application/json'));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      else if (size > DRAIN_LIMIT_BYTES) req.destroy();
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new HttpError(400, 'request body cut short'));
    });
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) return reject(new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'request body is not valid JSON'));
      }
    });
  });
}

/** Bytes of an oversized body read (and dropped) before the connection is cut. */
export const DRAIN_LIMIT_BYTES = 32 * 2 ** 20;

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The token compared in constant time (a length mismatch is a mismatch). */
function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A Host header naming this server on a loopback name (127.0.0.1, localhost, [::1]) and its port. */
function allowedHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  return ['127.0.0.1', 'localhost', '[::1]'].some((name) => host === `${name}:${port}` || (port === 80 && host === name));
}

function sendText(res: ServerResponse, status: number, body: string | Buffer, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function send(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendText(res, status, JSON.stringify(value), 'application/json; charset=utf-8', headers);
}
