/**
 * Roomcast's Redis parts on a Redis Cluster (three masters, three replicas, started here): the broker
 * and presence contracts as on one Redis, and what sharding adds. Presence: a silent replica's members
 * in rooms on every master are reaped.
 *
 * The broker: Each room's keys and channel live on the master of
 * its hash tag's slot; a replica subscribes there with SSUBSCRIBE, one connection per master; a shard
 * whose subscriber connection drops re-reads the history of its own rooms only; a room's slot moved to
 * another master (`redis-cli --cluster reshard`) while it is published to loses nothing and repeats
 * nothing.
 */
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Backend } from '../../src/broker/backend.js';
import { createBroker, type Broker } from '../../src/broker/broker.js';
import { createRedisBackend } from '../../src/broker/redis.js';
import type { RedisTarget } from '../../src/broker/redis-connection.js';
import type { SubscriptionEvent } from '../../src/broker/subscription.js';
import { createLogger } from '../../src/log.js';
import { createPresence, type Presence } from '../../src/presence/presence.js';
import { createRedisPresenceStore } from '../../src/presence/redis.js';
import type { PresenceEvent } from '../../src/presence/types.js';
import { isHistoryGap, type Message } from '../../src/rooms/message.js';
import { describeBrokerContract } from '../contracts/broker.contract.js';
import { describePresenceContract } from '../contracts/presence.contract.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import type { RedisServer } from '../helpers/redis-server.js';
import { waitFor, within } from '../helpers/wait.js';

const PREFIX = 'test:';
const silent = createLogger('silent');
let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await RedisCluster.start(inject('redisServerBin'));
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

const target = (): RedisTarget => ({ kind: 'cluster', nodes: cluster.addresses, tls: false });

function clusterBackend(historySize = 100, idempotencyTtlSeconds?: number): Backend {
  return createRedisBackend({
    redis: target(),
    keyPrefix: PREFIX,
    historySize,
    historyTtlSeconds: 3600,
    idempotencyTtlSeconds,
    timeoutMs: 2_000,
    log: silent,
  });
}

async function readyBroker(backend: Backend = clusterBackend()): Promise<Broker> {
  const broker = createBroker(backend, silent);
  await waitFor('the cluster broker to be ready', () => broker.ready());
  return broker;
}

describeBrokerContract('redis cluster', async ({ historySize, idempotencyTtlSeconds }) => {
  const broker = await readyBroker(clusterBackend(historySize, idempotencyTtlSeconds));
  return {
    broker,
    // Replicas refuse writes (READONLY): every master is flushed, and each replica follows its own.
    loseHistory: async () => {
      await Promise.all(cluster.nodes.map((node) => node.command('FLUSHALL').catch(() => undefined)));
    },
    storedJson: async (room) => {
      const log = `${PREFIX}{${room}}:log`;
      const entries = (await (await cluster.masterOf(log)).command('XRANGE', log, '-', '+')) as [string, string[]][];
      return entries.map(([, fields]) => fields[1]!);
    },
    close: () => broker.close(),
  };
});

/** Presence replicas over the cluster, on a key prefix of their own, closed by `close`. */
function presenceReplicas(prefix = `presence-${Math.random().toString(36).slice(2, 8)}:`) {
  const made: Presence[] = [];
  return {
    replica(graceMs: number, ttlSeconds = 30): Presence {
      const store = createRedisPresenceStore({ redis: target(), keyPrefix: prefix, ttlSeconds, timeoutMs: 2_000, log: silent });
      const presence = createPresence(store, { graceMs, timeoutMs: 2_000, log: silent });
      made.push(presence);
      return presence;
    },
    close: async () => {
      for (const presence of made.splice(0)) await presence.close();
    },
  };
}

describePresenceContract('redis cluster', async () => presenceReplicas());

/** A room whose slot `pick` accepts, named `<base>-<n>`. */
function roomWhere(base: string, pick: (slot: number) => boolean): string {
  for (let n = 0; ; n++) if (pick(calculateSlot(`${base}-${n}`))) return `${base}-${n}`;
}

const channelOf = (room: string) => `${PREFIX}{${room}}`;
const shardSubscribers = (node: RedisServer, room: string) => RedisCluster.shardSubscribers(node, channelOf(room));

async function next(subscription: AsyncIterator<SubscriptionEvent>): Promise<Message> {
  const { value, done } = await within(subscription.next(), 10_000, 'the next message');
  if (done || value instanceof Error || isHistoryGap(value)) throw new Error(`expected a message, got ${JSON.stringify(value)}`);
  return value;
}

