/**
 * GET /metrics on in-process servers (memory and Redis brokers, direct delivery on and off, SSE):
 * the counters are exact (N publishes to M subscribers read back as N and N·M), the gauges follow
 * what is open, no label holds a room id, and METRICS_PORT / METRICS=off move or remove the endpoint.
 */
import type { Client } from 'graphql-ws';
import { connect as connectTcp } from 'node:net';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeSse, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
import { acknowledged, closeCode, opened } from '../helpers/raw-ws.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterAll(async () => {
  await redis?.stop();
});
const server = serversOfThisFile();
const clients: Client[] = [];
const streams: Stream<unknown>[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.dispose();
  for (const client of clients.splice(0)) await client.dispose();
});

const metricsUrl = (target: TestServer) => new URL('/metrics', target.url).toString();

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.text();
}

/** The sum of a metric's samples whose labels include `labels` (a counter's total across its labels, by default). */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const own = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, v]) => own[key] === v)) sum += Number(match[3]);
  }
  return sum;
}

const publish = async (target: TestServer, room: string, n: number) => {
  const { body } = await postGraphQL(target.url, PublishDocument, { room, event: 'tick', data: { n } });
  expect(body.errors).toBeUndefined();
  return body.data!.publish;
};

const N = 7;
const M = 4;

describe.each([
  ['memory', 'on', () => ({ DIRECT_DELIVERY: 'on' })],
  ['memory', 'off', () => ({ DIRECT_DELIVERY: 'off' })],
  ['redis', 'on', () => ({ REDIS_URL: redis.url, DIRECT_DELIVERY: 'on' })],
])('metrics, %s broker, DIRECT_DELIVERY=%s', (broker, _direct, env) => {
  it(`should count ${N} publishes to ${M} WebSocket subscribers as ${N} and ${N}·${M}, exactly`, async () => {
    const target = await server(env());
    const room = 'secret-room-xyz';
    // Subscribers resume after a first message, so that they get exactly the N that follow it.
    const seed = await publish(target, room, 0);
    const before = await scrape(metricsUrl(target));
    const subscribed = Array.from({ length: M }, () => {
      const client = wsClient(target.wsUrl);
      clients.push(client);
      return subscribeWs(client, RoomMessagesDocument, { room, after: seed.cursor });
    });
    // Live on the broker before the publishes, so that each one reaches this replica as it is published.
    await waitFor('subscriptions live', async () => value(await scrape(metricsUrl(target)), 'roomcast_subscriptions') === M);
    for (let n = 1; n <= N; n++) await publish(target, room, n);
    for (const stream of subscribed)
      expect((await stream.take(N)).map((e) => (e.data?.messages as { seq: number }).seq)).toEqual([2, 3, 4, 5, 6, 7, 8]);

    const after = await scrape(metricsUrl(target));
    const grew = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(grew('roomcast_publishes_total', { result: 'ok' })).toBe(N);
    expect(grew('roomcast_publishes_total')).toBe(N);
    expect(grew('roomcast_messages_delivered_total', { transport: 'websocket' })).toBe(N * M);
    expect(grew('roomcast_messages_delivered_total')).toBe(N * M);
    // Each frame holds at least the message's room name and JSON around it.
    expect(grew('roomcast_delivered_bytes_total', { transport: 'websocket' })).toBeGreaterThan(N * M * 100);
    expect(grew('roomcast_publish_duration_seconds_count')).toBe(N);
    expect(grew('roomcast_delivery_latency_seconds_count')).toBe(N);
    expect(value(after, 'roomcast_websocket_connections')).toBe(M);
    expect(value(after, 'roomcast_rooms_listened')).toBe(1);
    expect(value(after, 'roomcast_broker_ready')).toBe(1);
    if (broker === 'redis') expect(grew('roomcast_redis_command_duration_seconds_count', { command: 'publish' })).toBe(N);
    // Node's default metrics come along; no label, sample or help text holds the room's id.
    expect(after).toContain('nodejs_eventloop_lag_seconds');
    expect(after).toContain('nodejs_heap_size_used_bytes');
    expect(after).not.toContain('secret-room-xyz');
    expect(after).not.toContain('secret');
  });
});

