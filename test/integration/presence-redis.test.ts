/**
 * The presence contract on Redis (each "replica" a store of its own, with its own connections, on one
 * redis-server), then what only Redis does: its key layout, replicas that stop (closing, or silent
 * past the TTL) and a Redis that lost its data, and what joins cost in Redis, measured.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createPresence, type Presence } from '../../src/presence/presence.js';
import { createRedisPresenceStore } from '../../src/presence/redis.js';
import { presenceKeys } from '../../src/presence/redis-keys.js';
import type { PresenceEvent } from '../../src/presence/types.js';
import { partyKey } from '../../src/rooms/party.js';
import { describePresenceContract } from '../contracts/presence.contract.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterAll(async () => {
  await redis?.stop();
});

const log = createLogger('silent');

/** Replicas on one key prefix of their own, closed by `close`. */
function cluster(ttlSeconds = 30, prefix = `test:${randomUUID().slice(0, 8)}:`) {
  const made: Presence[] = [];
  return {
    prefix,
    replica(graceMs: number, ownTtlSeconds = ttlSeconds): Presence {
      const store = createRedisPresenceStore({
        redis: { kind: 'server', url: redis.url },
        keyPrefix: prefix,
        ttlSeconds: ownTtlSeconds,
        timeoutMs: 2_000,
        log,
      });
      const presence = createPresence(store, { graceMs, timeoutMs: 2_000, log });
      made.push(presence);
      return presence;
    },
    close: async () => {
      for (const presence of made.splice(0)) await presence.close();
    },
  };
}

describePresenceContract('redis', async () => cluster());

const who = (clientId: string, user: string | null = null) => ({ clientId, user, info: null });

async function watch(presence: Presence, room: string): Promise<string[]> {
  const lines: string[] = [];
  await presence.watch(room, (e: PresenceEvent) => lines.push(`${e.action} ${e.member.clientId} ${e.count}`));
  return lines;
}

