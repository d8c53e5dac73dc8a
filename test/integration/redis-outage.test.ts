/**
 * Redis goes away and comes back, for real: a test-owned redis-server is stopped, killed, restarted
 * (with or without its data) and stalled, under a Roomcast server with connected subscribers (of one
 * room, of several rooms, throttled).
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { PublishDocument, RoomMessagesDocument, RoomsMessagesDocument, type RoomMessagesSubscription } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';
import type { ExecutionResult } from 'graphql';

let redis: RedisServer;
let server: TestServer;
let client: Client;
let socketClosed: boolean;

beforeEach(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
  server = await startTestServer({ REDIS_URL: redis.url, BROKER_TIMEOUT_MS: '500' });
  client = wsClient(server.wsUrl);
  socketClosed = false;
  client.on('closed', () => (socketClosed = true));
});
afterEach(async () => {
  await client.dispose();
  await server.close();
  await redis.stop();
});

const publish = (room: string, data: unknown, target = server) => postGraphQL(target.url, PublishDocument, { room, event: 'e', data });
const published = async (room: string, data: unknown) => {
  const { body } = await publish(room, data);
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
};
const status = async (path: string, target = server) => (await fetch(new URL(path, target.url))).status;
const event = (r: ExecutionResult<RoomMessagesSubscription>) => r.data!.messages as Record<string, unknown>;

describe('Redis outage', () => {
  it('should fail publishes fast and report not ready while Redis is down, keep subscribers, and recover with the same data', async () => {
    const room = 'outage';
    const start = await published(room, 0);
    const stream = subscribeWs(client, RoomMessagesDocument, { room, after: start.cursor });
    const one = await published(room, 1);
    expect(event(await stream.next())).toMatchObject({ seq: 2, data: 1 });

    await redis.shutdownSaving();
    const began = Date.now();
    const failed = await publish(room, 'lost');
    expect(Date.now() - began).toBeLessThan(1_500);
    expect(failed.status).toBe(503);
    expect(failed.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    await waitFor('/readyz to report 503', async () => (await status('/readyz')) === 503);
    expect(await status('/healthz')).toBe(200);

    await redis.start({ keepData: true });
    await waitFor('/readyz to report 200 again', async () => (await status('/readyz')) === 200, 15_000);
    const two = await published(room, 2);
    expect(two.seq).toBe(3);
    expect(event(await stream.next())).toMatchObject({ __typename: 'Message', seq: 3, data: 2 });
    expect(socketClosed).toBe(false);
    expect(stream.error).toBeUndefined();

    const resumed = subscribeWs(client, RoomMessagesDocument, { room, after: one.cursor });
    expect(event(await resumed.next())).toMatchObject({ seq: 3, data: 2 });
  });

  it('should start a new epoch when Redis comes back with less than it acknowledged: HistoryGap(missed: null), never two messages with one cursor', async () => {
    const room = 'rollback';
    const start = await published(room, 0);
    const stream = subscribeWs(client, RoomMessagesDocument, { room, after: start.cursor });
    await published(room, 1);
    expect(event(await stream.next())).toMatchObject({ seq: 2, data: 1 });
    await redis.command('SAVE'); // what Redis will come back with: seq 2
    const lost = [await published(room, 'lost'), await published(room, 'lost too')];
    expect([event(await stream.next()), event(await stream.next())]).toMatchObject([{ seq: 3 }, { seq: 4 }]);

    // A restart from the older snapshot, as a failover to a replica that had not received 3 and 4.
    await redis.kill();
    await redis.start({ keepData: true });
    // The server notices on its catch-up after reconnecting: the head (2) is behind what it delivered (4).
    expect(event(await stream.next())).toEqual({ __typename: 'HistoryGap', room, after: lost[1]!.cursor, missed: null });
    const next = await published(room, 'after');
    expect(next.seq).toBe(1); // a new epoch: seq 3 and 4 of the old one will never name other messages
    expect(event(await stream.next())).toMatchObject({ seq: 1, data: 'after', cursor: next.cursor });
    expect(socketClosed).toBe(false);

    // Clients holding a cursor of the lost messages, or of the rest of the old epoch, are told plainly too.
    for (const after of [lost[0]!.cursor, start.cursor]) {
      const resumed = subscribeWs(client, RoomMessagesDocument, { room, after });
      expect(event(await resumed.next())).toEqual({ __typename: 'HistoryGap', room, after, missed: null });
      expect(event(await resumed.next())).toMatchObject({ seq: 1, data: 'after' });
      resumed.dispose();
    }
    const metrics = await (await fetch(new URL('/metrics', server.url))).text();
    expect(metrics).toMatch(/^roomcast_history_rollbacks_total 1$/m);
  });

  it('should end a rolled-back epoch once when two servers notice it at once: one new epoch, each subscriber told once', async () => {
    const other = await startTestServer({ REDIS_URL: redis.url, BROKER_TIMEOUT_MS: '500' });
    const otherClient = wsClient(other.wsUrl);
    try {
      const room = 'raced';
      const start = await published(room, 0);
      const streams = [client, otherClient].map((c) => subscribeWs(c, RoomMessagesDocument, { room, after: start.cursor }));
      await published(room, 1);
      for (const stream of streams) expect(event(await stream.next())).toMatchObject({ seq: 2, data: 1 });
      await redis.command('SAVE');
      const lost = [await published(room, 'lost'), await published(room, 'lost too')];
      for (const stream of streams)
        expect([event(await stream.next()), event(await stream.next())]).toMatchObject([{ seq: 3 }, { seq: 4 }]);

      // Both servers reconnect to the older snapshot together, and both see the head went back.
      await redis.kill();
      await redis.start({ keepData: true });
      for (const stream of streams) {
        expect(event(await stream.next())).toEqual({ __typename: 'HistoryGap', room, after: lost[1]!.cursor, missed: null });
      }
      const next = await published(room, 'after');
      expect(next.seq).toBe(1);
      for (const stream of streams) expect(event(await stream.next())).toMatchObject({ seq: 1, data: 'after', cursor: next.cursor });
      // The epoch was ended once: a slower renewal found the new epoch and left it alone.
      const again = await published(room, 'again');
      expect(again.seq).toBe(2);
      for (const stream of streams) {
        expect(event(await stream.next())).toMatchObject({ seq: 2, data: 'again' });
        await stream.expectNothing(100);
      }
      const rollbacks = async (target: TestServer) =>
        Number(/^roomcast_history_rollbacks_total (\d+)$/m.exec(await (await fetch(new URL('/metrics', target.url))).text())?.[1]);
      // Each counts what it saw: the rollback, or (when the other had already ended the epoch before its
      // catch-up read) a history that was gone, which is no rollback of its own.
      const counted = [await rollbacks(server), await rollbacks(other)];
      expect(counted.every((n) => n <= 1) && counted.some((n) => n === 1), String(counted)).toBe(true);
    } finally {
      await otherClient.dispose();
      await other.close();
    }
  });

  it('should keep a subscription to several rooms and a throttled one through an outage, then deliver again', async () => {
    const [a, b] = ['outage-in-a', 'outage-in-b'];
    const a0 = await published(a, 0);
    const b0 = await published(b, 0);
    const several = subscribeWs(client, RoomsMessagesDocument, { rooms: [a, b], after: [a0.cursor, b0.cursor] });
    const throttled = subscribeWs(client, RoomMessagesDocument, { room: a, after: a0.cursor, throttleMs: 50 });
    await published(a, 1);
    expect((await several.next()).data?.messagesIn).toMatchObject({ room: a, data: 1 });
    expect(event(await throttled.next())).toMatchObject({ data: 1 });

    await redis.shutdownSaving();
    await waitFor('/readyz to report 503', async () => (await status('/readyz')) === 503);
    await redis.start({ keepData: true });
    await waitFor('/readyz to report 200 again', async () => (await status('/readyz')) === 200, 15_000);
    await published(b, 2);
    await published(a, 3);
    const after = (await several.take(2)).map((r) => r.data?.messagesIn as Record<string, unknown>);
    // Live, or caught up from history room by room if they came while the subscription re-synced.
    expect(after.map((m) => [m.room, m.data]).sort()).toEqual([
      [a, 3],
      [b, 2],
    ]);
    // The throttle's window closed long ago: the next message goes out at once.
    expect(event(await throttled.next())).toMatchObject({ data: 3 });
    expect(several.error).toBeUndefined();
    expect(throttled.error).toBeUndefined();
    expect(socketClosed).toBe(false);
  });

  it('should detect a Redis that came back empty: HistoryGap with missed null, then a new epoch', async () => {
    const room = 'empty';
    const start = await published(room, 0);
    const live = subscribeWs(client, RoomMessagesDocument, { room, after: start.cursor });
    const last = await published(room, 1);
    expect(event(await live.next())).toMatchObject({ seq: 2 });

    await redis.kill();
    await redis.start();
    await waitFor('/readyz to report 200 again', async () => (await status('/readyz')) === 200, 15_000);
    // The live subscriber is told its history is gone, then continues in the new epoch.
    expect(event(await live.next())).toEqual({ __typename: 'HistoryGap', room, after: last.cursor, missed: null });
    const fresh = await published(room, 2);
    expect(fresh.seq).toBe(1);
    expect(event(await live.next())).toMatchObject({ seq: 1, data: 2, cursor: fresh.cursor });
    // A client resuming with an old cursor is told too.
    const late = subscribeWs(client, RoomMessagesDocument, { room, after: last.cursor });
    expect(event(await late.next())).toMatchObject({ __typename: 'HistoryGap', missed: null });
    expect(event(await late.next())).toMatchObject({ seq: 1, data: 2 });
    expect(socketClosed).toBe(false);
  });

  it('should time out publishes to a stalled Redis with UNAVAILABLE within BROKER_TIMEOUT_MS (default 2 s)', async () => {
    const defaults = await startTestServer({ REDIS_URL: redis.url });
    try {
      await published('stall', 'warm-up').catch(() => undefined);
      const staller = redis.client();
      const prober = redis.client({ commandTimeout: 200 });
      await staller.ping();
      const stalled = staller.call('DEBUG', 'SLEEP', '4').catch(() => undefined);
      await waitFor(
        'Redis to stall',
        async () =>
          (await prober.ping().then(
            () => 'answered',
            () => 'stalled',
          )) === 'stalled',
      );
      prober.disconnect();
      try {
        const began = Date.now();
        const response = await publish('stall', 'late', defaults);
        const took = Date.now() - began;
        expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
        expect(took).toBeGreaterThanOrEqual(1_500);
        expect(took).toBeLessThan(3_000);
      } finally {
        await stalled;
        staller.disconnect();
      }
      await waitFor('publishes to work again', async () => (await publish('stall', 'after', defaults)).status === 200);
    } finally {
      await defaults.close();
    }
  });
});