describe('operation ids reused while their operation is set up', () => {
  it('should end every subscription: the reuse is refused, the first is ended by its complete', async () => {
    const target = await server();
    const ws = new WebSocket(target.wsUrl, 'graphql-transport-ws');
    await opened(ws);
    const answers: { id?: string; type: string; payload?: { extensions?: { code?: string } }[] }[] = [];
    ws.on('message', (data) => answers.push(JSON.parse((data as Buffer).toString()) as (typeof answers)[number]));
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await waitFor('connection_ack', () => answers.some((answer) => answer.type === 'connection_ack'));
    const query = 'subscription { messagesIn(rooms: ["reused-1", "reused-2"]) { ... on Message { seq } } }';
    for (let i = 0; i < 20; i++) {
      // One burst: the second subscribe arrives while the first is still being set up.
      ws.send(JSON.stringify({ id: `op-${i}`, type: 'subscribe', payload: { query } }));
      ws.send(JSON.stringify({ id: `op-${i}`, type: 'complete' }));
      ws.send(JSON.stringify({ id: `op-${i}`, type: 'subscribe', payload: { query } }));
    }
    const refusals = () => answers.filter((answer) => answer.type === 'error');
    await waitFor('every reuse refused', () => refusals().length === 20);
    ws.close();
    await waitFor('every subscription ended', async () => {
      const text = await scrape(metricsUrl(target));
      return value(text, 'roomcast_subscriptions') === 0 && value(text, 'roomcast_rooms_listened') === 0;
    });
    for (const answer of answers.filter((answer) => answer.type === 'error'))
      expect(answer.payload?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('should end the subscriptions whose socket closed while they were set up', async () => {
    const target = await server();
    for (let round = 0; round < 5; round++) {
      const ws = new WebSocket(target.wsUrl, 'graphql-transport-ws');
      await acknowledged(ws);
      for (let i = 0; i < 20; i++) {
        ws.send(
          JSON.stringify({
            id: `op-${i}`,
            type: 'subscribe',
            payload: { query: `subscription { messages(room: "closing-${i}") { ... on Message { seq } } }` },
          }),
        );
      }
      ws.terminate();
    }
    await waitFor('every subscription ended', async () => {
      const text = await scrape(metricsUrl(target));
      return value(text, 'roomcast_subscriptions') === 0 && value(text, 'roomcast_rooms_listened') === 0;
    });
  });
});

describe('metrics over SSE, and refusals', () => {
  it(`should count ${N} publishes to ${M} event streams as ${N}·${M} SSE frames, and the streams open`, async () => {
    const target = await server();
    const room = 'sse-room';
    const seed = await publish(target, room, 0);
    const before = await scrape(metricsUrl(target));
    const subscribed = Array.from({ length: M }, () => {
      const stream = subscribeSse(target.url, RoomMessagesDocument, { room, after: seed.cursor });
      streams.push(stream);
      return stream;
    });
    await waitFor('streams live', async () => value(await scrape(metricsUrl(target)), 'roomcast_subscriptions') === M);
    for (let n = 1; n <= N; n++) await publish(target, room, n);
    for (const stream of subscribed) expect(await stream.take(N)).toHaveLength(N);
    const after = await scrape(metricsUrl(target));
    const grew = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(grew('roomcast_messages_delivered_total', { transport: 'sse' })).toBe(N * M);
    expect(grew('roomcast_messages_delivered_total', { transport: 'websocket' })).toBe(0);
    expect(grew('roomcast_delivered_bytes_total', { transport: 'sse' })).toBeGreaterThan(N * M * 100);
    expect(value(after, 'roomcast_sse_streams')).toBe(M);
    for (const stream of streams.splice(0)) stream.dispose();
    await waitFor('streams closed', async () => value(await scrape(metricsUrl(target)), 'roomcast_sse_streams') === 0);
  });

  it('should release the subscription of a client that goes while its stream is being set up', async () => {
    // Two asynchronous steps before the stream starts: the token is verified, the Redis broker answers.
    const secret = 'a-test-secret-of-at-least-32-bytes!!';
    const target = await server({ AUTH_JWT_SECRET: secret, REDIS_URL: redis.url });
    const token = await new SignJWT({ sub: 'user-1', roomcast: { '*': ['subscribe'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    const query = 'subscription { messagesIn(rooms: ["left-1", "left-2"]) { ... on Message { seq } } }';
    const { port } = new URL(target.url);
    const body = JSON.stringify({ query });
    const requests = [
      // GET: through Yoga's Node adapter. POST: through the server's own buffered path.
      `GET /graphql?token=${token}&query=${encodeURIComponent(query)} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n`,
      `POST /graphql HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    ];
    for (let i = 0; i < 40; i++) {
      await Promise.all(
        requests.map(
          (request) =>
            new Promise<void>((resolve) => {
              const socket = connectTcp(Number(port), '127.0.0.1', () => {
                socket.write(request, () => {
                  socket.resetAndDestroy();
                  resolve();
                });
              });
              socket.on('error', () => resolve());
            }),
        ),
      );
    }
    // A stream opened and closed after them: once it is gone, so is everything the others set up.
    const last = subscribeSse(target.url, RoomMessagesDocument, { room: 'left-1' }, { authorization: `Bearer ${token}` });
    await waitFor('the last stream live', async () => value(await scrape(metricsUrl(target)), 'roomcast_sse_streams') >= 1);
    last.dispose();
    await waitFor('every subscription and stream released', async () => {
      const text = await scrape(metricsUrl(target));
      return ['roomcast_subscriptions', 'roomcast_rooms_listened', 'roomcast_sse_streams'].every((name) => value(text, name) === 0);
    });
  });

  it('should release the subscription of a request answered 406 (an Accept nothing can stream to)', async () => {
    const target = await server();
    const query = 'subscription { messagesIn(rooms: ["unsent-1", "unsent-2"]) { ... on Message { seq } } }';
    const get = new URL(target.url);
    get.searchParams.set('query', query);
    const answers = await Promise.all([
      ...['application/json', 'text/html', 'multipart/mixed'].map((accept) =>
        fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json', accept }, body: JSON.stringify({ query }) }),
      ),
      fetch(get, { headers: { accept: 'application/json' } }),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual([406, 406, 406, 406]);
    await waitFor('every subscription released', async () => {
      const text = await scrape(metricsUrl(target));
      return value(text, 'roomcast_subscriptions') === 0 && value(text, 'roomcast_rooms_listened') === 0;
    });
  });

  it('should count rejected publishes by code, never by room', async () => {
    const target = await server({ PUBLISH_RATE_LIMIT: '1/1m' });
    const before = await scrape(metricsUrl(target));
    await publish(target, 'limited-room-abc', 1);
    const refused = await postGraphQL(target.url, PublishDocument, { room: 'limited-room-abc', event: 'tick', data: { n: 2 } });
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    const bad = await postGraphQL(target.url, PublishDocument, { room: 'bad room!', event: 'tick', data: {} });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const after = await scrape(metricsUrl(target));
    const grew = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(grew('roomcast_publishes_total', { result: 'ok' })).toBe(1);
    expect(grew('roomcast_publishes_total', { result: 'rejected', code: 'RATE_LIMITED' })).toBe(1);
    expect(grew('roomcast_publishes_total', { result: 'rejected', code: 'BAD_USER_INPUT' })).toBe(1);
    expect(grew('roomcast_publishes_rate_limited_total')).toBe(1);
    expect(after).not.toContain('limited-room-abc');
  });
});

describe('refused tokens, closes and gaps', () => {
  it('should count them by reason and by code, never by user, token or room', async () => {
    const secret = 'a-test-secret-of-at-least-32-bytes!!';
    const target = await server({
      AUTH_JWT_SECRET: secret,
      ANONYMOUS_CAPABILITY: JSON.stringify({ '*': ['subscribe', 'history', 'publish'] }),
      HISTORY_SIZE: '2',
    });
    const before = await scrape(metricsUrl(target));
    const expired = await new SignJWT({ sub: 'user-alice-123' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 120)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(secret));
    const refused = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${expired}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(refused.status).toBe(401);
    const forged = `${expired.slice(0, -4)}AAAA`;
    const socket = new WebSocket(target.wsUrl, 'graphql-transport-ws');
    await opened(socket);
    const closed = closeCode(socket);
    socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${forged}` } }));
    expect(await closed).toBe(4403);
    // A cursor older than what is held (HISTORY_SIZE 2): one HistoryGap.
    const first = await publish(target, 'gap-room-qrs', 1);
    for (let n = 2; n <= 5; n++) await publish(target, 'gap-room-qrs', n);
    const client = wsClient(target.wsUrl);
    clients.push(client);
    const [gap] = await subscribeWs(client, RoomMessagesDocument, { room: 'gap-room-qrs', after: first.cursor }).take(3);
    expect(gap!.data?.messages).toMatchObject({ __typename: 'HistoryGap' });
    const after = await waitFor('the close counted', async () => {
      const text = await scrape(metricsUrl(target));
      return (
        value(text, 'roomcast_websocket_closes_total', { code: '4403' }) >
          value(before, 'roomcast_websocket_closes_total', { code: '4403' }) && text
      );
    });
    const grew = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(grew('roomcast_auth_failures_total', { reason: 'expired' })).toBe(1);
    expect(grew('roomcast_auth_failures_total', { reason: 'bad_signature' })).toBe(1);
    expect(grew('roomcast_websocket_closes_total', { code: '4403' })).toBe(1);
    expect(grew('roomcast_history_gaps_total')).toBe(1);
    for (const secretText of ['user-alice-123', expired.slice(0, 20), forged.slice(-20), 'gap-room-qrs'])
      expect(after).not.toContain(secretText);
  });
});

describe('where the metrics are served', () => {
  it('should serve them on METRICS_PORT only, at METRICS_PATH, when set', async () => {
    const port = await freePort();
    const target = await server({ METRICS_PORT: String(port), METRICS_PATH: '/internal/prom' });
    expect((await fetch(metricsUrl(target))).status).toBe(404);
    expect((await fetch(new URL('/internal/prom', target.url))).status).toBe(404);
    const text = await scrape(`http://127.0.0.1:${port}/internal/prom`);
    expect(text).toContain('roomcast_publishes_total');
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/graphql`)).status).toBe(404);
    await target.close();
    await expect(fetch(`http://127.0.0.1:${port}/internal/prom`)).rejects.toThrow();
  });

  it('should serve nothing with METRICS=off', async () => {
    const target = await server({ METRICS: 'off' });
    expect((await fetch(metricsUrl(target))).status).toBe(404);
    // The API is unaffected.
    expect((await postGraphQL(target.url, PublishDocument, { room: 'r', event: 'e', data: {} })).body.errors).toBeUndefined();
  });

  it('should refuse methods other than GET and HEAD', async () => {
    const target = await server();
    expect((await fetch(metricsUrl(target), { method: 'POST' })).status).toBe(405);
    expect((await fetch(metricsUrl(target), { method: 'HEAD' })).status).toBe(200);
  });
});

describe('Redis reconnects', () => {
  it('should count the reconnection attempts of both connections, and the broker not ready meanwhile', async () => {
    const target = await server({ REDIS_URL: redis.url, BROKER_TIMEOUT_MS: '300' });
    const before = await scrape(metricsUrl(target));
    expect(value(before, 'roomcast_broker_ready')).toBe(1);
    await redis.kill();
    await waitFor('broker not ready', async () => value(await scrape(metricsUrl(target)), 'roomcast_broker_ready') === 0);
    await redis.start();
    const after = await waitFor('broker ready again', async () => {
      const text = await scrape(metricsUrl(target));
      return value(text, 'roomcast_broker_ready') === 1 && text;
    });
    expect(value(after, 'roomcast_redis_reconnects_total', { connection: 'publisher' })).toBeGreaterThanOrEqual(1);
    expect(value(after, 'roomcast_redis_reconnects_total', { connection: 'subscriber' })).toBeGreaterThanOrEqual(1);
  });
});
