/**
 * Chooses the backend from the configuration: Redis when REDIS_URL is set, memory otherwise.
 */
import type { Logger } from '../log.js';
import { createBroker, type Broker } from './broker.js';
import type { BrokerMetrics } from './metrics.js';
import { createMemoryBackend } from './memory.js';
import { createRedisBackend } from './redis.js';

export type { Broker } from './broker.js';

/** The settings the broker reads, as Config (config.ts) holds them. */
export interface BrokerSettings {
  readonly redisUrl: string | undefined;
  readonly redisKeyPrefix: string;
  readonly historySize: number;
  readonly historyTtlSeconds: number;
  readonly idempotencyTtlSeconds: number;
  readonly brokerTimeoutMs: number;
  readonly maxBufferedBytes: number;
}

export function brokerFromConfig(config: BrokerSettings, log: Logger, metrics?: BrokerMetrics): Broker {
  const { historySize, historyTtlSeconds, idempotencyTtlSeconds } = config;
  const backend = config.redisUrl
    ? createRedisBackend({
        url: config.redisUrl,
        keyPrefix: config.redisKeyPrefix,
        historySize,
        historyTtlSeconds,
        idempotencyTtlSeconds,
        timeoutMs: config.brokerTimeoutMs,
        log,
        metrics,
      })
    : createMemoryBackend({ historySize, historyTtlSeconds, idempotencyTtlSeconds });
  return createBroker(backend, log, { maxBufferedBytes: config.maxBufferedBytes, metrics });
}
