/**
 * A publisher's options, with the server's defaults: a publisher and the replicas it publishes to
 * must agree on the key prefix, history and idempotency windows, as they would if the publisher were
 * one more replica reading the same environment.
 */
import { parseRedisTarget, type RedisTarget } from '../broker/redis-connection.js';
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS } from '../rooms/idempotency.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../rooms/message.js';

/** The Redis the replicas use, named as they name it: `redisUrl`, `redisClusterNodes`, or `redisSentinels` with `redisSentinelMaster`. */
export interface PublisherOptions {
  /** Their `REDIS_URL` (`redis://host:port`, `rediss://` for TLS). */
  readonly redisUrl?: string;
  /** Their `REDIS_CLUSTER_NODES`: `host:port,host:port` (or a list), `rediss://host:port` for TLS. */
  readonly redisClusterNodes?: string | readonly string[];
  /** Their `REDIS_SENTINELS`: `host:port,host:port` (or a list), `rediss://host:port` for TLS. */
  readonly redisSentinels?: string | readonly string[];
  /** Their `REDIS_SENTINEL_MASTER`: the master's name the sentinels monitor. */
  readonly redisSentinelMaster?: string;
  /** Their `REDIS_USERNAME` and `REDIS_PASSWORD`: an ACL user. */
  readonly redisUsername?: string;
  readonly redisPassword?: string;
  /** A publish succeeds only once this many replicas of the master hold it: `REDIS_WAIT_REPLICAS`. @default 0 */
  readonly waitReplicas?: number;
  /** Prefix of every key and channel: the replicas' `REDIS_KEY_PREFIX`. @default 'roomcast:' */
  readonly keyPrefix?: string;
  /** Messages held per room: the replicas' `HISTORY_SIZE`. @default 1000 */
  readonly historySize?: number;
  /** A room's history is dropped this long after its last publish: `HISTORY_TTL_SECONDS`. @default 86400 */
  readonly historyTtlSeconds?: number;
  /** How long an idempotency key answers with its message: `IDEMPOTENCY_TTL_SECONDS`. @default 600 */
  readonly idempotencyTtlSeconds?: number;
  /** Largest `data`, as serialized JSON: `MAX_PAYLOAD_BYTES`. @default 65536 */
  readonly maxPayloadBytes?: number;
  /**
   * A publish Redis has not answered by then fails with UNAVAILABLE (it may still be stored: retry with
   * its idempotency key): `BROKER_TIMEOUT_MS`. @default 2000
   */
  readonly timeoutMs?: number;
}

type RedisOption = 'redisUrl' | 'redisClusterNodes' | 'redisSentinels' | 'redisSentinelMaster' | 'redisUsername' | 'redisPassword';

export type PublisherSettings = Required<Omit<PublisherOptions, RedisOption>> & { readonly redis: RedisTarget };

const REDIS_OPTIONS = {
  url: 'redisUrl',
  clusterNodes: 'redisClusterNodes',
  sentinels: 'redisSentinels',
  sentinelMaster: 'redisSentinelMaster',
  username: 'redisUsername',
  password: 'redisPassword',
} as const;

/** The options with defaults filled in; a RangeError names the first that is out of range. */
export function publisherSettings(options: PublisherOptions): PublisherSettings {
  return {
    redis: redisTarget(options),
    keyPrefix: options.keyPrefix ?? 'roomcast:',
    historySize: integer('historySize', options.historySize, 1000, 1, 10_000_000),
    historyTtlSeconds: integer('historyTtlSeconds', options.historyTtlSeconds, 86_400, 1),
    idempotencyTtlSeconds: integer('idempotencyTtlSeconds', options.idempotencyTtlSeconds, DEFAULT_IDEMPOTENCY_TTL_SECONDS, 1, 86_400),
    maxPayloadBytes: integer('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES, 1, 64 * 1024 * 1024),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 2_000, 1, 600_000),
    waitReplicas: integer('waitReplicas', options.waitReplicas, 0, 0, 64),
  };
}

/** Where the replicas' Redis is: exactly one of redisUrl, redisClusterNodes and redisSentinels, checked as the replicas' own settings. */
function redisTarget(options: PublisherOptions): RedisTarget {
  const problems: string[] = [];
  const text = (name: RedisOption): string | undefined => {
    const value = options[name];
    if ((name === 'redisSentinels' || name === 'redisClusterNodes') && Array.isArray(value)) return value.join(',');
    if (value === undefined || typeof value === 'string') return value;
    problems.push(`${name} must be a string`);
    return undefined;
  };
  const settings = {
    url: text('redisUrl'),
    clusterNodes: text('redisClusterNodes'),
    sentinels: text('redisSentinels'),
    sentinelMaster: text('redisSentinelMaster'),
    username: text('redisUsername'),
    password: text('redisPassword'),
  };
  const target = problems.length === 0 ? parseRedisTarget(settings, REDIS_OPTIONS, problems) : undefined;
  if (target) return target;
  throw new RangeError(
    problems.length > 0
      ? problems.join('; ')
      : 'set redisUrl, redisClusterNodes, or redisSentinels with redisSentinelMaster: the Redis the replicas use',
  );
}

/** The same ranges as the server's environment variables (config.ts). */
function integer(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}
