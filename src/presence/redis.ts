/**
 * The Redis presence store, for several replicas (keys in redis-keys.ts). Each replica process is an
 * instance with a random id; its holds are a set of its own, and each room's members, their order and
 * how many instances hold each are kept beside them, all changed by scripts that also PUBLISH the
 * JOIN and LEAVE events with the count after each, so every replica sees one order.
 *
 * Liveness is per replica, not per member: one heartbeat per tick (PRESENCE_TTL_SECONDS / 6) keeps all
 * of a replica's members, however many. The same call reaps replicas silent for half the TTL (their
 * holds are released, with a LEAVE for each member no one else holds), so a replica killed outright
 * loses its members within the TTL. A replica taken for dead that comes back (a long stall, Redis
 * restarted empty) starts as a new instance and sends all its holds again.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { withDeadline } from '../deadline.js';
import { ErrorCode, RoomcastError } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeEvents, decodeMember, encodeIdentity } from './codec.js';
import { presenceKeys } from './redis-keys.js';
import type { PresenceStore } from './store.js';
import type { PresenceEvent } from './types.js';
import { quit, redisConnection, type RedisTarget } from '../broker/redis-connection.js';

export interface RedisPresenceOptions {
  readonly redis: RedisTarget;
  readonly keyPrefix: string;
  /** PRESENCE_TTL_SECONDS: the members of a replica that stopped without closing are gone within it. */
  readonly ttlSeconds: number;
  /** A command Redis has not answered by then fails. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

/** Holds released per reaping call: bounds how long one call keeps Redis busy. */
const REAP_BUDGET = 500;

interface PresenceRedis extends Redis {
  presenceApply(...args: string[]): Promise<number>;
  presenceTick(...args: (string | number)[]): Promise<[number, number]>;
  presenceRetire(...args: (string | number)[]): Promise<number>;
  presenceRead(members: string, order: string, limit: number): Promise<[number, (string | null)[]]>;
}

const script = (name: string): string => readFileSync(new URL(`./scripts/${name}`, import.meta.url), 'utf8');

interface Watched {
  readonly room: string;
  readonly listeners: Set<(event: PresenceEvent) => void>;
  readonly subscribed: Promise<unknown>;
}

