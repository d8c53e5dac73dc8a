/**
 * Chooses the backend from the configuration: Redis when REDIS_URL is set, memory otherwise.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { BrokerMetrics } from '../metrics/metrics.js';
import { createBroker, type Broker } from './broker.js';
import { createMemoryBackend } from './memory.js';
import { createRedisBackend } from './redis.js';

export type { Broker } from './broker.js';

export function brokerFromConfig(config: Config, log: Logger, metrics?: BrokerMetrics): Broker {
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
