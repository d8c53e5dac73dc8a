/**
 * Chooses the room directory from the configuration: Redis when REDIS_URL is set, this process
 * otherwise; none with INSPECTOR=off (then nothing is reported and the inspector's queries refuse).
 */
import { randomUUID } from 'node:crypto';
import type { Broker } from '../broker/broker.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { RoomDirectory } from './directory.js';
import { localReporter } from './local.js';
import { createMemoryDirectory } from './memory.js';
import { createRedisDirectory } from './redis.js';

export type { RoomDirectory } from './directory.js';
export { createInspectorPage } from './page-handler.js';

export function directoryFromConfig(config: Config, broker: Broker, log: Logger): RoomDirectory | undefined {
  if (!config.inspector) return undefined;
  const instance = randomUUID();
  const local = localReporter(broker, config.replicaId, instance, config.inspectorMaxRooms);
  if (!config.redis) return createMemoryDirectory(local);
  return createRedisDirectory(local, {
    redis: config.redis,
    keyPrefix: config.redisKeyPrefix,
    instance,
    intervalMs: config.inspectorIntervalMs,
    timeoutMs: config.brokerTimeoutMs,
    log,
  });
}
