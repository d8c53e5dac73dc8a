/**
 * The Redis backend, for several replicas. Per room: a meta hash (epoch, seq) and a history stream
 * whose entry ids are the seqs, written by one Lua script that also publishes the stored message, so
 * every replica sees one order; and a string per idempotency key used, holding its message for the
 * idempotency window, checked and set by the same script. A room's keys and channel share its hash
 * tag, so on a Redis Cluster all of them live on one shard, and the script sends with SPUBLISH there.
 *
 * The backend owns its clients: one for commands (a connection, or a cluster client routing each
 * command to its slot's master), and the subscribe side (redis-channels.ts): one connection, or one
 * per cluster master.
 */
import { readFileSync } from 'node:fs';
import type { Cluster } from 'ioredis';
import type { Logger } from '../log.js';
import type { BrokerMetrics } from './metrics.js';
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS } from '../rooms/idempotency.js';
import { decodeMessage } from '../rooms/message.js';
import { decodeWithin, type Backend, type RoomSnapshot } from './backend.js';
import { plainChannels, type ChannelEvents, type RoomChannels } from './redis-channels.js';
import { quit, redisConnection, redisFailure, type RedisClient, type RedisTarget } from './redis-connection.js';
import { redisKeys } from './redis-keys.js';
import {
  CLUSTER_NODE_REFUSED,
  publishingConnection,
  runPublish,
  waitSettings,
  type PublishingRedis,
  type PublishSettings,
} from './redis-publish.js';
import { shardedChannels } from './sharded-channels.js';

export interface RedisBackendOptions {
  readonly redis: RedisTarget;
  readonly keyPrefix: string;
  readonly historySize: number;
  readonly historyTtlSeconds: number;
  /** How long a message is held under its idempotency key, from its publish. @default 600 */
  readonly idempotencyTtlSeconds?: number;
  /** REDIS_WAIT_REPLICAS (redis-publish.ts). @default 0 */
  readonly waitReplicas?: number;
  /** A command or subscription Redis has not answered by then fails. */
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Command durations and reconnects (metrics/). */
  readonly metrics?: BrokerMetrics | undefined;
}

type ReadReply = [string | null, number, string[]];

type RoomcastRedis = PublishingRedis & {
  roomcastRead(meta: string, log: string, ...args: (string | number)[]): Promise<ReadReply>;
  roomcastRenew(meta: string, log: string, epoch: string): Promise<number>;
};

const script = (name: string): string => readFileSync(new URL(`./scripts/${name}`, import.meta.url), 'utf8');

export function createRedisBackend(options: RedisBackendOptions): Backend {
  const { log, timeoutMs, metrics } = options;
  const timed = <T>(command: 'publish' | 'read', work: Promise<T>) => (metrics ? metrics.redisCommand(command, work) : work);
  const keys = redisKeys(options.keyPrefix);
  const settings: PublishSettings = {
    keys,
    historySize: options.historySize,
    historyTtlSeconds: options.historyTtlSeconds,
    idempotencyTtlSeconds: options.idempotencyTtlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS,
    ...waitSettings(options.waitReplicas ?? 0, timeoutMs),
  };
  // Fails a publish UNAVAILABLE rather than queueing or retrying it (redis-publish.ts).
  const publisher = publishingConnection(options.redis, timeoutMs, 'roomcast:publisher') as RoomcastRedis;
  publisher.defineCommand('roomcastRead', { numberOfKeys: 2, lua: script('read.lua') });
  publisher.defineCommand('roomcastRenew', { numberOfKeys: 2, lua: script('renew.lua') });
  const publisherState = connectionState('publisher', log);
  publisher.on('ready', () => publisherState());
  publisher.on('error', (error: Error) => publisherState(error));
  publisher.on('reconnecting', () => metrics?.redisReconnect('publisher'));

  /** The room a channel belongs to: `<prefix>{<room>}`. */
  const roomOf = (channel: string) => channel.slice(options.keyPrefix.length + 1, -1);
  const states = new Map<string, (error?: Error) => void>();
  const events: ChannelEvents = {
    message(channel, payload) {
      const room = roomOf(channel);
      let message;
      try {
        message = decodeMessage(payload);
      } catch {
        message = undefined;
      }
      if (message?.room !== room) {
        log.error('dropped a malformed message from Redis', { room });
        return;
      }
      backend.onMessage(message);
    },
    resumed: (channels) => backend.onResume(new Set(channels.map(roomOf))),
    state(role, error) {
      let report = states.get(role);
      if (!report) states.set(role, (report = connectionState(role, log)));
      report(error);
    },
    reconnecting: () => metrics?.redisReconnect('subscriber'),
  };
  const channels = subscribeSide(publisher, options.redis, timeoutMs, events, log);
  let closed = false;
  let refusedClusterNode = false;

  const backend: Backend = {
    kind: 'redis',
    onMessage: () => {},
    onResume: () => {},

    append: (room, event, dataJson, sender, idempotencyKey, exclude = null) =>
      timed('publish', runPublish(publisher, settings, { room, event, dataJson, sender, idempotencyKey, exclude })),

    async read(room, query) {
      const args: (string | number)[] = 'latest' in query ? ['latest', query.latest, 0] : ['after', query.afterSeq, query.limit];
      const [epoch, seq, entries] = await timed('read', publisher.roomcastRead(keys.meta(room), keys.log(room), ...args));
      // "latest" entries come newest first: within the bytes from the newest, then oldest first.
      const { messages, overBytes } = decodeWithin(entries, query.maxBytes);
      if ('latest' in query) messages.reverse();
      return { epoch: epoch ?? null, seq: Number(seq), messages, overBytes } satisfies RoomSnapshot;
    },

    renewEpoch: async (room, epoch) => (await publisher.roomcastRenew(keys.meta(room), keys.log(room), epoch)) === 1,

    listen: (room) => channels.listen(keys.channel(room)),
    unlisten: (room) => channels.unlisten(keys.channel(room)),

    async ready() {
      if (closed || publisher.status !== 'ready' || !channels.ready()) return false;
      try {
        if (await publisher.roomcastClusterNode) {
          if (!refusedClusterNode) log.error(`refusing to publish: ${CLUSTER_NODE_REFUSED}`);
          refusedClusterNode = true;
          return false;
        }
        return (await publisher.ping()) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([quit(publisher, timeoutMs), channels.close()]);
    },
  };
  return backend;
}

/** The subscribe side of the target: sharded on a cluster (whose slot map the command client keeps). */
function subscribeSide(client: RedisClient, target: RedisTarget, timeoutMs: number, events: ChannelEvents, log: Logger): RoomChannels {
  if (target.kind === 'cluster') return shardedChannels(client as Cluster, target, timeoutMs, events, log);
  // enableReadyCheck: false avoids ioredis 5's race between its INFO ready check and SUBSCRIBE (#2037).
  const subscriber = redisConnection(target, { enableReadyCheck: false, connectionName: 'roomcast:subscriber' });
  return plainChannels(subscriber, timeoutMs, events, log);
}

/**
 * Logs each change of a connection's state once, not every failed reconnect attempt (a wrong password
 * fails every few tens of milliseconds): called without an error when it is ready, with one when it failed.
 */
function connectionState(role: string, log: Logger): (error?: Error) => void {
  let lastError: string | undefined;
  return (error) => {
    if (!error) {
      lastError = '';
      log.info('redis connection ready', { role });
    } else if (redisFailure(error) !== lastError) {
      lastError = redisFailure(error);
      log.warn('redis connection error', { role, error, ...(lastError !== error.message && { cause: lastError }) });
    }
  };
}
