/**
 * Limits on what one client can make the server do (issue 10, part 6), on real servers with the
 * memory broker: PUBLISH_RATE_LIMIT per token sub and per client address over HTTP (both paths) and
 * the WebSocket, TRUST_PROXY deciding when X-Forwarded-For names the client, MAX_CONNECTIONS_PER_IP
 * over WebSockets and event streams, SUBSCRIBE_RATE_LIMIT per connection, and MAX_RESPONSE_BYTES for
 * the history one operation reads. Across replicas on one Redis: test/e2e/rate-limits.test.ts.
 */
import { print } from 'graphql';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HistoryDocument, PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { executeWs, subscribeWs, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { within } from '../helpers/wait.js';
import { acknowledged, closeCode } from '../helpers/raw-ws.js';

const servers: TestServer[] = [];
const sockets: WebSocket[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const ws of sockets.splice(0)) ws.terminate();
  for (const server of servers.splice(0)) await server.close();
});

async function serverWith(env: Record<string, string>): Promise<TestServer> {
  const server = await startTestServer(env);
  servers.push(server);
  return server;
}

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function post(
  server: TestServer,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
}

const publishQuery = print(PublishDocument);
const publish = (server: TestServer, headers: Record<string, string> = {}, room = 'r', data: unknown = 1) =>
  post(server, publishQuery, { room, event: 'e', data }, headers);
const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

function expectRateLimited(answer: Answer, windowMs: number): void {
  expect(answer.status).toBe(429);
  expect(codeOf(answer)).toBe('RATE_LIMITED');
  const retryAfterMs = answer.body.errors?.[0]?.extensions?.retryAfterMs as number;
  expect(retryAfterMs).toBeGreaterThan(0);
  expect(retryAfterMs).toBeLessThanOrEqual(windowMs);
  expect(Number(answer.headers.get('retry-after'))).toBe(Math.max(1, Math.ceil(retryAfterMs / 1000)));
}

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const token = (sub: string) =>
  new SignJWT({ sub, roomcast: { '*': ['*'] } })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));

/** A WebSocket implementation for graphql-ws that sends these headers with its upgrade request. */
const withHeaders = (headers: Record<string, string>) =>
  class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers });
    }
  };

function rawSocket(server: TestServer, headers: Record<string, string> = {}): WebSocket {
  const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws', { headers });
  sockets.push(ws);
  return ws;
}

