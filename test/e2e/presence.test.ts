/**
 * Presence across three Roomcast processes and one redis-server, with real WebSocket clients:
 * members and their events are the same seen from every replica, the leave grace holds across a
 * reconnect to another replica, and the members of a replica killed with SIGKILL leave, each with a
 * LEAVE, within PRESENCE_TTL_SECONDS.
 */
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { PresenceDocument } from '../generated/graphql.js';
import { postGraphQL, wsClient, type Stream } from '../helpers/clients.js';
import { joinRoom, livePresenceAll, nextLines, type PresenceStream, type RoomMember } from '../helpers/presence.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor } from '../helpers/wait.js';

const GRACE_MS = 1_000;
const TTL_SECONDS = 4;
const env = (name: string) => ({
  REDIS_URL: redis.url,
  REPLICA_ID: name,
  PRESENCE_LEAVE_GRACE_MS: String(GRACE_MS),
  PRESENCE_TTL_SECONDS: String(TTL_SECONDS),
});

let redis: RedisServer;
let replicas: Replica[] = [];
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
  replicas = await Promise.all(['a', 'b', 'c'].map((name) => startReplica(env(name))));
});
afterAll(async () => {
  for (const replica of replicas) expect(await replica.stop()).toBe(0);
  await redis?.stop();
});

const clients: Client[] = [];
const members: RoomMember[] = [];
const streams: Stream<unknown>[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.dispose();
  for (const member of members.splice(0)) await member.leave();
  for (const client of clients.splice(0)) await client.dispose();
});

const join = (replica: Replica, room: string, clientId: string) => {
  const member = joinRoom(replica.wsUrl, room, clientId);
  members.push(member);
  return member;
};
/** A live presence subscription on each of `on`. */
async function watchers(room: string, on: readonly Replica[]) {
  const watching = on.map((replica) => {
    const client = wsClient(replica.wsUrl);
    clients.push(client);
    return client;
  });
  const live = await livePresenceAll(watching, room, on[0]!.wsUrl);
  members.push(...live.probes);
  streams.push(...live.streams);
  return live;
}
const presenceOn = async (replica: Replica, room: string) => {
  const { body } = await postGraphQL(replica.url, PresenceDocument, { room, limit: 1000 });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.presence;
};
/** Waits `ms`, then a marker member joins: a LEAVE due by then arrives before its JOIN. */
async function markerAfter(
  ms: number,
  replica: Replica,
  room: string,
  streamsToRead: PresenceStream[],
  expectedCount: number,
): Promise<void> {
  const from = Date.now();
  await waitFor('the marker time', () => Date.now() - from >= ms, ms + 1_000);
  join(replica, room, 'marker');
  for (const stream of streamsToRead) expect(await nextLines(stream, 1)).toEqual([`JOIN marker ${expectedCount}`]);
}

describe('presence across three replicas on one Redis', () => {
  it('should show every replica the same members and the same events, with counts that match the query', async () => {
    const room = 'presence-fanout';
    const { streams: seen, base } = await watchers(room, replicas);
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const c1 = join(a, room, 'c1');
    for (const stream of seen) expect(await nextLines(stream, 1)).toEqual([`JOIN c1 ${base + 1}`]);
    const c1Elsewhere = join(b, room, 'c1'); // the same client on a second replica: the same member
    const c2 = join(b, room, 'c2');
    for (const stream of seen) expect(await nextLines(stream, 1)).toEqual([`JOIN c2 ${base + 2}`]);
    join(c, room, 'c3');
    for (const stream of seen) expect(await nextLines(stream, 1)).toEqual([`JOIN c3 ${base + 3}`]);
    for (const replica of replicas) {
      const { count, members: listed } = await presenceOn(replica, room);
      expect(count).toBe(base + 3);
      expect(listed.map((m) => m.clientId).filter((id) => !id.startsWith('probe-'))).toEqual(['c1', 'c2', 'c3']);
    }

    await c1.leave(); // still on b
    await c2.leave();
    for (const stream of seen) expect(await nextLines(stream, 1, 5_000)).toEqual([`LEAVE c2 ${base + 2}`]);
    await markerAfter(GRACE_MS, c, room, seen, base + 3);
    await c1Elsewhere.leave();
    for (const stream of seen) expect(await nextLines(stream, 1, 5_000)).toEqual([`LEAVE c1 ${base + 2}`]);
    expect((await presenceOn(a, room)).count).toBe(base + 2);
  });

  it('should keep a client that reconnects to another replica within the grace, with no LEAVE and no JOIN', async () => {
    const room = 'presence-grace';
    const [a, b, c] = replicas as [Replica, Replica, Replica];
    const { streams: seen, base } = await watchers(room, [c]);
    const before = join(a, room, 'roamer');
    expect(await nextLines(seen[0]!, 1)).toEqual([`JOIN roamer ${base + 1}`]);
    const joinedAt = (await presenceOn(c, room)).members.find((m) => m.clientId === 'roamer')!.joinedAt;
    await before.leave(); // its replica went away, say...
    expect((await presenceOn(b, room)).count).toBe(base + 1); // ...a member still, in its grace...
    const after = join(b, room, 'roamer'); // ...and back, on another replica
    await markerAfter(GRACE_MS + 500, c, room, seen, base + 2);
    expect((await presenceOn(a, room)).members.find((m) => m.clientId === 'roamer')?.joinedAt).toBe(joinedAt);
    // Gone for good: a LEAVE once the grace has passed.
    const left = Date.now();
    await after.leave();
    expect(await nextLines(seen[0]!, 1, 5_000)).toEqual([`LEAVE roamer ${base + 1}`]);
    expect(Date.now() - left).toBeGreaterThanOrEqual(GRACE_MS - 100);
  });

  it('should let the members of a replica killed with SIGKILL leave within PRESENCE_TTL_SECONDS, with a LEAVE each', async () => {
    const room = 'presence-kill';
    const doomed = await startReplica(env('doomed'));
    try {
      const [a, b] = replicas as [Replica, Replica];
      const { streams: seen, base } = await watchers(room, [a, b]);
      // Clients that will not reconnect (no retries), two only on the doomed replica, one also on b.
      for (const id of ['k1', 'k2', 'both']) join(doomed, room, id);
      for (const stream of seen) expect((await nextLines(stream, 3)).map((l) => l.split(' ')[0])).toEqual(['JOIN', 'JOIN', 'JOIN']);
      join(b, room, 'both');
      expect((await presenceOn(b, room)).count).toBe(base + 3);

      const killed = Date.now();
      await doomed.stop('SIGKILL');
      for (const stream of seen) {
        const leaves = await nextLines(stream, 2, TTL_SECONDS * 1000 + 2_000);
        expect(leaves.map((l) => l.replace(/k[12]/, 'k')).sort()).toEqual([`LEAVE k ${base + 1}`, `LEAVE k ${base + 2}`]);
      }
      const gone = Date.now() - killed;
      expect(gone).toBeLessThanOrEqual(TTL_SECONDS * 1000);
      const { count, members: listed } = await presenceOn(a, room);
      expect(count).toBe(base + 1);
      expect(listed.map((m) => m.clientId)).toContain('both');
    } finally {
      await doomed.stop('SIGKILL');
    }
  });
});
