/**
 * `publish --redis <url>` (or `--redis-cluster-nodes <list>`, or `--redis-sentinels <list>
 * --redis-sentinel-master <name>`): through
 * roomcast/publisher, with the replicas' settings read from the same environment variables a replica
 * reads (REDIS_KEY_PREFIX, HISTORY_SIZE, HISTORY_TTL_SECONDS, IDEMPOTENCY_TTL_SECONDS, MAX_PAYLOAD_BYTES,
 * BROKER_TIMEOUT_MS, and REDIS_USERNAME / REDIS_PASSWORD, kept off the command line), checked as a
 * replica checks them.
 */
import { ConfigError, loadConfig } from '../config.js';
import { createPublisher, isRoomcastError, type PublishedMessage } from '../publisher/index.js';
import { CliError, ExitCode, usageError } from './failure.js';
import { BROADCAST_ROOM } from './operations.js';
import { PUBLISH_USAGE } from './usage.js';

const SHARED_SETTINGS = [
  'REDIS_KEY_PREFIX',
  'HISTORY_SIZE',
  'HISTORY_TTL_SECONDS',
  'IDEMPOTENCY_TTL_SECONDS',
  'MAX_PAYLOAD_BYTES',
  'BROKER_TIMEOUT_MS',
  'REDIS_WAIT_REPLICAS',
  'REDIS_USERNAME',
  'REDIS_PASSWORD',
];

/** Where the replicas' Redis is, from the command line: as REDIS_URL, REDIS_CLUSTER_NODES, or REDIS_SENTINELS and REDIS_SENTINEL_MASTER. */
export interface RedisPlace {
  readonly url?: string | undefined;
  readonly clusterNodes?: string | undefined;
  readonly sentinels?: string | undefined;
  readonly sentinelMaster?: string | undefined;
}

/** The options' names, for the errors of loadConfig's checks. */
const OPTION_OF: Record<string, string> = {
  REDIS_URL: '--redis',
  REDIS_CLUSTER_NODES: '--redis-cluster-nodes',
  REDIS_SENTINELS: '--redis-sentinels',
  REDIS_SENTINEL_MASTER: '--redis-sentinel-master',
};

export interface RedisPublish {
  readonly room: string;
  readonly event: string;
  readonly data: unknown;
  readonly idempotencyKey: string | undefined;
  readonly sender: string | undefined;
}

/** The stored message, shaped as the mutation returns it. */
export async function publishThroughRedis(place: RedisPlace, request: RedisPublish): Promise<unknown> {
  const publisher = createPublisher(settings(place));
  try {
    const options = { idempotencyKey: request.idempotencyKey, sender: request.sender ?? null };
    const message =
      request.room === BROADCAST_ROOM
        ? await publisher.broadcast(request.event, request.data, options)
        : await publisher.publish(request.room, request.event, request.data, options);
    return asMessage(message);
  } catch (error) {
    if (isRoomcastError(error)) throw new CliError(error.code, error.message, ExitCode.REFUSED);
    throw error;
  } finally {
    await publisher.close().catch(() => {});
  }
}

function settings(place: RedisPlace) {
  const env = Object.fromEntries(SHARED_SETTINGS.map((name) => [name, process.env[name]]));
  try {
    const config = loadConfig({
      ...env,
      REDIS_URL: place.url,
      REDIS_CLUSTER_NODES: place.clusterNodes,
      REDIS_SENTINELS: place.sentinels,
      REDIS_SENTINEL_MASTER: place.sentinelMaster,
    });
    if (!config.redis) throw usageError('--redis needs a URL, and --redis-cluster-nodes or --redis-sentinels a list', PUBLISH_USAGE);
    // Checked as a replica checks them; the publisher takes them as given.
    return {
      redisUrl: place.url,
      redisClusterNodes: place.clusterNodes,
      redisSentinels: place.sentinels,
      redisSentinelMaster: place.sentinelMaster,
      redisUsername: config.redis.username,
      redisPassword: config.redis.password,
      keyPrefix: config.redisKeyPrefix,
      historySize: config.historySize,
      historyTtlSeconds: config.historyTtlSeconds,
      idempotencyTtlSeconds: config.idempotencyTtlSeconds,
      waitReplicas: config.redisWaitReplicas,
      maxPayloadBytes: config.maxPayloadBytes,
      timeoutMs: config.brokerTimeoutMs,
    };
  } catch (error) {
    if (error instanceof ConfigError)
      throw usageError(
        error.message.replace(/\bREDIS_(URL|CLUSTER_NODES|SENTINELS|SENTINEL_MASTER)\b/g, (name) => OPTION_OF[name]!),
        PUBLISH_USAGE,
      );
    throw error;
  }
}

function asMessage(message: PublishedMessage) {
  const { room, seq, event, data, cursor, publishedAt, sender } = message;
  return { __typename: 'Message', room, seq, event, data, cursor, publishedAt: publishedAt.toISOString(), sender };
}
