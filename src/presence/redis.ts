/**
 * The Redis presence store, for several replicas (keys in redis-keys.ts). Each replica process is an
 * instance with a random id. In each room, its holds are a set of its own beside the room's members,
 * their order and how many instances hold each, all changed by one script per room (scripts/room.lua)
 * that also PUBLISHes the JOIN and LEAVE events with the count after each, so every replica sees one
 * order. A batch of holds is one call per room it touches, each on that room's slot (on a Redis
 * Cluster, its shard), plus one to the registry when the instance holds in a room for the first time.
 *
 * Liveness is per replica, not per member: one heartbeat per tick (PRESENCE_TTL_SECONDS / 6) keeps all
 * of a replica's members, however many. The same call claims replicas silent for half the TTL and
 * hands out the rooms they held in; the caller releases their holds there (a LEAVE for each member no
 * one else holds), so a replica killed outright loses its members within the TTL. A replica taken for
 * dead that comes back (a long stall, Redis restarted empty) withdraws what it held under its old id
 * and starts as a new instance, sending all its holds again.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { withDeadline } from '../deadline.js';
import { ErrorCode, RoomcastError } from '../errors.js';
import type { Logger } from '../log.js';
import { decodeEvents, decodeMember, encodeIdentity } from './codec.js';
import { presenceKeys } from './redis-keys.js';
import type { PresenceStore } from './store.js';
import type { PresenceEvent } from './types.js';
import { quit, redisClient, type RedisClient, type RedisTarget } from '../broker/redis-connection.js';

export interface RedisPresenceOptions {
  readonly redis: RedisTarget;
  readonly keyPrefix: string;
  /** PRESENCE_TTL_SECONDS: the members of a replica that stopped without closing are gone within it. */
  readonly ttlSeconds: number;
  /** A command Redis has not answered by then fails. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

/** Rooms handed out per heartbeat, and holds released per room per call: bound how long one call keeps Redis busy. */
const REAP_BUDGET = 500;

