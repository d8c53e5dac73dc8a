/**
 * PUBLISH_RATE_LIMIT: publishes per identity, counted in fixed windows by rate-limiter-flexible:
 * in Redis (its own connection, keys under REDIS_KEY_PREFIX + `ratelimit:`) so that every replica
 * shares one count, or in process with the memory broker.
 *
 * Fails open: when Redis cannot answer, publishes pass the limiter (they fail with UNAVAILABLE at the
 * broker anyway while Redis is away); one line says when that starts and one when Redis answers again.
 */
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { withDeadline } from '../deadline.js';
import type { Logger } from '../log.js';
import { rateLimited } from './errors.js';
import { durationOf, type Rate } from './settings.js';
import { FAIL_FAST, quit, redisClient, type RedisTarget } from '../broker/redis-connection.js';

export interface PublishLimiter {
  /** Counts one publish by `key`; RATE_LIMITED (with the wait) when that is one too many. */
  consume(key: string): Promise<void>;
  /** Resolves once the limiter can count (Redis connected), or after `timeoutMs` regardless. */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface PublishLimiterOptions {
  readonly rate: Rate;
  /** Unset: counted in this process (the memory broker's single replica). */
  readonly redis: RedisTarget | undefined;
  readonly redisKeyPrefix: string;
  /** A count Redis has not answered by then lets the publish through (fail open). */
  readonly timeoutMs: number;
  readonly log: Logger;
}

export function createPublishLimiter(options: PublishLimiterOptions): PublishLimiter {
  const { rate, log } = options;
  const limits = { points: rate.points, duration: rate.durationSeconds };
  if (!options.redis) {
    const limiter = new RateLimiterMemory(limits);
    return {
      consume: (key) => consume(limiter, key, rate),
      ready: async () => {},
      close: async () => {},
    };
  }

  // Like the broker's publisher: a count either reaches Redis now or fails, never queued for later.
  // One key per identity: on a Redis Cluster, on that key's shard.
  const client = redisClient(options.redis, { ...FAIL_FAST, commandTimeout: options.timeoutMs, connectionName: 'roomcast:ratelimit' });
  // Connection errors are not logged one by one: the broker's connections report the outage, and
  // failOpen says what it means for the limit.
  client.on('error', () => {});
  const limiter = new RateLimiterRedis({
    ...limits,
    storeClient: client,
    keyPrefix: `${options.redisKeyPrefix}ratelimit:publish`,
    rejectIfRedisNotReady: true,
    // A key over its limit is refused from memory until its window ends: no Redis round trip for
    // a client that keeps trying.
    inMemoryBlockOnConsumed: rate.points + 1,
  });

  let failingOpenSince: number | undefined;
  const failOpen = (error: unknown) => {
    if (failingOpenSince !== undefined) return;
    failingOpenSince = Date.now();
    log.warn('publish rate limit failing open: Redis cannot count publishes, so none is limited until it can', {
      error: error instanceof Error ? error.message : String(error),
    });
  };
  const recovered = () => {
    if (failingOpenSince === undefined) return;
    log.warn('publish rate limit applies again: Redis counts publishes', { failedOpenMs: Date.now() - failingOpenSince });
    failingOpenSince = undefined;
  };
  client.on('ready', recovered);

  return {
    async consume(key) {
      try {
        await consume(limiter, key, rate);
      } catch (error) {
        if (!(error instanceof StoreError)) throw error;
        failOpen(error.cause);
        return;
      }
      recovered();
    },
    async ready(timeoutMs) {
      if (client.status === 'ready') return;
      const connected = new Promise<void>((resolve) => client.once('ready', () => resolve()));
      await withDeadline(connected, timeoutMs, () => {});
    },
    async close() {
      client.off('ready', recovered);
      await quit(client, options.timeoutMs);
    },
  };
}

/** The store could not count: not a refusal. */
class StoreError extends Error {
  override readonly name = 'StoreError';
}

async function consume(limiter: RateLimiterAbstract, key: string, rate: Rate): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (result) {
    if (!(result instanceof RateLimiterRes)) throw new StoreError('rate limiter store failed', { cause: result });
    throw rateLimited(`at most ${rate.points} publishes per ${durationOf(rate)} (PUBLISH_RATE_LIMIT)`, result.msBeforeNext);
  }
}
