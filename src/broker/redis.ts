/**
 * The Redis backend, for several replicas. Per room: a meta hash (epoch, seq) and a history stream
 * whose entry ids are the seqs, written by one Lua script that also PUBLISHes the stored message, so
 * every replica sees one order; and a string per idempotency key used, holding its message for the
 * idempotency window, checked and set by the same script. Fan-out to replicas goes through
 * graphql-redis-subscriptions' RedisPubSub on our own ioredis clients: one publisher and one
 * subscriber connection per replica, one channel subscription per listened room.
 */
import { readFileSync } from 'node:fs';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { Redis } from 'ioredis';
import { withDeadline } from '../deadline.js';
import type { Logger } from '../log.js';
import type { BrokerMetrics } from './metrics.js';
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS } from '../rooms/idempotency.js';
import { decodeMessage, type Message } from '../rooms/message.js';
import type { Backend, RoomSnapshot } from './backend.js';
import { quit, redisConnection, type RedisTarget } from './redis-connection.js';
import { redisKeys } from './redis-keys.js';
import { publishingConnection, runPublish, waitSettings, type PublishingRedis, type PublishSettings } from './redis-publish.js';

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

interface RoomcastRedis extends PublishingRedis {
  roomcastRead(meta: string, log: string, ...args: (string | number)[]): Promise<ReadReply>;
  roomcastRenew(meta: string, log: string, epoch: string): Promise<number>;
}

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
  // enableReadyCheck: false avoids ioredis 5's race between its INFO ready check and SUBSCRIBE (#2037).
  const subscriber = redisConnection(options.redis, { enableReadyCheck: false, connectionName: 'roomcast:subscriber' });
  publisher.defineCommand('roomcastRead', { numberOfKeys: 2, lua: script('read.lua') });
  publisher.defineCommand('roomcastRenew', { numberOfKeys: 2, lua: script('renew.lua') });
  reportConnection(publisher, 'publisher', log);
  // Without the ready check, 'ready' means connected, not logged in: the subscriber is ready once a PING answers.
  const subscriberState = reportConnection(subscriber, 'subscriber', log, 'confirmed');
  publisher.on('reconnecting', () => metrics?.redisReconnect('publisher'));
  subscriber.on('reconnecting', () => metrics?.redisReconnect('subscriber'));
  settleReleases(subscriber, log);

  const pubsub = new RedisPubSub({
    publisher,
    subscriber,
    deserializer: (source) => decodeMessage(source.toString()),
  });
  const subscriptionIds = new Map<string, number[]>();
  let closed = false;
  let connectedBefore = false;
  // ioredis re-subscribes every channel when the subscriber reconnects; a PING queued behind those
  // SUBSCRIBEs answers once they are all acknowledged, and from then on nothing more can be missed.
  subscriber.on('ready', () => {
    const resumed = connectedBefore;
    connectedBefore = true;
    subscriber.ping().then(
      () => {
        subscriberState.ready();
        if (resumed) backend.onResume();
      },
      (error: unknown) => subscriberState.failed(error instanceof Error ? error : new Error(String(error))),
    );
  });

  const backend: Backend = {
    kind: 'redis',
    onMessage: () => {},
    onResume: () => {},

    append: (room, event, dataJson, sender, idempotencyKey, exclude = null) =>
      timed('publish', runPublish(publisher, settings, { room, event, dataJson, sender, idempotencyKey, exclude })),

    async read(room, query) {
      const args: (string | number)[] = 'latest' in query ? ['latest', query.latest, 0] : ['after', query.afterSeq, query.limit];
      const [epoch, seq, entries] = await timed('read', publisher.roomcastRead(keys.meta(room), keys.log(room), ...args));
      const messages = entries.map(decodeMessage);
      if ('latest' in query) messages.reverse();
      return { epoch: epoch ?? null, seq: Number(seq), messages } satisfies RoomSnapshot;
    },

    renewEpoch: async (room, epoch) => (await publisher.roomcastRenew(keys.meta(room), keys.log(room), epoch)) === 1,

    async listen(room) {
      const subscribed = pubsub.subscribe(keys.channel(room), (message: Message | string) => {
        if (typeof message === 'string' || message.room !== room) {
          log.error('dropped a malformed message from Redis', { room });
          return;
        }
        backend.onMessage(message);
      });
      const id = await withDeadline(subscribed, timeoutMs, () => {
        subscribed.then((lateId) => pubsub.unsubscribe(lateId)).catch(() => {});
        throw new Error(`Redis did not answer SUBSCRIBE within ${timeoutMs} ms`);
      });
      const ids = subscriptionIds.get(room) ?? [];
      ids.push(id);
      subscriptionIds.set(room, ids);
    },

    async unlisten(room) {
      const ids = subscriptionIds.get(room);
      const id = ids?.pop();
      if (id === undefined) return;
      if (ids!.length === 0) subscriptionIds.delete(room);
      pubsub.unsubscribe(id);
    },

    async ready() {
      if (closed || publisher.status !== 'ready' || subscriber.status !== 'ready') return false;
      try {
        return (await publisher.ping()) === 'PONG';
      } catch {
        return false;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([quit(publisher, timeoutMs), quit(subscriber, timeoutMs)]);
    },
  };
  return backend;
}

/**
 * Logs each change of a connection's state once, not every failed reconnect attempt (a wrong password
 * fails every few tens of milliseconds). Ready on ioredis's 'ready', or, for `confirmed`, when the
 * caller says so (a connection without the ready check), and only then does an error repeat.
 */
function reportConnection(client: Redis, role: string, log: Logger, readyOn: 'ready' | 'confirmed' = 'ready') {
  let lastError = '';
  const state = {
    ready() {
      lastError = '';
      log.info('redis connection ready', { role });
    },
    failed(error: Error) {
      if (error.message === lastError) return;
      lastError = error.message;
      log.warn('redis connection error', { role, error });
    },
  };
  if (readyOn === 'ready') client.on('ready', () => state.ready());
  client.on('error', (error: Error) => state.failed(error));
  return state;
}

/**
 * graphql-redis-subscriptions sends UNSUBSCRIBE and PUNSUBSCRIBE when a room is released without
 * awaiting or catching them: when the connection closes before Redis answers (a blip, a shutdown),
 * ioredis rejects them and nobody handles it, which ends the process. Their outcome does not matter
 * (a closed connection holds no subscription), so it is caught here, on the client RedisPubSub uses.
 */
function settleReleases(subscriber: Redis, log: Logger): void {
  for (const command of ['unsubscribe', 'punsubscribe'] as const) {
    const send = subscriber[command].bind(subscriber) as (...channels: string[]) => Promise<unknown>;
    subscriber[command] = ((...channels: string[]) => {
      const sent = send(...channels);
      sent.catch((error: unknown) => log.debug('redis: a release was not answered', { command, error }));
      return sent;
    }) as Redis[typeof command];
  }
}
