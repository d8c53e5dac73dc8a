/**
 * Publishing to Redis: the one way a message gets into a room, shared by the server's Redis backend
 * (redis.ts) and `roomcast/publisher` (src/publisher/), so both run the same script with the same keys
 * and arguments. docs/redis-protocol.md describes it for other languages; its version is
 * PROTOCOL_VERSION, which the script also writes into each room's meta hash.
 */
import { readFileSync } from 'node:fs';
import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import { ErrorCode, RoomcastError } from '../errors.js';
import { decodeMessage, encodeExclude, encodeSender, type Message } from '../rooms/message.js';
import { newEpoch } from './epoch.js';
import { FAIL_FAST, redisClient, type RedisClient, type RedisTarget } from './redis-connection.js';
import type { RedisKeys } from './redis-keys.js';

/** Version of the documented script contract and layout; publish.lua's VERSION says the same. */
export const PROTOCOL_VERSION = 2;

/** Where the script lives: read from this file's directory, in the sources and in the built package alike. */
export const PUBLISH_SCRIPT_URL = new URL('./scripts/publish.lua', import.meta.url);

/** What stays the same for every publish of one deployment: the server's settings, or a publisher's options. */
export interface PublishSettings {
  readonly keys: RedisKeys;
  readonly historySize: number;
  readonly historyTtlSeconds: number;
  readonly idempotencyTtlSeconds: number;
  /**
   * REDIS_WAIT_REPLICAS: a publish succeeds only once this many replicas of the Redis master hold it
   * (WAIT), within `waitTimeoutMs`; 0 answers as soon as the master stored it.
   */
  readonly waitReplicas: number;
  readonly waitTimeoutMs: number;
}

/** One publish, already validated: `dataJson` is JSON text, `sender` any text, `exclude` a party key. */
export interface PublishRequest {
  readonly room: string;
  readonly event: string;
  readonly dataJson: string;
  readonly sender: string | null;
  readonly idempotencyKey?: string | undefined;
  readonly exclude?: string | null | undefined;
}

/** A client that can run the publish script (ioredis's defineCommand: EVALSHA, EVAL once on NOSCRIPT). */
export type PublishingRedis = RedisClient & {
  /** Three keys (meta, log, channel), or four with an idempotency key: their number comes first. */
  roomcastPublish(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<string>;
  /**
   * Resolves true when a connection to one server (REDIS_URL, Sentinel) reached a node of a Redis
   * Cluster, asked again on every (re)connection. Publishing there with PUBLISH would store messages
   * that the cluster's subscribers (SSUBSCRIBE) never hear of, or fail with MOVED: refused instead.
   */
  roomcastClusterNode: Promise<boolean>;
};

/** Why a connection to a Redis Cluster node is refused, naming the setting in each of its places. */
export const CLUSTER_NODE_REFUSED =
  'the Redis named by REDIS_URL (--redis, redisUrl) is a node of a Redis Cluster: name the cluster with REDIS_CLUSTER_NODES (--redis-cluster-nodes, redisClusterNodes) instead';

/**
 * The connection commands go through. No offline queue and no retries: a publish either reaches
 * Redis now or fails, and is never sent later behind the caller's back; `timeoutMs` bounds each
 * command. The one place the server and the publisher turn Redis settings into a connection.
 */
export function publishingConnection(target: RedisTarget, timeoutMs: number, connectionName: string): PublishingRedis {
  const client = redisClient(target, { ...FAIL_FAST, commandTimeout: timeoutMs, connectionName }) as PublishingRedis;
  client.defineCommand('roomcastPublish', { lua: readFileSync(PUBLISH_SCRIPT_URL, 'utf8') });
  client.roomcastClusterNode = Promise.resolve(false);
  if (!(client instanceof Cluster)) {
    // Asked before anything else is sent on the new connection: the first publish waits for the answer.
    client.on('ready', () => {
      client.roomcastClusterNode = client.info('cluster').then(
        (info) => info.includes('cluster_enabled:1'),
        () => false,
      );
    });
  }
  return client;
}

/** WAIT's own timeout: half the publish's, so that the script and WAIT together answer within it. */
export function waitSettings(waitReplicas: number, timeoutMs: number): Pick<PublishSettings, 'waitReplicas' | 'waitTimeoutMs'> {
  return { waitReplicas, waitTimeoutMs: Math.max(1, Math.floor(timeoutMs / 2)) };
}

/** Runs the publish script: the stored message, or the one first stored under the idempotency key. */
export async function runPublish(client: PublishingRedis, settings: PublishSettings, request: PublishRequest): Promise<Message> {
  const { keys } = settings;
  const { room, idempotencyKey } = request;
  if (await client.roomcastClusterNode) throw new RoomcastError(ErrorCode.UNAVAILABLE, CLUSTER_NODE_REFUSED);
  const scriptKeys = [keys.meta(room), keys.log(room), keys.channel(room)];
  if (idempotencyKey !== undefined) scriptKeys.push(keys.idempotency(room, request.sender, idempotencyKey));
  const json = await client.roomcastPublish(
    scriptKeys.length,
    ...scriptKeys,
    newEpoch(),
    // A cluster's subscribers listen per shard (SSUBSCRIBE): only SPUBLISH reaches them.
    client.isCluster ? 'SPUBLISH' : 'PUBLISH',
    room,
    request.event,
    request.dataJson,
    settings.historySize,
    settings.historyTtlSeconds * 1000,
    // Arbitrary text from a token or a backend: encoded here, so the script splices a valid JSON value.
    encodeSender(request.sender),
    settings.idempotencyTtlSeconds * 1000,
    // A party key: encoded here too, never spliced raw.
    encodeExclude(request.exclude ?? null),
  );
  if (settings.waitReplicas > 0) await confirmReplicated(connectionOf(client, keys.meta(room)), settings);
  return decodeMessage(json);
}

/**
 * WAIT after the script: the replicas hold every write this connection made so far, this publish's
 * included (or, for a repeated idempotency key, the first publish's), or the publish fails. It was
 * stored and sent all the same: the error says to retry with the idempotency key, which answers with
 * the stored message and waits again.
 */
async function confirmReplicated(client: Redis, settings: PublishSettings): Promise<void> {
  const held = Number(await client.call('WAIT', settings.waitReplicas, settings.waitTimeoutMs));
  if (held >= settings.waitReplicas) return;
  throw new RoomcastError(
    ErrorCode.UNAVAILABLE,
    `the message was stored, but ${held} of the ${settings.waitReplicas} Redis replicas asked for (REDIS_WAIT_REPLICAS) confirmed it within ${settings.waitTimeoutMs} ms, so a failover could lose it: retry with its idempotencyKey`,
  );
}

/** The connection a command on `key` went through: WAIT counts that connection's writes, so it must go there too. */
function connectionOf(client: RedisClient, key: string): Redis {
  if (!(client instanceof Cluster)) return client;
  const master = client.slots[calculateSlot(key)]?.[0];
  const node = client.nodes('master').find(({ options }) => `${options.host}:${options.port}` === master);
  if (!node)
    throw new RoomcastError(
      ErrorCode.UNAVAILABLE,
      'the message was stored, but its Redis Cluster shard moved before WAIT: retry with its idempotencyKey',
    );
  return node;
}