describe('Redis Cluster specifics', () => {
  it("should subscribe on each room's own master, one connection per master, and release there", async () => {
    const { rooms, masters } = await cluster.roomsOnEveryMaster('spread');
    const [first, second] = [await readyBroker(), await readyBroker()];
    try {
      const subscriptions = await Promise.all(
        rooms.flatMap((room) => [first, second, first].map((broker) => broker.subscribe(room, undefined))),
      );
      for (const [i, room] of rooms.entries()) {
        // Two replicas, one channel subscription each, on the room's master and nowhere else.
        expect(await shardSubscribers(masters[i]!, room)).toBe(2);
        for (const other of masters.filter((_, j) => j !== i)) expect(await shardSubscribers(other, room)).toBe(0);
        await first.publish(room, 'e', JSON.stringify(room));
      }
      for (const [i, subscription] of subscriptions.entries()) {
        expect(await next(subscription)).toMatchObject({ room: rooms[Math.floor(i / 3)], seq: 1, data: rooms[Math.floor(i / 3)] });
      }
      // One subscriber connection per master per replica, whatever the number of rooms.
      for (const master of masters) {
        const clients = (await master.command('CLIENT', 'LIST')) as string;
        expect(clients.split('\n').filter((line) => line.includes('name=roomcast:subscriber'))).toHaveLength(2);
      }
      await Promise.all(subscriptions.map((subscription) => subscription.return()));
      for (const [i, room] of rooms.entries()) {
        await waitFor(`${room} released on its master`, async () => (await shardSubscribers(masters[i]!, room)) === 0);
      }
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('should have only the rooms of a shard whose subscriber connection dropped re-read history, and lose nothing', async () => {
    const { rooms, masters } = await cluster.roomsOnEveryMaster('dropped');
    const backend = clusterBackend();
    const reads: string[] = [];
    const read = backend.read.bind(backend);
    backend.read = (room, query) => {
      reads.push(room);
      return read(room, query);
    };
    const broker = await readyBroker(backend);
    try {
      const subscriptions = await Promise.all(rooms.map((room) => broker.subscribe(room, undefined)));
      for (const room of rooms) await broker.publish(room, 'e', '1');
      for (const subscription of subscriptions) expect((await next(subscription)).seq).toBe(1);
      reads.length = 0;

      // The first room's master cuts this replica's subscriber connection; its message 2 is published at once.
      await masters[0]!.command('CLIENT', 'KILL', 'TYPE', 'pubsub');
      for (const room of rooms) await broker.publish(room, 'e', '2');
      for (const subscription of subscriptions) expect(await next(subscription)).toMatchObject({ seq: 2, data: 2 });
      await waitFor('the dropped shard to catch up', () => reads.includes(rooms[0]!));
      expect(new Set(reads)).toEqual(new Set([rooms[0]]));
      for (const room of rooms) await broker.publish(room, 'e', '3');
      for (const subscription of subscriptions) expect(await next(subscription)).toMatchObject({ seq: 3 });
    } finally {
      await broker.close();
    }
  });

  it("should move a room's subscriptions with its slot when resharded while publishing: every message once, in order", async () => {
    const { masters } = await cluster.roomsOnEveryMaster('moved');
    const [from, to] = masters as [RedisServer, RedisServer];
    // redis-cli --cluster reshard moves the source's lowest slots first: a room on that slot.
    const lowest = Math.min(
      ...((await from.command('CLUSTER', 'SLOTS')) as [number, number, [string, number]][])
        .filter(([, , [, port]]) => port === from.port)
        .map(([start]) => start),
    );
    const room = roomWhere('moved', (slot) => slot === lowest);
    const [first, second] = [await readyBroker(), await readyBroker()];
    try {
      const subscriptions = await Promise.all([first, second].map((broker) => broker.subscribe(room, undefined)));
      expect(await shardSubscribers(from, room)).toBe(2);
      let publishing = true;
      const published: number[] = [];
      const publisher = (async () => {
        while (publishing) published.push((await first.publish(room, 'e', String(published.length + 1))).seq);
      })();
      await waitFor('a few messages before the move', () => published.length >= 20);
      const ids = await Promise.all([from, to].map(async (node) => (await node.command('CLUSTER', 'MYID')) as string));
      await cluster.cli(
        '--cluster',
        'reshard',
        `127.0.0.1:${from.port}`,
        '--cluster-from',
        ids[0]!,
        '--cluster-to',
        ids[1]!,
        '--cluster-slots',
        '1',
        '--cluster-yes',
      );
      await cluster.settled();
      expect(await cluster.masterOf(room)).toBe(to);
      const moved = published.length;
      await waitFor('messages after the move', () => published.length >= moved + 20);
      publishing = false;
      await publisher;
      expect(published).toEqual(published.map((_, i) => i + 1));
      for (const subscription of subscriptions) {
        for (const seq of published) expect((await next(subscription)).seq).toBe(seq);
      }
      await waitFor('both replicas subscribed on the new master', async () => (await shardSubscribers(to, room)) === 2);
      expect(await shardSubscribers(from, room)).toBe(0);
      await Promise.all(subscriptions.map((subscription) => subscription.return()));
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  }, 60_000);

  it("should release a silent replica's members in rooms on every master, with a LEAVE each", async () => {
    const { rooms } = await cluster.roomsOnEveryMaster('silent');
    const replicas = presenceReplicas();
    try {
      // Reaped on a heartbeat of the survivor: one a second with a TTL of 6 s.
      const survivor = replicas.replica(0, 6);
      const lines: string[] = [];
      for (const room of rooms) {
        await survivor.watch(room, (e: PresenceEvent) => lines.push(`${e.action} ${e.room} ${e.member.clientId} ${e.count}`));
      }
      // What SIGKILL leaves behind: a replica that registered, held, and beats no more (every 4 hours).
      const dead = replicas.replica(0, 86_400);
      for (const room of rooms) dead.hold(room, { clientId: `d-${room}`, user: null, info: null });
      await waitFor('the JOINs', () => lines.length === 3);
      await waitFor('the LEAVEs', () => lines.length === 6, 10_000);
      expect(lines.slice(3).sort()).toEqual(rooms.map((room) => `LEAVE ${room} d-${room} 0`).sort());
      for (const room of rooms) expect((await survivor.read(room, 10)).count).toBe(0);
    } finally {
      await replicas.close();
    }
  });

  it("should confirm a publish with WAIT on its room's own master, and fail it UNAVAILABLE when that master's replica is stalled", async () => {
    const { rooms, masters } = await cluster.roomsOnEveryMaster('waited');
    const backend = createRedisBackend({
      redis: target(),
      keyPrefix: PREFIX,
      historySize: 100,
      historyTtlSeconds: 3600,
      waitReplicas: 1,
      timeoutMs: 1_000,
      log: silent,
    });
    const broker = await readyBroker(backend);
    try {
      for (const room of rooms) expect((await broker.publish(room, 'e', '1')).seq).toBe(1);
      const info = String(await masters[0]!.command('INFO', 'replication'));
      const replica = cluster.nodes.find((node) => node.port === Number(/slave0:ip=[^,]+,port=(\d+)/.exec(info)?.[1]))!;
      replica.pause();
      try {
        await expect(broker.publish(rooms[0]!, 'e', '2')).rejects.toMatchObject({
          code: 'UNAVAILABLE',
          message: expect.stringMatching(/stored, but 0 of the 1 Redis replicas/),
        });
        // The other shards' replicas answer: their rooms are confirmed all the same.
        for (const room of rooms.slice(1)) expect((await broker.publish(room, 'e', '2')).seq).toBe(2);
      } finally {
        replica.resume();
      }
    } finally {
      await broker.close();
    }
  });

  // Last: the cluster has one replica fewer afterwards.
  it("should fail publishes UNAVAILABLE only until a killed master's replica is promoted, and only to its rooms, then deliver everything once", async () => {
    const { rooms, masters } = await cluster.roomsOnEveryMaster('failover');
    const [room, master] = [rooms[0]!, masters[0]!];
    const [first, second] = [await readyBroker(), await readyBroker()];
    try {
      const subscriptions = await Promise.all([first, second].map((broker) => broker.subscribe(room, undefined)));
      const acknowledged: number[] = [];
      for (let n = 1; n <= 10; n++) acknowledged.push((await first.publish(room, 'e', String(n))).seq);
      // Replication is asynchronous: kill the master only once its replica holds all it acknowledged.
      const offset = (info: unknown, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(String(info))?.[1]);
      const written = offset(await master.command('INFO', 'replication'), 'master_repl_offset');
      const replicaPort = Number(/slave0:ip=[^,]+,port=(\d+)/.exec(String(await master.command('INFO', 'replication')))?.[1]);
      const replica = cluster.nodes.find((node) => node.port === replicaPort)!;
      await waitFor(
        'the replica to catch up',
        async () => offset(await replica.command('INFO', 'replication'), 'slave_repl_offset') >= written,
      );

      await master.kill();
      const killedAt = Date.now();
      const codes = new Set<string>();
      let recoveredAt: number | undefined;
      // Rooms on the other masters are served throughout.
      const elsewhere = rooms.slice(1);
      for (let n = 11; acknowledged.length < 20; n++) {
        for (const other of elsewhere) await first.publish(other, 'e', String(n));
        try {
          acknowledged.push((await first.publish(room, 'e', String(n))).seq);
          recoveredAt ??= Date.now();
        } catch (error) {
          codes.add((error as { code?: string }).code ?? String(error));
          await new Promise((resolve) => setTimeout(resolve, 50)); // pacing, not waiting
        }
        expect(Date.now() - killedAt, 'publishes to succeed again').toBeLessThan(30_000);
      }
      console.log(
        `redis cluster failover: publishes failed for ${recoveredAt! - killedAt} ms after a master was killed (cluster-node-timeout 1000 ms)`,
      );
      expect([...codes]).toEqual(['UNAVAILABLE']);
      expect(await cluster.masterOf(room)).toBe(replica);
      expect(acknowledged).toEqual(acknowledged.map((_, i) => i + 1));
      for (const subscription of subscriptions) {
        for (const seq of acknowledged) expect((await next(subscription)).seq).toBe(seq);
      }
      await waitFor('both replicas subscribed on the promoted master', async () => (await shardSubscribers(replica, room)) === 2);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  }, 60_000);
});
