/**
 * Sharded pub/sub on a Redis Cluster (redis-channels.ts has the contract): one subscriber connection
 * per master that holds a listened channel, each channel SSUBSCRIBEd on the master of its slot. A
 * room's channel carries its keys' hash tag, so the publish script SPUBLISHes it on that same shard:
 * a publish touches one shard, and a replica's connections grow with the shards, not with the rooms.
 *
 * What interrupts a channel, and what follows. Each case ends in `resumed` for exactly the channels
 * concerned, once they are subscribed again, so only those rooms re-read their history:
 * - a shard's connection drops and comes back: ioredis SSUBSCRIBEs its channels again, and a PING
 *   queued behind them answers once all are acknowledged;
 * - the slot map changes (a reshard moved a slot, a failover promoted a replica): the cluster client
 *   re-reads it (after a MOVED reply, a lost node, or every few seconds) and emits 'refresh'; each
 *   channel whose slot has another master now moves to it;
 * - a master that gives a slot away ends its subscribers' SSUBSCRIBEs to the slot's channels (an
 *   unasked `sunsubscribe`, which ioredis reports as an error), and SSUBSCRIBE on a master that does
 *   not own the slot answers MOVED: both make the cluster client re-read the slot map at once.
 *
 * ioredis's own `shardedSubscribers` keeps one connection per master too, but tells nothing when it
 * subscribes again, and does not wait for those SSUBSCRIBEs to be answered: no catch-up could be
 * timed after it without a gap. Hence the connections here.
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from '../log.js';
import { acknowledged, type ChannelEvents, type RoomChannels } from './redis-channels.js';
import { nodeConnection, quit, type RedisTarget } from './redis-connection.js';

interface Shard {
  /** The master, `host:port` as the cluster's slot map names it. */
  readonly node: string;
  readonly client: Redis;
  readonly channels: Set<string>;
}

export function shardedChannels(
  cluster: Cluster,
  target: RedisTarget & { kind: 'cluster' },
  timeoutMs: number,
  events: ChannelEvents,
  log: Logger,
): RoomChannels {
  const shards = new Map<string, Shard>();
  /** Each listened channel, and the shard it is subscribed on. */
  const placed = new Map<string, Shard>();
  const masterOf = (channel: string): string | undefined => cluster.slots[calculateSlot(channel)]?.[0];
  const refresh = () => cluster.refreshSlotsCache();

  const shardOn = (node: string): Shard => {
    const shard = shards.get(node);
    if (shard) return shard;
    const at = node.lastIndexOf(':');
    const client = nodeConnection(
      target,
      { host: node.slice(0, at), port: Number(node.slice(at + 1)) },
      { enableReadyCheck: false, connectionName: 'roomcast:subscriber' },
    );
    const role = `subscriber ${node}`;
    const created: Shard = { node, client, channels: new Set() };
    let connectedBefore = false;
    client.on('smessage', (channel: string, payload: string) => events.message(channel, payload));
    client.on('moved', refresh);
    client.on('reconnecting', () => events.reconnecting());
    client.on('error', (error: Error) => {
      if (error.message.includes('sunsubscribe')) refresh();
      else events.state(role, error);
    });
    client.on('ready', () => {
      const resumed = connectedBefore;
      connectedBefore = true;
      client.ping().then(
        () => {
          events.state(role);
          if (resumed && created.channels.size > 0) events.resumed([...created.channels]);
        },
        (error: unknown) => events.state(role, error instanceof Error ? error : new Error(String(error))),
      );
    });
    shards.set(node, created);
    return created;
  };

  const release = (shard: Shard, channels: readonly string[]) => {
    for (const channel of channels) shard.channels.delete(channel);
    // Sent even while the connection is down: queued, it follows the SSUBSCRIBEs a reconnect repeats.
    return acknowledged(shard.client.sunsubscribe(...channels), timeoutMs, 'SUNSUBSCRIBE').catch((error: unknown) =>
      log.debug('redis: an SUNSUBSCRIBE was not answered', { node: shard.node, error }),
    );
  };

  /** After the slot map changed: channels whose slot has another master now follow it. */
  const follow = () => {
    const moves = new Map<string, { from: Shard; channel: string }[]>();
    for (const [channel, from] of placed) {
      const node = masterOf(channel);
      if (node === undefined || node === from.node) continue;
      const list = moves.get(node) ?? [];
      list.push({ from, channel });
      moves.set(node, list);
    }
    for (const [node, list] of moves) {
      const to = shardOn(node);
      const channels = list.map(({ channel }) => channel);
      for (const { from, channel } of list) {
        void release(from, [channel]);
        placed.set(channel, to);
        to.channels.add(channel);
      }
      log.info('redis cluster: rooms moved to another master; they catch up from history', { node, rooms: channels.length });
      acknowledged(to.client.ssubscribe(...channels), timeoutMs, 'SSUBSCRIBE').then(
        () => events.resumed(channels.filter((channel) => placed.get(channel) === to)),
        // The connection's next 'ready' subscribes them again and resumes them; a MOVED re-reads the map.
        (error: unknown) => log.warn('redis cluster: could not subscribe on the new master yet', { node, error }),
      );
    }
    const masters = new Set(cluster.slots.map((owners) => owners[0]));
    for (const [node, shard] of shards) {
      if (shard.channels.size > 0 || masters.has(node)) continue;
      shards.delete(node);
      void quit(shard.client, timeoutMs);
    }
  };
  cluster.on('refresh', follow);

  return {
    async listen(channel) {
      const node = masterOf(channel);
      if (node === undefined) throw new Error('the Redis Cluster slot map is not known yet');
      const shard = shardOn(node);
      placed.set(channel, shard);
      shard.channels.add(channel);
      await acknowledged(shard.client.ssubscribe(channel), timeoutMs, 'SSUBSCRIBE');
    },
    async unlisten(channel) {
      const shard = placed.get(channel);
      if (!shard) return;
      placed.delete(channel);
      await release(shard, [channel]);
    },
    // Not every shard's subscriber: with one master down, a replica still serves the others' rooms,
    // and the dead master's rooms catch up once they move (their subscribers stay connected meanwhile).
    ready: () => cluster.status === 'ready',
    async close() {
      cluster.off('refresh', follow);
      await Promise.all([...shards.values()].map((shard) => quit(shard.client, timeoutMs)));
      shards.clear();
    },
  };
}
