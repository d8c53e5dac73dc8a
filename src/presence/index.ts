/**
 * Chooses the presence store from the configuration: Redis when REDIS_URL is set, this process
 * otherwise, as the broker does.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createMemoryPresenceStore } from './memory.js';
import { createPresence, type Presence } from './presence.js';
import { createRedisPresenceStore } from './redis.js';

export type { Presence } from './presence.js';
export { enterPresence } from './enter.js';

export function presenceFromConfig(config: Config, log: Logger): Presence {
  const store = config.redis
    ? createRedisPresenceStore({
        redis: config.redis,
        keyPrefix: config.redisKeyPrefix,
        ttlSeconds: config.presenceTtlSeconds,
        timeoutMs: config.brokerTimeoutMs,
        log,
      })
    : createMemoryPresenceStore();
  return createPresence(store, { graceMs: config.presenceLeaveGraceMs, timeoutMs: config.brokerTimeoutMs, log });
}