type RoomKeys = [members: string, order: string, holders: string, held: string, events: string];
type PresenceRedis = RedisClient & {
  presenceApply(...keysAndArgs: string[]): Promise<number>;
  presenceRelease(...keysAndArgs: (string | number)[]): Promise<number>;
  presenceRegister(replicas: string, rooms: string, ...args: (string | number)[]): Promise<number>;
  presenceTick(replicas: string, reaping: string, ...args: (string | number)[]): Promise<[number, [string, string[]][]]>;
  presenceReaped(reaping: string, rooms: string, dead: string, ...done: string[]): Promise<number>;
  presenceRetire(replicas: string, ...args: (string | number)[]): Promise<number>;
  presenceRead(members: string, order: string, limit: number): Promise<[number, (string | null)[]]>;
};

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
  const client = redisClient(redis, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectionName: 'roomcast:presence',
  }) as PresenceRedis;
  // enableReadyCheck: false avoids ioredis 5's race between its INFO ready check and SUBSCRIBE (#2037).
  // On a Redis Cluster, events travel on classic channels, which every node forwards to every other.
  const subscriber = redisClient(redis, { enableReadyCheck: false, connectionName: 'roomcast:presence-subscriber' });
  const [room, registry] = [script('room.lua'), script('registry.lua')];
  client.defineCommand('presenceApply', { numberOfKeys: 4, lua: room + script('apply.lua') });
  client.defineCommand('presenceRelease', { numberOfKeys: 4, lua: room + script('release.lua') });
  client.defineCommand('presenceRegister', { numberOfKeys: 2, lua: registry + script('register.lua') });
  client.defineCommand('presenceTick', { numberOfKeys: 2, lua: registry + script('tick.lua') });
  client.defineCommand('presenceReaped', { numberOfKeys: 2, lua: script('reaped.lua') });
  client.defineCommand('presenceRetire', { numberOfKeys: 1, lua: registry + script('retire.lua') });
  client.defineCommand('presenceRead', { numberOfKeys: 2, lua: script('read.lua') });
  /** The keys of one instance's holds in a room, and the room's channel: a room script's first arguments. */
  const roomKeys = (id: string, holder: string): RoomKeys => [
    keys.members(id),
    keys.order(id),
    keys.holders(id),
    keys.held(id, holder),
    keys.events(id),
  ];
  client.on('error', (error: Error) => log.debug('redis connection error', { role: 'presence', error }));
  subscriber.on('error', (error: Error) => log.debug('redis connection error', { role: 'presence subscriber', error }));

  let instance = randomUUID();
  /** True until a call registered the instance. */
  let fresh = true;
  /** Rooms the registry lists for this instance, and rooms where it holds nothing any more, to drop from it. */
  let registered = new Set<string>();
  const emptied = new Set<string>();
  let tickFailed = false;
  const watched = new Map<string, Watched>();

  /**
   * The instance `used` was dropped (reaped, or Redis lost it): what it held after it was reaped is
   * withdrawn, and it goes on as a new one, with every hold.
   */
  const lost = (used: string) => {
    if (used !== instance) return;
    log.warn('presence: this replica was taken for gone; sending its members again', { instance: used });
    const rooms = registered;
    instance = randomUUID();
    fresh = true;
    registered = new Set();
    emptied.clear();
    for (const id of rooms) client.presenceRelease(...roomKeys(id, used), REAP_BUDGET).catch(() => {});
    store.onLost();
  };

  /** Releases the holds of dead replicas in the rooms the heartbeat handed out; true if there was any. */
  const reap = async (work: [string, string[]][]): Promise<boolean> => {
    await Promise.all(
      work.map(async ([dead, rooms]) => {
        const left = await Promise.all(rooms.map((id) => client.presenceRelease(...roomKeys(id, dead), REAP_BUDGET)));
        const done = rooms.filter((_, i) => left[i] === 0);
        if (done.length > 0) await client.presenceReaped(keys.reaping, keys.rooms(dead), dead, ...done);
      }),
    );
    return work.length > 0;
  };

  const tick = async () => {
    if (!timer) return; // closed: a follow-up tick still due finds nothing to do
    const used = instance;
    try {
      const [live, work] = await client.presenceTick(
        keys.replicas,
        keys.reaping,
        used,
        fresh ? '1' : '0',
        deadAfterMs,
        keys.rooms(''),
        REAP_BUDGET,
      );
      tickFailed = false;
      if (live !== 1) lost(used);
      else if (used === instance) fresh = false;
      // More holds of dead replicas to release: go on soon rather than a tick later.
      if ((await reap(work)) && timer) setTimeout(() => void tick(), 0).unref();
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
      const byRoom = new Map<string, string[]>();
      for (const { room: id, key, member } of holds) {
        let args = byRoom.get(id);
        if (!args) byRoom.set(id, (args = []));
        args.push(key, member ? encodeIdentity(member) : '');
      }
      // The registry first: a replica reaped meanwhile must not hold anything under its old id.
      const added = [...byRoom.keys()].filter((id) => !registered.has(id));
      if (fresh || added.length > 0) {
        const dropped = [...emptied].filter((id) => !byRoom.has(id));
        const registeredNow = await client.presenceRegister(
          keys.replicas,
          keys.rooms(used),
          used,
          fresh ? '1' : '0',
          added.length,
          ...added,
          ...dropped,
        );
        if (registeredNow !== 1) return lost(used);
        if (used !== instance) return;
        fresh = false;
        for (const id of added) registered.add(id);
        for (const id of dropped) {
          emptied.delete(id);
          registered.delete(id);
        }
      }
      const rooms = [...byRoom];
      const left = await Promise.all(rooms.map(([id, args]) => client.presenceApply(...roomKeys(id, used), ...args)));
      if (used !== instance) return;
      // Rooms where it holds nothing now leave the registry with its next registration (kept if it holds there again).
      rooms.forEach(([id], i) => {
        if (left[i] === 0) emptied.add(id);
        else emptied.delete(id);
      });
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
        await withDeadline(client.presenceRetire(keys.replicas, instance, deadAfterMs, graceMs), timeoutMs, () => 0).catch(
          (error: unknown) => {
            // Then the others take it for dead a little later: half the TTL after its last heartbeat.
            log.warn("presence: could not hand this replica's members over; they leave when it is found gone", { error });
          },
        );
      }
      await Promise.all([quit(client, timeoutMs), quit(subscriber, timeoutMs)]);
    },
  };
  return store;
}
