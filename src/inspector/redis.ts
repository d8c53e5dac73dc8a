/**
 * The directory over Redis, for several replicas (keys in redis-keys.ts). Each replica writes its
 * report every interval (scripts/report.lua: one EVALSHA of SET, ZADD, ZREMRANGEBYSCORE) and reads
 * the others' when asked (one ZREVRANGE and one MGET), adding its own as of now. Bounded: a report
 * lists at most INSPECTOR_MAX_ROOMS rooms, and at most MAX_REPLICAS reports are read.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../log.js';
import { decodeReport, encodeReport } from './codec.js';
import type { RoomDirectory } from './directory.js';
import type { LocalReporter } from './local.js';
import { inspectorKeys } from './redis-keys.js';
import type { ReplicaReport } from './types.js';
import { quit, redisClient, type RedisClient, type RedisTarget } from '../broker/redis-connection.js';

export interface RedisDirectoryOptions {
  readonly redis: RedisTarget;
  readonly keyPrefix: string;
  /** This process's instance id: the key of its report. */
  readonly instance: string;
  /** INSPECTOR_INTERVAL_MS: how often the report is written; it lives 3 intervals. */
  readonly intervalMs: number;
  /** A command Redis has not answered by then fails. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

/** Reports read at most: far more replicas than a cluster has, so one read stays small. */
const MAX_REPLICAS = 1000;
/** Intervals a report outlives its writing: one missed write (a GC pause, a slow Redis) is not death. */
const LIFETIME_INTERVALS = 3;

type InspectorRedis = RedisClient & {
  inspectorReport(index: string, key: string, instance: string, report: string, ttlMs: number): Promise<number>;
};

export function createRedisDirectory(local: LocalReporter, options: RedisDirectoryOptions): RoomDirectory {
  const { instance, intervalMs, log } = options;
  const keys = inspectorKeys(options.keyPrefix);
  const ttlMs = intervalMs * LIFETIME_INTERVALS;
  // No offline queue: a report either reaches Redis now or is replaced by the next one.
  const client = redisClient(options.redis, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.timeoutMs,
    connectionName: 'roomcast:inspector',
  }) as InspectorRedis;
  client.defineCommand('inspectorReport', {
    numberOfKeys: 2,
    lua: readFileSync(new URL('./scripts/report.lua', import.meta.url), 'utf8'),
  });
  client.on('error', (error: Error) => log.debug('redis connection error', { role: 'inspector', error }));

  let failing = false;
  const report = async () => {
    if (!timer || client.status !== 'ready') return;
    try {
      await client.inspectorReport(keys.replicas, keys.report(instance), instance, encodeReport(local.report()), ttlMs);
      if (failing) log.info('inspector: reporting again');
      failing = false;
    } catch (error) {
      if (!failing) log.warn("inspector: could not report this replica's rooms; retrying every interval", { error });
      failing = true;
    }
  };
  let timer: ReturnType<typeof setInterval> | undefined = setInterval(() => void report(), intervalMs);
  timer.unref();
  // At once when connected: a replica shows up as soon as it serves, not an interval later.
  client.on('ready', () => void report());

  const others = async (): Promise<ReplicaReport[]> => {
    const instances = (await client.zrevrange(keys.replicas, 0, MAX_REPLICAS - 1)).filter((id) => id !== instance);
    if (instances.length === 0) return [];
    const texts = await client.mget(...instances.map((id) => keys.report(id)));
    const reports: ReplicaReport[] = [];
    texts.forEach((text, i) => {
      if (text === null) return; // expired: the replica stopped reporting
      const decoded = decodeReport(text);
      if (decoded && decoded.instance === instances[i]) reports.push(decoded);
      else log.warn('inspector: ignored a malformed report in Redis', { instance: instances[i] });
    });
    return reports;
  };

  let closing: Promise<void> | undefined;
  return {
    kind: 'redis',
    replicas: async () => [local.report(), ...(await others())],
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        timer = undefined;
        // Withdrawn at once, so a replica that stops normally leaves the list without waiting for its TTL.
        await client
          .multi()
          .zrem(keys.replicas, instance)
          .del(keys.report(instance))
          .exec()
          .catch(() => undefined);
        await quit(client, options.timeoutMs);
      })();
      return closing;
    },
  };
}
