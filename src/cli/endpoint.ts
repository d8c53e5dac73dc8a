/**
 * Where the server is, and who the CLI is to it. `--url` takes the HTTP or the WebSocket form of
 * the endpoint (both are one path on one port); `--token` and `ROOMCAST_TOKEN` the token. The
 * environment variables keep a token out of the shell's history and of `ps`.
 */
import { usageError } from './failure.js';

const DEFAULT_URL = 'http://localhost:4000/graphql';

export interface Endpoint {
  /** http:// or https:// */
  readonly httpUrl: string;
  /** ws:// or wss://, the same host, port and path. */
  readonly wsUrl: string;
  readonly token: string | undefined;
}

export function endpoint(values: { url?: string | undefined; token?: string | undefined }, usage: string, env = process.env): Endpoint {
  const raw = values.url ?? nonEmpty(env.ROOMCAST_URL) ?? DEFAULT_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError(`--url must be an http(s):// or ws(s):// URL (got ${JSON.stringify(raw)})`, usage);
  }
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw usageError(`--url must be an http(s):// or ws(s):// URL (got ${JSON.stringify(raw)})`, usage);
  }
  const token = values.token ?? nonEmpty(env.ROOMCAST_TOKEN);
  if (token !== undefined && token.trim() === '') throw usageError('--token must not be empty', usage);
  url.protocol = secure ? 'https:' : 'http:';
  const httpUrl = url.href;
  url.protocol = secure ? 'wss:' : 'ws:';
  return { httpUrl, wsUrl: url.href, token };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
