/**
 * Three Roomcast processes on a Redis Cluster (REDIS_CLUSTER_NODES; three masters and three replicas,
 * started here): rooms on every master deliver from any replica, in one order, once; cursors resume on
 * any replica, with HistoryGap and epochs as on one Redis; broadcasts, idempotency keys and presence are
 * shared; a replica's channel subscriptions are SSUBSCRIBEs on each room's own master, released there;
 * roomcast/publisher and `roomcast publish --redis-cluster-nodes` publish into rooms on every master.
 */
import { spawn } from 'node:child_process';
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BroadcastDocument,
  BroadcastsDocument,
  PresenceDocument,
  PublishDocument,
  RoomMessagesDocument,
  type RoomMessagesSubscription,
} from '../generated/graphql.js';
import { postGraphQL, subscribeWs, untilLive, wsClient } from '../helpers/clients.js';
import { joinRoom, type RoomMember } from '../helpers/presence.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';
import { createPublisher } from '../../src/publisher/index.js';

let cluster: RedisCluster;
let replicas: Replica[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  cluster = await RedisCluster.start(inject('redisServerBin'));
  replicas = await Promise.all(
    ['a', 'b', 'c'].map((name) => startReplica({ REDIS_CLUSTER_NODES: cluster.seeds, REPLICA_ID: name, HISTORY_SIZE: '20' })),
  );
}, 60_000);
afterAll(async () => {
  for (const client of clients) await client.dispose();
  for (const replica of replicas) expect(await replica.stop()).toBe(0);
  await cluster?.stop();
});

const connect = (replica: Replica) => {
  const client = wsClient(replica.wsUrl);
  clients.push(client);
  return client;
};
const publish = async (replica: Replica, room: string, data: unknown, idempotencyKey?: string) => {
  const { body } = await postGraphQL(replica.url, PublishDocument, { room, event: 'e', data, idempotencyKey });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
};
type Result = ExecutionResult<RoomMessagesSubscription>;
const message = (r: Result) => r.data!.messages as { __typename: string; seq: number; data: unknown; cursor: string };
const shardSubscribers = (node: RedisServer, room: string) => RedisCluster.shardSubscribers(node, `roomcast:{${room}}`);

