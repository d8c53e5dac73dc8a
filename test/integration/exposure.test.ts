/**
 * What a deployment exposes to browsers and explorers: CORS_ORIGINS (HTTP, event streams, WebSocket
 * upgrades), GRAPHIQL=off and INTROSPECTION=off.
 */
import { print } from 'graphql';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { HistoryDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';

const APP = 'https://app.example';
const server = serversOfThisFile();

const query = (target: TestServer, headers: Record<string, string>) =>
  fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: print(HistoryDocument), variables: { room: 'r' } }),
  });
const preflight = (target: TestServer, origin: string) =>
  fetch(target.url, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
  });
const eventStream = (target: TestServer, origin: string) => {
  const url = new URL(target.url);
  url.searchParams.set('query', print(RoomMessagesDocument));
  url.searchParams.set('variables', JSON.stringify({ room: 'r' }));
  return fetch(url, { headers: { accept: 'text/event-stream', origin } });
};
const upgrade = (target: TestServer, origin: string) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(target.wsUrl, 'graphql-transport-ws', { origin });
    ws.on('error', () => {}); // terminate() of a refused handshake reports one
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
  });

describe('CORS_ORIGINS unset: any origin, never with credentials', () => {
  let open: TestServer;
  beforeAll(async () => {
    open = await server({});
  });

  it('should answer Access-Control-Allow-Origin: * and no Access-Control-Allow-Credentials', async () => {
    for (const response of [await preflight(open, 'https://anyone.example'), await query(open, { origin: 'https://anyone.example' })]) {
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('access-control-expose-headers')).toBe('X-Request-Id');
    }
    expect((await preflight(open, 'https://anyone.example')).headers.get('access-control-allow-headers')).toContain('authorization');
    expect(await upgrade(open, 'https://anyone.example')).toBe(101);
  });
});

describe('CORS_ORIGINS set', () => {
  let closed: TestServer;
  beforeAll(async () => {
    closed = await server({ CORS_ORIGINS: `${APP}, http://localhost:5173` });
  });

  it('should let a listed origin in, with credentials', async () => {
    for (const response of [await preflight(closed, APP), await query(closed, { origin: APP })]) {
      expect(response.headers.get('access-control-allow-origin')).toBe(APP);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-expose-headers')).toBe('X-Request-Id');
    }
    expect((await query(closed, { origin: APP })).status).toBe(200);
    const stream = await eventStream(closed, APP);
    expect(stream.status).toBe(200);
    await stream.body?.cancel();
    expect(await upgrade(closed, APP)).toBe(101);
  });

  it('should refuse another origin with 403 on every transport, and never grant it credentials', async () => {
    const evil = 'https://evil.example';
    for (const response of [await preflight(closed, evil), await query(closed, { origin: evil }), await eventStream(closed, evil)]) {
      expect(response.status).toBe(403);
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      await response.body?.cancel();
    }
    expect(await upgrade(closed, evil)).toBe(403);
  });

  it("should let the server's own pages (GraphiQL) and clients without Origin in", async () => {
    const own = new URL(closed.url).origin;
    expect((await query(closed, { origin: own })).status).toBe(200);
    expect(await upgrade(closed, own)).toBe(101);
    expect((await query(closed, {})).status).toBe(200);
  });
});

describe('GRAPHIQL=off and INTROSPECTION=off', () => {
  it('should serve neither the explorer, nor the schema, nor field suggestions, and still answer __typename', async () => {
    const hidden = await server({ GRAPHIQL: 'off', INTROSPECTION: 'off' });
    const page = await fetch(hidden.url, { headers: { accept: 'text/html' } });
    expect(await page.text()).not.toContain('GraphiQL');
    expect((await fetch(new URL('/graphql/schema.graphql', hidden.url))).status).toBe(404);
    const introspection = await fetch(hidden.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
    });
    const body = (await introspection.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // Twice: the second answer comes from the validation cache (graphql/operation-cache.ts), and must be the same.
    const typo = () =>
      fetch(hidden.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ histor(room: "r") { seq } }' }),
      }).then((response) => response.text());
    const first = await typo();
    expect(first).toContain('Cannot query field');
    expect(first).not.toMatch(/Did you mean/);
    expect(await typo()).toBe(first);
    const typename = await fetch(hidden.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(await typename.json()).toEqual({ data: { __typename: 'Query' } });
  });
});