describe('PUBLISH_RATE_LIMIT', () => {
  it('should limit anonymous publishes per client address over HTTP, both paths, with 429, Retry-After and retryAfterMs; refused publishes do not count', async () => {
    const server = await serverWith({ PUBLISH_RATE_LIMIT: '3/60s', MAX_PAYLOAD_BYTES: '1024' });
    // Invalid publishes are refused before the limiter and cost nothing.
    expect(codeOf(await publish(server, {}, 'bad room!'))).toBe('BAD_USER_INPUT');
    expect(codeOf(await publish(server, {}, 'r', 'x'.repeat(2000)))).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOf(await post(server, publishQuery, { room: 'r', event: 'bad event!', data: 1 }))).toBe('BAD_USER_INPUT');
    // The fast path (no Origin) and Yoga's own path (a browser's Origin) count together.
    expect((await publish(server)).status).toBe(200);
    expect((await publish(server, { origin: 'https://app.example' })).status).toBe(200);
    expect((await publish(server)).status).toBe(200);
    expectRateLimited(await publish(server), 60_000);
    expectRateLimited(await publish(server, { origin: 'https://app.example' }), 60_000);
    // The broadcast stream is a publish too; reads are not limited.
    expectRateLimited(await post(server, 'mutation { broadcast(event: "e", data: 1) { seq } }', {}), 60_000);
    expect((await post(server, print(HistoryDocument), { room: 'r' })).status).toBe(200);
  });

  it('should limit per token sub with auth on: each user has their own count, anonymous clients share their address’s, forbidden publishes do not count', async () => {
    const server = await serverWith({ PUBLISH_RATE_LIMIT: '2/60s', AUTH_JWT_SECRET: SECRET, ANONYMOUS_CAPABILITY: '{"open":["publish"]}' });
    const alice = { authorization: `Bearer ${await token('alice')}` };
    const bob = { authorization: `Bearer ${await token('bob')}` };
    // Anonymous clients may not publish to r: refused, not counted.
    for (let i = 0; i < 3; i++) expect(codeOf(await publish(server, {}, 'r'))).toBe('UNAUTHENTICATED');
    expect((await publish(server, alice)).status).toBe(200);
    expect((await publish(server, alice)).status).toBe(200);
    expectRateLimited(await publish(server, alice), 60_000);
    // Another token of the same sub shares the count.
    expectRateLimited(await publish(server, { authorization: `Bearer ${await token('alice')}` }), 60_000);
    expect((await publish(server, bob)).status).toBe(200);
    expect((await publish(server, {}, 'open')).status).toBe(200);
    expect((await publish(server, {}, 'open')).status).toBe(200);
    expectRateLimited(await publish(server, {}, 'open'), 60_000);
    expect((await publish(server, bob)).status).toBe(200);
  });

  it('should fail only the operation over the WebSocket, with retryAfterMs and no HTTP status; the connection stays', async () => {
    const server = await serverWith({ PUBLISH_RATE_LIMIT: '2/60s' });
    const client = wsClient(server.wsUrl);
    cleanups.push(() => client.dispose());
    let closed = false;
    client.on('closed', () => (closed = true));
    const live = subscribeWs(client, RoomMessagesDocument, { room: 'ws' });
    expect((await executeWs(client, PublishDocument, { room: 'ws', event: 'e', data: 1 })).data?.publish.seq).toBe(1);
    // The same address over HTTP and the WebSocket: one count.
    expect((await publish(server, {}, 'ws')).status).toBe(200);
    const refused = await executeWs(client, PublishDocument, { room: 'ws', event: 'e', data: 3 });
    expect(refused.data).toBeNull();
    expect(refused.errors).toMatchObject([{ extensions: { code: 'RATE_LIMITED' } }]);
    const extensions = refused.errors![0]!.extensions;
    expect(Object.keys(extensions).sort()).toEqual(['code', 'retryAfterMs']);
    expect(extensions.retryAfterMs as number).toBeGreaterThan(0);
    // Still connected: the subscription runs on and other operations work.
    expect((await executeWs(client, HistoryDocument, { room: 'ws' })).data?.history.map((m) => m.seq)).toEqual([1, 2]);
    expect(closed).toBe(false);
    expect(live.error).toBeUndefined();
  });

  it('should count again in the next window', async () => {
    const server = await serverWith({ PUBLISH_RATE_LIMIT: '1/1s' });
    expect((await publish(server)).status).toBe(200);
    const refused = await publish(server);
    expectRateLimited(refused, 1_000);
    const retryAfterMs = refused.body.errors?.[0]?.extensions?.retryAfterMs as number;
    await within(new Promise((resolve) => setTimeout(resolve, retryAfterMs + 50)), 2_000, 'the window to end');
    expect((await publish(server)).status).toBe(200);
  });
});