describe('Redis presence specifics', () => {
  it('should keep a room under the documented keys, and leave no key behind once it is empty', async () => {
    const c = cluster();
    const keys = presenceKeys(c.prefix);
    const a = c.replica(0);
    const lines = await watch(a, 'layout');
    const release = a.hold('layout', who('c1', 'alice'));
    await waitFor('the JOIN', () => lines.length === 1);
    const key = partyKey('alice', 'c1');
    expect(JSON.parse((await redis.command('HGET', keys.members('layout'), key)) as string)).toMatchObject({
      clientId: 'c1',
      user: 'alice',
      info: null,
    });
    expect(await redis.command('ZRANGE', keys.order('layout'), 0, -1)).toEqual([key]);
    expect(await redis.command('HGET', keys.holders('layout'), key)).toBe('1');
    const [instance] = (await redis.command('ZRANGE', keys.replicas, 0, -1)) as string[];
    expect(await redis.command('SMEMBERS', keys.held('layout', instance!))).toEqual([key]);
    expect(await redis.command('SMEMBERS', keys.rooms(instance!))).toEqual(['layout']);

    release();
    await waitFor('the LEAVE', () => lines.length === 2);
    expect(await redis.command('KEYS', `${c.prefix}{layout}*`)).toEqual([]);
    expect(await redis.command('EXISTS', keys.held('layout', instance!))).toBe(0);
    await c.close();
  });

  it('should list in the registry the rooms a replica holds members in: one it left goes, and comes back with its next member', async () => {
    const c = cluster();
    const keys = presenceKeys(c.prefix);
    const a = c.replica(0);
    const [back, elsewhere] = [await watch(a, 'back'), await watch(a, 'elsewhere')];
    const release = a.hold('back', who('c1'));
    await waitFor('the JOIN', () => back.length === 1);
    release();
    await waitFor('the LEAVE', () => back.length === 2);
    a.hold('elsewhere', who('c2'));
    await waitFor('the JOIN elsewhere', () => elsewhere.length === 1);
    const [instance] = (await redis.command('ZRANGE', keys.replicas, 0, -1)) as string[];
    const rooms = async () => ((await redis.command('SMEMBERS', keys.rooms(instance!))) as string[]).sort();
    expect(await rooms()).toEqual(['elsewhere']);
    a.hold('back', who('c3'));
    await waitFor('the JOIN back', () => back.length === 3);
    // Listed again: were this replica to die now, whoever reaps it would find c3.
    expect(await rooms()).toEqual(['back', 'elsewhere']);
    await c.close();
  });

  it('should keep the members of a closed replica for the grace: those back on another replica stay, the others leave', async () => {
    // Reaped on a heartbeat of the replica left: one every second with a TTL of 6 s.
    const c = cluster(6);
    const [leaving, staying] = [c.replica(1_000), c.replica(1_000)];
    const lines = await watch(staying, 'handover');
    leaving.hold('handover', who('returns'));
    leaving.hold('handover', who('gone'));
    await waitFor('two JOINs', () => lines.length === 2);
    const closed = Date.now();
    await leaving.close(); // its WebSockets closed first: every member of it is in its grace
    staying.hold('handover', who('returns')); // that client reconnected here
    await waitFor('the LEAVE of the one not back', () => lines.length === 3, 5_000);
    expect(Date.now() - closed).toBeGreaterThanOrEqual(1_000 - 50);
    expect(Date.now() - closed).toBeLessThanOrEqual(1_000 + 1_000 + 500);
    expect(lines).toEqual(['JOIN returns 1', 'JOIN gone 2', 'LEAVE gone 1']);
    expect((await staying.read('handover', 10)).members.map((m) => m.clientId)).toEqual(['returns']);
    await c.close();
  });

  it('should release the members of a replica silent for longer than the TTL allows, with a LEAVE each', async () => {
    const c = cluster(2);
    const keys = presenceKeys(c.prefix);
    const survivor = c.replica(0);
    const lines = await watch(survivor, 'silent');
    survivor.hold('silent', who('alive'));
    await waitFor('the JOIN', () => lines.length === 1);
    // What SIGKILL leaves behind, in-process: a replica that registered, held, and beats no more
    // (its heartbeat comes every 4 hours: once at its start). The e2e test kills a real process.
    const silentSince = Date.now();
    const dead = c.replica(0, 86_400);
    dead.hold('silent', who('d1'));
    dead.hold('silent', who('d2'));
    await waitFor('the replica gone', async () => lines.length === 5 && lines, 5_000);
    expect(Date.now() - silentSince).toBeLessThanOrEqual(2_000);
    // The reaper releases in no particular order: each LEAVE has the count after it.
    expect(lines.slice(0, 3)).toEqual(['JOIN alive 1', 'JOIN d1 2', 'JOIN d2 3']);
    expect(lines.slice(3).map((l) => l.replace(/d[12]/, 'd'))).toEqual(['LEAVE d 2', 'LEAVE d 1']);
    expect((await survivor.read('silent', 10)).members.map((m) => m.clientId)).toEqual(['alive']);
    expect(await redis.command('ZCARD', keys.replicas)).toBe(1);
    expect(await redis.command('EXISTS', keys.reaping)).toBe(0);
    expect(await redis.command('KEYS', keys.held('silent', '*'))).toHaveLength(1); // the survivor's
    expect(await redis.command('KEYS', keys.rooms('*'))).toHaveLength(1);
    await c.close();
  });

  it('should send every member again when Redis lost its data, as a new instance', async () => {
    const c = cluster(2);
    const a = c.replica(0);
    const lines = await watch(a, 'lost');
    a.hold('lost', who('c1'));
    a.hold('lost', who('c2'));
    await waitFor('two JOINs', () => lines.length === 2);
    await redis.command('FLUSHALL');
    // Within a heartbeat (TTL / 6) the replica finds itself gone and holds everything again.
    await waitFor('the members back', async () => (await a.read('lost', 10)).count === 2, 5_000);
    await waitFor('their JOINs', () => lines.length === 4);
    expect(lines).toEqual(['JOIN c1 1', 'JOIN c2 2', 'JOIN c1 1', 'JOIN c2 2']);
    await c.close();
  });

  it('should cost one script call per room per batch of joins, and one PUBLISH per room per batch (measured)', async () => {
    // A heartbeat every 4 hours: nothing but the joins runs in Redis while they are measured.
    const c = cluster(86_400);
    const a = c.replica(0);
    const lines = await watch(a, 'cost-1');
    // The first call loads the script (ioredis sends EVAL after EVALSHA's NOSCRIPT): not a join's cost.
    a.hold('cost-warm-up', who('warm-up'));
    await waitFor('the warm-up join', async () => (await a.read('cost-warm-up', 1)).count === 1);

    const measure = async (joins: () => void | Promise<void>, done: () => Promise<boolean>) => {
      await redis.command('CONFIG', 'RESETSTAT');
      const memoryBefore = usedMemory(String(await redis.command('INFO', 'memory')));
      await joins();
      await waitFor('the joins stored', done, 10_000);
      const stats = commandStats(String(await redis.command('INFO', 'commandstats')));
      const memory = usedMemory(String(await redis.command('INFO', 'memory'))) - memoryBefore;
      return { stats, memory };
    };

    const one = await measure(
      () => void a.hold('cost-1', who('solo', 'user-1')),
      async () => lines.length === 1,
    );
    // The replica's first hold in the room: the registry's EVALSHA (TIME, ZSCORE: is this replica
    // registered?, SADD: the room to its rooms), then the room's (TIME, SADD, HINCRBY, HSET, ZADD,
    // HLEN, PUBLISH, SCARD); nothing else (INFO and CONFIG are the measurement itself).
    const calls = Object.fromEntries(Object.entries(one.stats).map(([command, { calls: n }]) => [command, n]));
    expect(calls).toEqual({ evalsha: 2, time: 2, zscore: 1, sadd: 2, hincrby: 1, hset: 1, zadd: 1, hlen: 1, publish: 1, scard: 1 });
    // Redis's time for one join alone varies from tens of µs to a millisecond on this VM (Lua's
    // garbage collection): take 100, and the median of each call's time from the slow log.
    await redis.command('CONFIG', 'SET', 'slowlog-log-slower-than', '0', 'slowlog-max-len', '10000');
    await redis.command('SLOWLOG', 'RESET');
    const alone = await measure(
      async () => {
        for (let i = 2; i <= 101; i++) {
          a.hold('cost-1', who(`alone-${i}`));
          await waitFor('its JOIN', () => lines.length === i);
        }
      },
      async () => lines.length === 101,
    );
    expect(alone.stats.evalsha?.calls).toBe(100);
    const log = (await redis.command('SLOWLOG', 'GET', '10000')) as [number, number, number, string[]][];
    const calls100 = log
      .filter((entry) => entry[3][0]?.toLowerCase() === 'evalsha')
      .map((entry) => entry[2])
      .sort((x, y) => x - y);
    await redis.command('CONFIG', 'SET', 'slowlog-log-slower-than', '10000', 'slowlog-max-len', '128');
    const median = calls100[Math.floor(calls100.length / 2)]!;

    // Done when every JOIN was heard (reading would add commands to the count).
    const heard = await Promise.all(Array.from({ length: 10 }, (_, room) => watch(a, `cost-many-${room}`)));
    const many = await measure(
      () => {
        for (let i = 0; i < 1_000; i++) a.hold(`cost-many-${i % 10}`, who(`c${i}`, `user-${i}`));
      },
      async () => heard.every((roomLines) => roomLines.length === 100),
    );
    // 1000 joins at once, in 10 rooms: two batches of 500, each one call per room, publishing once;
    // and before the first, one to the registry for the 10 new rooms.
    expect(many.stats.evalsha?.calls).toBe(21);
    expect(many.stats.publish?.calls).toBe(20);
    expect(many.stats.sadd?.calls).toBe(1_001);
    console.info(
      `presence join cost: a join alone (in a room the replica holds members in) = 1 EVALSHA of 8 commands, ${median} µs of Redis time (median of 100; mean ${(alone.stats.evalsha!.usec / 100).toFixed(0)} µs); ` +
        `1000 joins at once in 10 rooms = ${many.stats.evalsha!.calls} EVALSHA and ${many.stats.publish!.calls} PUBLISH, ` +
        `${(many.stats.evalsha!.usec / 1_000).toFixed(1)} µs per join; ${Math.round(many.memory / 1_000)} bytes of Redis memory per member`,
    );
    await c.close();
  });
});

/** `INFO commandstats` as command -> calls and µs (those of scripts' own commands included). */
function commandStats(info: string): Record<string, { calls: number; usec: number }> {
  const stats: Record<string, { calls: number; usec: number }> = {};
  for (const [, name, calls, usec] of info.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm)) {
    if (name !== 'info' && name !== 'config') stats[name!] = { calls: Number(calls), usec: Number(usec) };
  }
  return stats;
}

const usedMemory = (info: string) => Number(/^used_memory:(\d+)/m.exec(info)![1]);
