/**
 * Three Roomcast processes and one redis-server: any replica delivers, in one order, exactly once;
 * cursors resume on any replica; a Redis that lost its data is detected through the epoch.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import {
  BroadcastDocument,
  BroadcastsDocument,
  PublishDocument,
  RoomMessagesDocument,
  type RoomMessagesSubscription,
} from '../generated/graphql.js';
import { postGraphQL, subscribeWs, untilLive, wsClient } from '../helpers/clients.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
let replicas: Replica[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
  replicas = await Promise.all(['a', 'b', 'c'].map((name) => startReplica({ REDIS_URL: redis.url, REPLICA_ID: name, HISTORY_SIZE: '20' })));
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  for (const replica of replicas) expect(await replica.stop()).toBe(0);
  await redis?.stop();
});

const connect = (replica: Replica) => {
  const client = wsClient(replica.wsUrl);
  clients.push(client);
  return client;
};
const publish = async (replica: Replica, room: string, data: unknown) => {
  const { body } = await postGraphQL(replica.url, PublishDocument, { room, event: 'e', data });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
};
type Result = ExecutionResult<RoomMessagesSubscription>;
const message = (r: Result) => r.data!.messages as { __typename: string; seq: number; data: unknown; cursor: string };

describe('three replicas on one Redis', () => {
  it('should deliver every message published on any replica to subscribers on every replica, in seq order, once', async () => {
    const room = 'fanout';
    const start = await publish(replicas[0]!, room, 'start');
    // On each replica: one subscriber resuming from a cursor, one live without a cursor.
    const resumed = replicas.map((r) => subscribeWs(connect(r), RoomMessagesDocument, { room, after: start.cursor }));
    const live = replicas.map((r) => subscribeWs(connect(r), RoomMessagesDocument, { room }));
    const liveFrom: number[] = [];
    for (const [i, stream] of live.entries()) {
      liveFrom.push(
        await untilLive(
          stream,
          (r) => message(r).seq,
          () => publish(replicas[i]!, room, 'probe'),
        ),
      );
    }
    const probes = Math.max(...liveFrom);
    for (const [i, stream] of live.entries()) {
      while (liveFrom[i]! < probes) liveFrom[i] = message(await stream.next()).seq;
    }
    // 3 publishers at once, one per replica, 10 messages each.
    await Promise.all(
      replicas.map(async (replica, r) => {
        for (let n = 0; n < 10; n++) await publish(replica, room, { r, n });
      }),
    );
    const expected = Array.from({ length: 30 }, (_, i) => probes + 1 + i);
    const reference = (await live[0]!.take(30)).map(message);
    expect(reference.map((m) => m.seq)).toEqual(expected);
    for (const stream of live.slice(1)) expect((await stream.take(30)).map(message)).toEqual(reference);
    for (const stream of resumed) {
      const all = (await stream.take(probes - start.seq + 30)).map(message);
      expect(all.map((m) => m.seq)).toEqual(Array.from({ length: all.length }, (_, i) => start.seq + 1 + i));
      expect(all.slice(-30)).toEqual(reference);
    }
    for (const stream of [...live, ...resumed]) await stream.expectNothing(50);
    // One Redis channel subscription per replica, however many local subscribers.
    expect(await redis.command('PUBSUB', 'NUMSUB', `roomcast:{${room}}`)).toEqual([`roomcast:{${room}}`, 3]);
    for (const stream of [...live, ...resumed]) stream.dispose();
    await waitFor(
      'every replica to release the channel',
      async () => ((await redis.command('PUBSUB', 'NUMSUB', `roomcast:{${room}}`)) as [string, number])[1] === 0,
    );
  });

  it('should deliver a broadcast from any replica to every broadcasts subscriber', async () => {
    const first = (await postGraphQL(replicas[0]!.url, BroadcastDocument, { event: 'hello', data: 0 })).body.data!.broadcast;
    const streams = replicas.map((r) => subscribeWs(connect(r), BroadcastsDocument, { after: first.cursor }));
    for (const [i, replica] of replicas.entries()) {
      await postGraphQL(replica.url, BroadcastDocument, { event: 'hello', data: { from: i } });
    }
    for (const stream of streams) {
      const got = (await stream.take(3)).map((r) => r.data!.broadcasts as { room: string; data: unknown; seq: number });
      expect(got.map((m) => m.data)).toEqual([{ from: 0 }, { from: 1 }, { from: 2 }]);
      expect(got.every((m) => m.room === '*')).toBe(true);
      stream.dispose();
    }
  });

  it('should resume on another replica with exactly what was missed, then live', async () => {
    const room = 'resume';
    const a = subscribeWs(connect(replicas[0]!), RoomMessagesDocument, { room });
    await untilLive(
      a,
      (r) => message(r).seq,
      () => publish(replicas[1]!, room, 'probe'),
    );
    const last = message(a.items.at(-1)!);
    a.dispose();
    for (let n = 1; n <= 3; n++) await publish(replicas[1]!, room, { n });
    const c = subscribeWs(connect(replicas[2]!), RoomMessagesDocument, { room, after: last.cursor });
    expect((await c.take(3)).map((r) => message(r).data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await publish(replicas[0]!, room, { n: 4 });
    expect(message(await c.next()).data).toEqual({ n: 4 });
    c.dispose();
  });

  it('should announce a HistoryGap with the exact count past HISTORY_SIZE', async () => {
    const room = 'gap';
    const first = await publish(replicas[0]!, room, 0);
    for (let n = 1; n <= 24; n++) await publish(replicas[n % 3]!, room, n);
    const stream = subscribeWs(connect(replicas[1]!), RoomMessagesDocument, { room, after: first.cursor });
    const [gap, ...held] = await stream.take(21);
    expect(gap!.data!.messages).toEqual({ __typename: 'HistoryGap', room, after: first.cursor, missed: 4 });
    expect(held.map((r) => message(r).seq)).toEqual(Array.from({ length: 20 }, (_, i) => 6 + i));
    stream.dispose();
  });

  it('should detect a Redis that lost its data: HistoryGap with missed null, then the new history', async () => {
    const room = 'epoch';
    const old = await publish(replicas[0]!, room, 'before');
    await redis.command('FLUSHALL');
    const fresh = await publish(replicas[1]!, room, 'after');
    expect(fresh.seq).toBe(1);
    const stream = subscribeWs(connect(replicas[2]!), RoomMessagesDocument, { room, after: old.cursor });
    const [gap, next] = await stream.take(2);
    expect(gap!.data!.messages).toEqual({ __typename: 'HistoryGap', room, after: old.cursor, missed: null });
    expect(message(next!)).toMatchObject({ seq: 1, data: 'after', cursor: fresh.cursor });
    stream.dispose();
  });
});