export function createRedisPresenceStore({ redis, keyPrefix, ttlSeconds, timeoutMs, log }: RedisPresenceOptions): PresenceStore {
  const keys = presenceKeys(keyPrefix);
  const tickMs = (ttlSeconds * 1000) / 6;
  const deadAfterMs = (ttlSeconds * 1000) / 2;
  // No offline queue: a batch either reaches Redis now or is retried by the holds with what is then true.
  const client = redisConnection(redis, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectionName: 'roomcast:presence',
  }) as PresenceRedis;
  // enableReadyCheck: false avoids ioredis 5's race between its INFO ready check and SUBSCRIBE (#2037).
  const subscriber = redisConnection(redis, { enableReadyCheck: false, connectionName: 'roomcast:presence-subscriber' });
  const common = script('common.lua');
  client.defineCommand('presenceApply', { numberOfKeys: 0, lua: common + script('apply.lua') });
  client.defineCommand('presenceTick', { numberOfKeys: 0, lua: common + script('tick.lua') });
  client.defineCommand('presenceRetire', { numberOfKeys: 0, lua: common + script('retire.lua') });
  client.defineCommand('presenceRead', { numberOfKeys: 2, lua: script('read.lua') });
  for (const [connection, role] of [
    [client, 'presence'],
    [subscriber, 'presence subscriber'],
  ] as const) {
    connection.on('error', (error: Error) => log.debug('redis connection error', { role, error }));
  }

  let instance = randomUUID();
  /** True until a call registered the instance. */
  let fresh = true;
  let tickFailed = false;
  const watched = new Map<string, Watched>();

  /** The instance `used` was dropped (reaped, or Redis lost it): go on as a new one, with every hold. */
  const lost = (used: string) => {
    if (used !== instance) return;
    log.warn('presence: this replica was taken for gone; sending its members again', { instance: used });
    instance = randomUUID();
    fresh = true;
    store.onLost();
  };

  const tick = async () => {
    if (!timer) return; // closed: a follow-up tick still due finds nothing to do
    const used = instance;
    try {
      const [live, reaping] = await client.presenceTick(keyPrefix, used, fresh ? '1' : '0', deadAfterMs, REAP_BUDGET);
      tickFailed = false;
      if (live !== 1) return lost(used);
      if (used === instance) fresh = false;
      // More holds of dead replicas to release: go on soon rather than a tick later.
      if (reaping > 0 && timer) setTimeout(() => void tick(), 0).unref();
    } catch (error) {
      if (!tickFailed) log.warn('presence: heartbeat failed; retrying every tick', { error });
      tickFailed = true;
    }
  };
  let timer: ReturnType<typeof setInterval> | undefined = setInterval(() => void tick(), tickMs);
  // At once when connected (and reconnected): reaps what replicas gone meanwhile left, and tells
  // this one whether it was taken for gone while Redis was out of reach.
  client.on('ready', () => void tick());

  subscriber.on('message', (channel: string, text: string) => {
    const entry = watched.get(channel);
    if (!entry) return;
    let events: PresenceEvent[];
    try {
      events = decodeEvents(entry.room, text);
    } catch (error) {
      log.error('presence: dropped malformed events from Redis', { room: entry.room, error });
      return;
    }
    for (const event of events) for (const listener of [...entry.listeners]) listener(event);
  });

  const unwatch = (channel: string, entry: Watched) => {
    if (entry.listeners.size > 0 || watched.get(channel) !== entry) return;
    watched.delete(channel);
    subscriber.unsubscribe(channel).catch(() => {});
  };

  const store: PresenceStore = {
    kind: 'redis',
    onLost: () => {},

    async apply(holds) {
      const used = instance;
      const args = [keyPrefix, used, fresh ? '1' : '0'];
      for (const { room, key, member } of holds) args.push(room, key, member ? encodeIdentity(member) : '');
      if ((await client.presenceApply(...args)) !== 1) return lost(used);
      if (used === instance) fresh = false;
    },

    async read(room, limit) {
      let count: number;
      let members: (string | null)[];
      try {
        [count, members] = await client.presenceRead(keys.members(room), keys.order(room), limit);
      } catch {
        throw new RoomcastError(ErrorCode.UNAVAILABLE, 'presence is unavailable (Redis did not answer); retry later');
      }
      return { room, count, members: members.filter((json): json is string => json !== null).map(decodeMember) };
    },

    async watch(room, listener) {
      const channel = keys.events(room);
      let entry = watched.get(channel);
      if (!entry) {
        const subscribed = withDeadline(subscriber.subscribe(channel), timeoutMs, () => {
          throw new Error(`Redis did not answer SUBSCRIBE within ${timeoutMs} ms`);
        });
        entry = { room, listeners: new Set(), subscribed };
        watched.set(channel, entry);
      }
      const own = entry;
      own.listeners.add(listener);
      try {
        // Resolves once Redis acknowledged SUBSCRIBE: no later event can be missed.
        await own.subscribed;
      } catch {
        own.listeners.delete(listener);
        unwatch(channel, own);
        throw new RoomcastError(ErrorCode.UNAVAILABLE, 'presence is unavailable (Redis did not answer); retry later');
      }
      return () => {
        own.listeners.delete(listener);
        unwatch(channel, own);
      };
    },

    async close(graceMs) {
      clearInterval(timer);
      timer = undefined;
      watched.clear();
      if (!fresh) {
        await withDeadline(client.presenceRetire(keyPrefix, instance, deadAfterMs, graceMs), timeoutMs, () => 0).catch((error: unknown) => {
          // Then the others take it for dead a little later: half the TTL after its last heartbeat.
          log.warn("presence: could not hand this replica's members over; they leave when it is found gone", { error });
        });
      }
      await Promise.all([quit(client, timeoutMs), quit(subscriber, timeoutMs)]);
    },
  };
  return store;
}