describe('three replicas on a Redis Cluster', () => {
  it('should deliver every message published on any replica to subscribers on every replica, in rooms on every master, in order, once', async () => {
    const { rooms, masters } = await cluster.roomsOnEveryMaster('fanout');
    for (const [r, room] of rooms.entries()) {
      const live = replicas.map((replica) => subscribeWs(connect(replica), RoomMessagesDocument, { room }));
      const liveFrom: number[] = [];
      for (const [i, stream] of live.entries()) {
        liveFrom.push(
          await untilLive(
            stream,
            (result) => message(result).seq,
            () => publish(replicas[i]!, room, 'probe'),
          ),
        );
      }
      const probes = Math.max(...liveFrom);
      for (const [i, stream] of live.entries()) {
        while (liveFrom[i]! < probes) liveFrom[i] = message(await stream.next()).seq;
      }
      await Promise.all(
        replicas.map(async (replica, p) => {
          for (let n = 0; n < 10; n++) await publish(replica, room, { p, n });
        }),
      );
      const reference = (await live[0]!.take(30)).map(message);
      expect(reference.map((m) => m.seq)).toEqual(Array.from({ length: 30 }, (_, i) => probes + 1 + i));
      for (const stream of live.slice(1)) expect((await stream.take(30)).map(message)).toEqual(reference);
      for (const stream of live) await stream.expectNothing(50);
      // One sharded subscription per replica, on the room's master only.
      expect(await shardSubscribers(masters[r]!, room)).toBe(3);
      for (const other of masters.filter((master) => master !== masters[r])) expect(await shardSubscribers(other, room)).toBe(0);
      for (const stream of live) stream.dispose();
      await waitFor(`every replica to release ${room}`, async () => (await shardSubscribers(masters[r]!, room)) === 0);
    }
  });

  it('should resume on another replica with exactly what was missed, and announce a HistoryGap past HISTORY_SIZE', async () => {
    const { rooms } = await cluster.roomsOnEveryMaster('resume');
    for (const room of rooms) {
      const first = await publish(replicas[0]!, room, 0);
      for (let n = 1; n <= 24; n++) await publish(replicas[n % 3]!, room, n);
      const stream = subscribeWs(connect(replicas[1]!), RoomMessagesDocument, { room, after: first.cursor });
      const [gap, ...held] = await stream.take(21);
      expect(gap!.data!.messages).toEqual({ __typename: 'HistoryGap', room, after: first.cursor, missed: 4 });
      expect(held.map((r) => message(r).data)).toEqual(Array.from({ length: 20 }, (_, i) => 5 + i));
      await publish(replicas[2]!, room, 'live');
      expect(message(await stream.next())).toMatchObject({ seq: 26, data: 'live' });
      stream.dispose();
    }
  });

  it('should deliver a broadcast from any replica to every broadcasts subscriber', async () => {
    const first = (await postGraphQL(replicas[0]!.url, BroadcastDocument, { event: 'hello', data: 0 })).body.data!.broadcast;
    const streams = replicas.map((r) => subscribeWs(connect(r), BroadcastsDocument, { after: first.cursor }));
    for (const [i, replica] of replicas.entries()) await postGraphQL(replica.url, BroadcastDocument, { event: 'hello', data: { from: i } });
    for (const stream of streams) {
      const got = (await stream.take(3)).map((r) => r.data!.broadcasts as { room: string; data: unknown });
      expect(got.map((m) => m.data)).toEqual([{ from: 0 }, { from: 1 }, { from: 2 }]);
      stream.dispose();
    }
  });

  it('should answer a repeated idempotency key on any replica with the stored message', async () => {
    const { rooms } = await cluster.roomsOnEveryMaster('idem');
    for (const room of rooms) {
      const attempts = await Promise.all(replicas.map((replica) => publish(replica, room, 'once', 'order-1')));
      expect(new Set(attempts.map((m) => m.cursor)).size).toBe(1);
      expect(attempts[0]!.seq).toBe(1);
      expect((await publish(replicas[0]!, room, 'next')).seq).toBe(2);
    }
  });

  it('should count members on every replica in one presence, in rooms on every master', async () => {
    const { rooms } = await cluster.roomsOnEveryMaster('members');
    const members: RoomMember[] = [];
    try {
      for (const room of rooms) {
        for (const [i, replica] of replicas.entries()) members.push(joinRoom(replica.wsUrl, room, `c${i}`));
      }
      for (const room of rooms) {
        for (const replica of replicas) {
          await waitFor(`3 members of ${room}`, async () => {
            const { body } = await postGraphQL(replica.url, PresenceDocument, { room, limit: 10 });
            return body.data?.presence.count === 3;
          });
        }
      }
    } finally {
      for (const member of members) await member.leave();
    }
  });

  it('should let roomcast/publisher and the CLI publish into rooms on every master, reaching subscribers on every replica', async () => {
    const { rooms } = await cluster.roomsOnEveryMaster('backend');
    const publisher = createPublisher({ redisClusterNodes: cluster.seeds.split(',') });
    try {
      for (const room of rooms) {
        const streams = replicas.map((replica) => subscribeWs(connect(replica), RoomMessagesDocument, { room }));
        const liveFrom: number[] = [];
        for (const stream of streams) {
          liveFrom.push(
            await untilLive(
              stream,
              (result) => message(result).seq,
              () => publish(replicas[0]!, room, 'probe'),
            ),
          );
        }
        const before = Math.max(...liveFrom);
        for (const [i, stream] of streams.entries()) {
          while (liveFrom[i]! < before) liveFrom[i] = message(await stream.next()).seq;
        }
        const first = await publisher.publish(room, 'e', { from: 'publisher' });
        expect(first.seq).toBe(before + 1);
        const cli = spawn(
          process.execPath,
          ['--import', 'tsx', 'src/cli/main.ts', 'publish', room, 'e', '{"from":"cli"}', '--redis-cluster-nodes', cluster.seeds],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        cli.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        expect(await within(new Promise((resolve) => cli.once('exit', resolve)), 20_000, 'the CLI to exit')).toBe(0);
        expect(JSON.parse(out)).toMatchObject({ room, seq: first.seq + 1, data: { from: 'cli' } });
        for (const stream of streams) {
          const seen = (await stream.take(2)).map(message);
          expect(seen.map((m) => [m.seq, m.data])).toEqual([
            [first.seq, { from: 'publisher' }],
            [first.seq + 1, { from: 'cli' }],
          ]);
          stream.dispose();
        }
      }
    } finally {
      await publisher.close();
    }
  });

  it('should refuse to publish through a REDIS_URL (or redisUrl) that names a cluster node, saying what to set', async () => {
    const misplaced = await startReplica({ REDIS_URL: `redis://127.0.0.1:${cluster.nodes[0]!.port}` });
    const publisher = createPublisher({ redisUrl: `redis://127.0.0.1:${cluster.nodes[0]!.port}` });
    try {
      await waitFor('not ready', async () => (await fetch(new URL('/readyz', misplaced.url))).status === 503);
      expect(misplaced.output.some((line) => line.includes('refusing to publish') && line.includes('REDIS_CLUSTER_NODES'))).toBe(true);
      const { body } = await postGraphQL(misplaced.url, PublishDocument, { room: 'anywhere', event: 'e', data: 1 });
      expect(body.errors?.[0]).toMatchObject({
        extensions: { code: 'UNAVAILABLE' },
        message: expect.stringContaining('REDIS_CLUSTER_NODES'),
      });
      await expect(publisher.publish('anywhere', 'e', 1)).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringContaining('redisClusterNodes'),
      });
    } finally {
      await publisher.close();
      expect(await misplaced.stop()).toBe(0);
    }
  });
});
