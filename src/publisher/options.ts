/**
 * A publisher's options, with the server's defaults: a publisher and the replicas it publishes to
 * must agree on the key prefix, history and idempotency windows, as they would if the publisher were
 * one more replica reading the same environment.
 */
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS } from '../rooms/idempotency.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../rooms/message.js';

export interface PublisherOptions {
  /** The Redis the replicas use: their `REDIS_URL` (`redis://host:port`, `rediss://` for TLS). */
  readonly redisUrl: string;
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

export type PublisherSettings = Required<PublisherOptions>;

/** The options with defaults filled in; a RangeError names the first that is out of range. */
export function publisherSettings(options: PublisherOptions): PublisherSettings {
  if (typeof options.redisUrl !== 'string' || !/^rediss?:\/\/./.test(options.redisUrl)) {
    throw new RangeError(`redisUrl must look like redis://host:port or rediss://host:port (got ${JSON.stringify(options.redisUrl)})`);
  }
  return {
    redisUrl: options.redisUrl,
    keyPrefix: options.keyPrefix ?? 'roomcast:',
    historySize: integer('historySize', options.historySize, 1000, 1, 10_000_000),
    historyTtlSeconds: integer('historyTtlSeconds', options.historyTtlSeconds, 86_400, 1),
    idempotencyTtlSeconds: integer('idempotencyTtlSeconds', options.idempotencyTtlSeconds, DEFAULT_IDEMPOTENCY_TTL_SECONDS, 1, 86_400),
    maxPayloadBytes: integer('maxPayloadBytes', options.maxPayloadBytes, DEFAULT_MAX_PAYLOAD_BYTES, 1, 64 * 1024 * 1024),
    timeoutMs: integer('timeoutMs', options.timeoutMs, 2_000, 1, 600_000),
  };
}

/** The same ranges as the server's environment variables (config.ts). */
function integer(name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}