describe('TRUST_PROXY', () => {
  it('unset: a forged X-Forwarded-For is ignored, the socket’s address is the client', async () => {
    const server = await serverWith({ PUBLISH_RATE_LIMIT: '2/60s' });
    expect((await publish(server, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200);
    expect((await publish(server, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
    expectRateLimited(await publish(server, { 'x-forwarded-for': '198.51.100.3' }), 60_000);
  });

  it('a hop count: the address the outermost trusted proxy saw is the client, on HTTP and the WebSocket', async () => {
    const server = await serverWith({ PUBLISH_RATE_LIMIT: '2/60s', TRUST_PROXY: '1' });
    // One proxy in front: the last X-Forwarded-For entry (what it saw) is the client; the ones before it are the client's own claims.
    expect((await publish(server, { 'x-forwarded-for': '198.51.100.1' })).status).toBe(200);
    expect((await publish(server, { 'x-forwarded-for': '203.0.113.9, 198.51.100.1' })).status).toBe(200);
    expectRateLimited(await publish(server, { 'x-forwarded-for': '203.0.113.10, 198.51.100.1' }), 60_000);
    expect((await publish(server, { 'x-forwarded-for': '198.51.100.2' })).status).toBe(200);
    // Without the header the proxy itself (here 127.0.0.1) is the client.
    expect((await publish(server)).status).toBe(200);
    // The WebSocket's upgrade request says who the connection is.
    const client = wsClient(server.wsUrl, { webSocketImpl: withHeaders({ 'x-forwarded-for': '198.51.100.2' }) });
    cleanups.push(() => client.dispose());
    expect((await executeWs(client, PublishDocument, { room: 'r', event: 'e', data: 1 })).data?.publish).toBeDefined();
    expect((await executeWs(client, PublishDocument, { room: 'r', event: 'e', data: 1 })).errors).toMatchObject([
      { extensions: { code: 'RATE_LIMITED' } },
    ]);
  });

  it('a list of proxy addresses: X-Forwarded-For is read from the right, past trusted proxies only', async () => {
    const server = await serverWith({ PUBLISH_RATE_LIMIT: '1/60s', TRUST_PROXY: '127.0.0.0/8, 10.0.0.0/8' });
    expect((await publish(server, { 'x-forwarded-for': '198.51.100.1, 10.1.2.3' })).status).toBe(200);
    expectRateLimited(await publish(server, { 'x-forwarded-for': '198.51.100.1' }), 60_000);
    // 192.0.2.1 is not a trusted proxy: it is the client, whatever it claims before it.
    expect((await publish(server, { 'x-forwarded-for': '198.51.100.1, 192.0.2.1' })).status).toBe(200);
    expectRateLimited(await publish(server, { 'x-forwarded-for': '203.0.113.7, 192.0.2.1' }), 60_000);
  });

  it('an entry that is not an address is no identity: the peer is the client', async () => {
    const server = await serverWith({ PUBLISH_RATE_LIMIT: '1/60s', TRUST_PROXY: '1' });
    expect((await publish(server, { 'x-forwarded-for': 'junk-1' })).status).toBe(200);
    expectRateLimited(await publish(server, { 'x-forwarded-for': 'junk-2' }), 60_000);
  });
});

describe('MAX_CONNECTIONS_PER_IP', () => {
  it('should close WebSocket connections past it with 1013 per client address, and accept one again once another closes', async () => {
    const server = await serverWith({ MAX_CONNECTIONS_PER_IP: '2', TRUST_PROXY: '1' });
    const first = rawSocket(server);
    const second = rawSocket(server);
    await acknowledged(first);
    await acknowledged(second);
    const third = rawSocket(server);
    expect(await closeCode(third)).toBe(1013);
    // Another client behind the same proxy has its own count.
    await acknowledged(rawSocket(server, { 'x-forwarded-for': '198.51.100.1' }));
    first.close();
    await closeCode(first);
    await acknowledged(rawSocket(server));
    expect(second.readyState).toBe(WebSocket.OPEN);
  });

  it('should count event streams with WebSockets: 429 RATE_LIMITED with Retry-After past it', async () => {
    const server = await serverWith({ MAX_CONNECTIONS_PER_IP: '1' });
    const ws = rawSocket(server);
    await acknowledged(ws);
    const target = new URL(server.url);
    target.searchParams.set('query', print(RoomMessagesDocument));
    target.searchParams.set('variables', JSON.stringify({ room: 'sse' }));
    const refused = await fetch(target, { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as Answer['body']).errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1000 });
    // Plain requests are not connections.
    expect((await publish(server)).status).toBe(200);
    ws.close();
    await closeCode(ws);
    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const stream = await fetch(target, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    expect(stream.status).toBe(200);
    // While the stream is open, it holds the address's one slot.
    expect(await closeCode(rawSocket(server))).toBe(1013);
  });
});

describe('SUBSCRIBE_RATE_LIMIT', () => {
  it('should fail operations started past it on one connection with RATE_LIMITED; the connection and its subscriptions stay, other connections have their own', async () => {
    const server = await serverWith({ SUBSCRIBE_RATE_LIMIT: '3/60s' });
    const client = wsClient(server.wsUrl);
    cleanups.push(() => client.dispose());
    let closed = false;
    client.on('closed', () => (closed = true));
    const streams = [1, 2, 3].map(() => subscribeWs(client, RoomMessagesDocument, { room: 'sub' }));
    const fourth = subscribeWs(client, RoomMessagesDocument, { room: 'sub' });
    await fourth.ended();
    expect(fourth.error).toMatchObject([{ extensions: { code: 'RATE_LIMITED' } }]);
    const retryAfterMs = (fourth.error as { extensions: { retryAfterMs: number } }[])[0]!.extensions.retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    // Ending a subscription gives no new start within the window.
    streams[0]!.dispose();
    const fifth = subscribeWs(client, RoomMessagesDocument, { room: 'sub' });
    await fifth.ended();
    expect(fifth.error).toMatchObject([{ extensions: { code: 'RATE_LIMITED' } }]);
    const other = wsClient(server.wsUrl);
    cleanups.push(() => other.dispose());
    expect((await executeWs(other, PublishDocument, { room: 'sub', event: 'e', data: 'hi' })).data?.publish.seq).toBe(1);
    for (const stream of streams.slice(1)) expect((await stream.next()).data?.messages).toMatchObject({ seq: 1, data: 'hi' });
    expect(closed).toBe(false);
  });
});

describe('MAX_RESPONSE_BYTES', () => {
  const aliased = (count: number, limit: number) =>
    `query { ${Array.from({ length: count }, (_, i) => `h${i}: history(room: $room, limit: ${limit}) { seq data }`).join(' ')} }`.replace(
      'query {',
      'query($room: ID!) {',
    );

  it('should refuse 15 aliased history reads of big messages with RESPONSE_TOO_LARGE (413) at the default 16 MiB, and pass small ones', async () => {
    const server = await serverWith({});
    const big = 'x'.repeat(60_000);
    for (let n = 0; n < 20; n++) expect((await publish(server, {}, 'big', { n, big })).status).toBe(200);
    for (let n = 0; n < 20; n++) expect((await publish(server, {}, 'small', { n })).status).toBe(200);
    // 15 × 20 × ~60 kB ≈ 18 MB.
    const refused = await post(server, aliased(15, 50), { room: 'big' });
    expect(refused.status).toBe(413);
    expect(refused.body.data).toBeNull();
    expect(codeOf(refused)).toBe('RESPONSE_TOO_LARGE');
    expect(refused.body.errors?.[0]?.message).toMatch(/MAX_RESPONSE_BYTES/);
    // One read of the same messages is well within it; so are 15 of small messages.
    expect((await post(server, aliased(1, 50), { room: 'big' })).status).toBe(200);
    const small = await post(server, aliased(15, 50), { room: 'small' });
    expect(small.status).toBe(200);
    expect(Object.keys(small.body.data!)).toHaveLength(15);
  });

  it('should count per operation, over the WebSocket too', async () => {
    const server = await serverWith({ MAX_RESPONSE_BYTES: '100000' });
    for (let n = 0; n < 2; n++) expect((await publish(server, {}, 'mid', { n, pad: 'x'.repeat(30_000) })).status).toBe(200);
    // 2 × ~30 kB: within 100 kB once, over it twice in one operation.
    expect((await post(server, aliased(1, 10), { room: 'mid' })).status).toBe(200);
    expect((await post(server, aliased(1, 10), { room: 'mid' })).status).toBe(200);
    expect(codeOf(await post(server, aliased(2, 10), { room: 'mid' }))).toBe('RESPONSE_TOO_LARGE');
    const client = wsClient(server.wsUrl);
    cleanups.push(() => client.dispose());
    const ok = await executeWs(client, HistoryDocument, { room: 'mid', limit: 10 });
    expect(ok.data?.history).toHaveLength(2);
    const refused = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: aliased(2, 10), variables: { room: 'mid' } }, { next: resolve, error: resolve, complete: () => {} });
    });
    expect(refused).toMatchObject({ data: null, errors: [{ extensions: { code: 'RESPONSE_TOO_LARGE' } }] });
  });
});
