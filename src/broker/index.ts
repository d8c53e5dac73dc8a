/**
 * Chooses the backend from the configuration: Redis when one is configured (REDIS_URL or REDIS_SENTINELS), memory otherwise.
 */
import type { Logger } from '../log.js';
import { createBroker, type Broker } from './broker.js';
import type { BrokerMetrics } from './metrics.js';
import { createMemoryBackend } from './memory.js';
import { createRedisBackend } from './redis.js';
import type { RedisTarget } from './redis-connection.js';

export type { Broker } from './broker.js';

/** The settings the broker reads, as Config (config.ts) holds them. */
export interface BrokerSettings {
  readonly redis: RedisTarget | undefined;
  readonly redisKeyPrefix: string;
  readonly historySize: number;
  readonly historyTtlSeconds: number;
  readonly idempotencyTtlSeconds: number;
  readonly redisWaitReplicas: number;
  readonly brokerTimeoutMs: number;
  readonly maxBufferedBytes: number;
}

export function brokerFromConfig(config: BrokerSettings, log: Logger, metrics?: BrokerMetrics): Broker {
  const { historySize, historyTtlSeconds, idempotencyTtlSeconds } = config;
  const backend = config.redis
    ? createRedisBackend({
        redis: config.redis,
        keyPrefix: config.redisKeyPrefix,
        historySize,
        historyTtlSeconds,
        idempotencyTtlSeconds,
        waitReplicas: config.redisWaitReplicas,
        timeoutMs: config.brokerTimeoutMs,
        log,
        metrics,
      })
    : createMemoryBackend({ historySize, historyTtlSeconds, idempotencyTtlSeconds });
  return createBroker(backend, log, { maxBufferedBytes: config.maxBufferedBytes, metrics });
}
