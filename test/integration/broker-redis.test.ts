import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createBroker } from '../../src/broker/broker.js';
import { createRedisBackend } from '../../src/broker/redis.js';
import { createLogger } from '../../src/log.js';
import { encodeMessage } from '../../src/rooms/message.js';
import { describeBrokerContract } from '../contracts/broker.contract.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterAll(async () => {
  await redis?.stop();
});

const redisBroker = (historySize: number, timeoutMs = 2_000, idempotencyTtlSeconds?: number) =>
  createBroker(
    createRedisBackend({
      redis: { kind: 'server', url: redis.url },
      keyPrefix: 'test:',
      historySize,
      historyTtlSeconds: 3600,
      idempotencyTtlSeconds,
      timeoutMs,
      log: createLogger('silent'),
    }),
    createLogger('silent'),
  );

describeBrokerContract('redis', async ({ historySize, idempotencyTtlSeconds }) => {
  const broker = redisBroker(historySize, 2_000, idempotencyTtlSeconds);
  await waitFor('the Redis broker to be ready', () => broker.ready());
  return {
    broker,
    loseHistory: async () => {
      await redis.command('FLUSHALL');
    },
    storedJson: async (room) => {
      const entries = (await redis.command('XRANGE', `test:{${room}}:log`, '-', '+')) as [string, string[]][];
      return entries.map(([, fields]) => fields[1]!);
    },
    close: () => broker.close(),
  };
});

describe('Redis broker specifics', () => {
  it('should hold one channel subscription per room per replica, released when the last subscriber leaves', async () => {
    const broker = redisBroker(100);
    const other = redisBroker(100);
    try {
      await waitFor('ready', async () => (await broker.ready()) && (await other.ready()));
      const numsub = async () => (await redis.command('PUBSUB', 'NUMSUB', 'test:{numsub}')) as [string, number];
      const subs = await Promise.all([1, 2, 3].map(() => broker.subscribe('numsub', undefined)));
      const elsewhere = await other.subscribe('numsub', undefined);
      expect((await numsub())[1]).toBe(2);
      await subs[0]!.return();
      await subs[1]!.return();
      expect((await numsub())[1]).toBe(2);
      await subs[2]!.return();
      await waitFor('the channel to be released by the first replica', async () => (await numsub())[1] === 1);
      await elsewhere.return();
      await waitFor('the channel to be released by every replica', async () => (await numsub())[1] === 0);
    } finally {
      await broker.close();
      await other.close();
    }
  });

  it('should fail a publish with UNAVAILABLE, quickly, when Redis cannot be reached', async () => {
    const unreachable = createBroker(
      createRedisBackend({
        redis: { kind: 'server', url: 'redis://127.0.0.1:1' },
        keyPrefix: 'test:',
        historySize: 10,
        historyTtlSeconds: 60,
        timeoutMs: 500,
        log: createLogger('silent'),
      }),
      createLogger('silent'),
    );
    try {
      const started = Date.now();
      await expect(unreachable.publish('room', 'e', '{}')).rejects.toMatchObject({
        extensions: { code: 'UNAVAILABLE' },
      });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await unreachable.ready()).toBe(false);
    } finally {
      await unreachable.close();
    }
  });

  it("should keep a room's history for the TTL after its last publish, and trim it to HISTORY_SIZE", async () => {
    const broker = redisBroker(3);
    try {
      await waitFor('ready', () => broker.ready());
      for (let n = 0; n < 5; n++) await broker.publish('ttl', 'e', String(n));
      for (const key of ['test:{ttl}:meta', 'test:{ttl}:log']) {
        const ttl = (await redis.command('PTTL', key)) as number;
        expect(ttl).toBeGreaterThan(3_590_000);
        expect(ttl).toBeLessThanOrEqual(3_600_000);
      }
      expect(await redis.command('XLEN', 'test:{ttl}:log')).toBe(3);
    } finally {
      await broker.close();
    }
  });

  it("should hold an idempotency key's message under the room's hash tag, for IDEMPOTENCY_TTL_SECONDS from the first publish", async () => {
    const broker = redisBroker(1);
    try {
      await waitFor('ready', () => broker.ready());
      const secret = 'order-42 "quoted" \\ {not a tag}';
      const first = await broker.publish('idem', 'e', '{"n":1}', 'alice', secret);
      await broker.publish('idem', 'e', '{"n":2}');
      const keys = (await redis.command('KEYS', 'test:{idem}:idem:*')) as string[];
      const name = `test:{idem}:idem:${createHash('sha256')
        .update(JSON.stringify(['alice', secret]))
        .digest('hex')}`;
      expect(keys).toEqual([name]);
      // The message itself, though the history (HISTORY_SIZE 1) no longer holds it.
      expect(await redis.command('GET', name)).toBe(encodeMessage(first, '{"n":1}'));
      expect(await redis.command('XLEN', 'test:{idem}:log')).toBe(1);
      const ttl = async () => (await redis.command('PTTL', name)) as number;
      const before = await waitFor('the window to run', async () => {
        const left = await ttl();
        return left < 600_000 && left;
      });
      expect(before).toBeGreaterThan(590_000);
      // A repeat neither extends the window nor touches the room.
      expect(await broker.publish('idem', 'e', '{"n":3}', 'alice', secret)).toEqual(first);
      expect(await ttl()).toBeLessThanOrEqual(before);
      expect(await redis.command('HGET', 'test:{idem}:meta', 'seq')).toBe('2');
      // Anonymous publishes under the same key have their own.
      await broker.publish('idem', 'e', '{"n":4}', undefined, secret);
      expect(((await redis.command('KEYS', 'test:{idem}:idem:*')) as string[]).sort()).toEqual(
        [
          name,
          `test:{idem}:idem:${createHash('sha256')
            .update(JSON.stringify([null, secret]))
            .digest('hex')}`,
        ].sort(),
      );
    } finally {
      await broker.close();
    }
  });

  it('should store the data exactly as published, numbers and slashes included', async () => {
    const broker = redisBroker(10);
    try {
      await waitFor('ready', () => broker.ready());
      const data = '{"big":12345678901234567,"arr":[],"path":"a/b","s":"\\u00e9\\"q"}';
      await broker.publish('exact', 'e', data);
      const raw = (await redis.command('XRANGE', 'test:{exact}:log', '-', '+')) as [string, string[]][];
      expect(raw[0]![1][1]).toContain(`"data":${data}}`);
    } finally {
      await broker.close();
    }
  });
});

describe('releasing a room while the connection closes', () => {
  it('should leave no unhandled rejection when UNSUBSCRIBE is never answered', async () => {
    // Its own Redis, frozen while the release is on the wire, then gone while the backend closes:
    // graphql-redis-subscriptions does not handle the failure of the UNSUBSCRIBE it sent.
    const frozen = await RedisServer.start(inject('redisServerBin'));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const backend = createRedisBackend({
        redis: { kind: 'server', url: frozen.url },
        keyPrefix: 'release:',
        historySize: 10,
        historyTtlSeconds: 60,
        timeoutMs: 300,
        log: createLogger('silent'),
      });
      await waitFor('the backend to be ready', () => backend.ready());
      await backend.listen('released');
      frozen.pause();
      await backend.unlisten('released');
      const closing = backend.close();
      // Killed while frozen: its sockets close at once, before it could answer; close() resolves once
      // the subscriber connection has ended, its unanswered commands failed.
      await frozen.kill();
      await closing;
      // Unhandled rejections are reported once the microtask queue has drained: two turns of the loop.
      for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      frozen.resume();
      await frozen.stop();
    }
  });
});
