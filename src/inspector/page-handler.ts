/**
 * `GET /inspect`: the inspector's page, three static files (page/) read once at start-up and served
 * from memory. Answered before Yoga, like the metrics: the page itself is public (it holds no data);
 * everything it shows comes from GraphQL with the visitor's token. The Content-Security-Policy lets it
 * load only its own script and style and talk only to this origin, and nothing may frame it.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

const INSPECT_PATH = '/inspect';

export interface InspectorPage {
  /** Answers a request under /inspect and returns true, or returns false and leaves it alone. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES: Record<string, { readonly file: string; readonly type: string }> = {
  [INSPECT_PATH]: { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${INSPECT_PATH}/`]: { file: 'index.html', type: 'text/html; charset=utf-8' },
  [`${INSPECT_PATH}/app.js`]: { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  [`${INSPECT_PATH}/app.css`]: { file: 'app.css', type: 'text/css; charset=utf-8' },
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

/** With `enabled` false (INSPECTOR=off) it answers nothing, so /inspect is the server's 404. */
export function createInspectorPage(enabled: boolean): InspectorPage {
  if (!enabled) return { handle: () => false };
  const assets = new Map<string, Asset>();
  for (const [path, { file, type }] of Object.entries(FILES)) {
    assets.set(path, { body: readFileSync(new URL(`./page/${file}`, import.meta.url)), type });
  }
  return {
    handle(req, res) {
      const path = pathOf(req);
      if (path !== INSPECT_PATH && !path.startsWith(`${INSPECT_PATH}/`)) return false;
      const asset = assets.get(path);
      if (!asset) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' }).end('not found\n');
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      } else {
        res.writeHead(200, headersOf(asset)).end(req.method === 'HEAD' ? undefined : asset.body);
      }
      return true;
    },
  };
}

function headersOf(asset: Asset): Record<string, string | number> {
  return {
    'Content-Type': asset.type,
    'Content-Length': asset.body.length,
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    // Small and changed only by a deploy: revalidated on every load, never stale after an upgrade.
    'Cache-Control': 'no-cache',
  };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
