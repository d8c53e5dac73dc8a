/**
 * Presence through the API on in-process servers (memory, direct delivery on and off; Redis): who is
 * a member (WebSocket subscribers of a room's messages, once per client however many subscriptions;
 * not event streams), the leave grace across a reconnect, `limit` and room checks; then with auth on:
 * the `presence` capability, `user` and `info` from the token only, and members as (sub, clientId).
 */
import { SignJWT, type JWTPayload } from 'jose';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { BroadcastsDocument, PresenceDocument, PresenceEventsDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { executeWs, postGraphQL, subscribeSse, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
import { joinRoom, livePresence, nextLines, type RoomMember } from '../helpers/presence.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterAll(async () => {
  await redis?.stop();
});

const server = serversOfThisFile({ PRESENCE_LEAVE_GRACE_MS: '500' });
const clients: Client[] = [];
const members: RoomMember[] = [];
const streams: Stream<unknown>[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.dispose();
  for (const member of members.splice(0)) await member.leave();
  for (const client of clients.splice(0)) await client.dispose();
});
const connect = (target: TestServer, connectionParams?: Record<string, unknown>) => {
  const client = wsClient(target.wsUrl, connectionParams ? { connectionParams } : {});
  clients.push(client);
  return client;
};
const join = (target: TestServer, room: string, clientId: string, params: Record<string, unknown> = {}) => {
  const member = joinRoom(target.wsUrl, room, clientId, params);
  members.push(member);
  return member;
};
const watch = async (target: TestServer, room: string, params?: Record<string, unknown>) => {
  // The watcher's token (when there is one) also lets its probes subscribe.
  const live = await livePresence(connect(target, params), room, target.wsUrl, params);
  members.push(...live.probes);
  streams.push(live.stream);
  return live;
};
const query = async (target: TestServer, room: string, limit?: number, headers: Record<string, string> = {}) => {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      query:
        'query($room: ID!, $limit: Int) { presence(room: $room, limit: $limit) { room count members { clientId user joinedAt info } } }',
      variables: { room, limit },
    }),
  });
  return (await response.json()) as {
    data?: { presence: { count: number; members: { clientId: string; user: string | null; info: unknown; joinedAt: string }[] } };
    errors?: { message: string; extensions: { code: string } }[];
  };
};
const countOf = async (target: TestServer, room: string) => (await query(target, room)).data!.presence.count;

let rooms = 0;
const newRoom = () => `presence-${Date.now()}-${rooms++}`;

describe.each([
  { name: 'memory, direct delivery on', env: {} },
  { name: 'memory, direct delivery off', env: { DIRECT_DELIVERY: 'off' } },
  { name: 'Redis', env: {}, redis: true },
])('presence on $name', ({ env, redis: onRedis }) => {
  const start = () => server({ ...(env as Record<string, string>), ...(onRedis ? { REDIS_URL: redis.url } : {}) });

  it('should make a WebSocket subscriber a member, once however many subscriptions and connections, until the last ends and the grace passes', async () => {
    const target = await start();
    const room = newRoom();
    const { stream, base } = await watch(target, room);
    const first = join(target, room, 'tab-1');
    expect(await nextLines(stream, 1)).toEqual([`JOIN tab-1 ${base + 1}`]);
    const joined = (await query(target, room, 1000)).data!.presence.members.find((m) => m.clientId === 'tab-1')!;
    expect(joined).toEqual({ clientId: 'tab-1', user: null, info: null, joinedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) });

    // Another subscription on the same connection, and another connection with the same client id.
    const again = subscribeWs(first.client, RoomMessagesDocument, { room });
    streams.push(again);
    const second = join(target, room, 'tab-1');
    join(target, room, 'tab-2');
    expect(await nextLines(stream, 1)).toEqual([`JOIN tab-2 ${base + 2}`]);
    expect(await countOf(target, room)).toBe(base + 2);

    await first.leave(); // both of its subscriptions end; the other connection holds on
    const from = Date.now();
    await waitFor('past the grace', () => Date.now() - from > 700);
    join(target, room, 'marker');
    expect(await nextLines(stream, 1)).toEqual([`JOIN marker ${base + 3}`]);
    await second.leave();
    expect(await nextLines(stream, 1, 5_000)).toEqual([`LEAVE tab-1 ${base + 2}`]);
  });

  it('should not count event streams, nor subscriptions to other rooms or to broadcasts', async () => {
    const target = await start();
    const room = newRoom();
    const { stream, base } = await watch(target, room);
    const sse = subscribeSse(target.url, RoomMessagesDocument, { room }, { 'X-Roomcast-Client-Id': 'sse-client' });
    streams.push(sse);
    await sse.opened;
    join(target, `${room}-other`, 'elsewhere');
    const broadcasts = subscribeWs(connect(target, { clientId: 'broadcast-only' }), BroadcastsDocument, {});
    streams.push(broadcasts);
    join(target, room, 'counted');
    expect(await nextLines(stream, 1)).toEqual([`JOIN counted ${base + 1}`]);
    expect(await countOf(target, room)).toBe(base + 1);
  });

  it('should keep a client that reconnects within the grace, with no LEAVE and no JOIN', async () => {
    const target = await start();
    const room = newRoom();
    const { stream, base } = await watch(target, room);
    const before = join(target, room, 'phone');
    expect(await nextLines(stream, 1)).toEqual([`JOIN phone ${base + 1}`]);
    await before.leave(); // the connection dropped...
    expect(await countOf(target, room)).toBe(base + 1); // ...a member still, in its grace...
    join(target, room, 'phone'); // ...and back
    // Then someone else: had "phone" left, its LEAVE would come first.
    const from = Date.now();
    await waitFor('past the grace', () => Date.now() - from > 700);
    join(target, room, 'marker');
    expect(await nextLines(stream, 1)).toEqual([`JOIN marker ${base + 2}`]);
  });

  it('should list at most `limit` members, earliest first, and refuse a bad limit or room', async () => {
    const target = await start();
    const room = newRoom();
    const { stream, base } = await watch(target, room);
    for (const id of ['m1', 'm2', 'm3']) {
      join(target, room, id);
      await nextLines(stream, 1);
    }
    const one = (await query(target, room, 1)).data!.presence;
    expect(one.count).toBe(base + 3);
    expect(one.members).toHaveLength(1);
    expect((await query(target, room)).data!.presence.members.slice(-3).map((m) => m.clientId)).toEqual(['m1', 'm2', 'm3']);
    for (const limit of [0, -1, 1001]) {
      const { errors } = await query(target, room, limit);
      expect(errors?.[0]).toMatchObject({ message: `limit must be from 1 to 1000 (got ${limit})`, extensions: { code: 'BAD_USER_INPUT' } });
    }
    for (const bad of ['*', 'no spaces', 'x'.repeat(129)]) {
      expect((await query(target, bad)).errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
      const refused = await executeWs(connect(target), PresenceEventsDocument, { room: bad });
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
  });

  it('should send presence events over event streams too', async () => {
    const target = await start();
    const room = newRoom();
    const sse = subscribeSse(target.url, PresenceEventsDocument, { room });
    streams.push(sse);
    await sse.opened;
    await waitFor('a JOIN over the event stream', async () => {
      join(target, room, `sse-probe-${members.length}`);
      return waitFor('it', () => sse.items.length > 0, 300).catch(() => false);
    });
    expect(sse.items[0]!.data!.presence).toMatchObject({ room, action: 'JOIN', count: expect.any(Number) });
  });
});

describe('presence with auth on', () => {
  const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
  const key = new TextEncoder().encode(SECRET);
  const now = () => Math.floor(Date.now() / 1000);
  const token = (claims: JWTPayload) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime(now() + 600)
      .sign(key);
  const start = () => server({ AUTH_JWT_SECRET: SECRET, ANONYMOUS_CAPABILITY: JSON.stringify({ 'open:*': ['subscribe', 'presence'] }) });

  it('should need the presence capability for the query and the subscription', async () => {
    const target = await start();
    const subscriber = await token({ sub: 'sam', roomcast: { 'team:*': ['subscribe', 'history'] } });
    const bearer = { authorization: `Bearer ${subscriber}` };
    expect((await query(target, 'team:1', 10, bearer)).errors?.[0]).toMatchObject({
      message: 'the token does not allow presence on "team:1"',
      extensions: { code: 'FORBIDDEN' },
    });
    expect((await query(target, 'team:1')).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const refused = await executeWs(connect(target, { authToken: subscriber }), PresenceEventsDocument, { room: 'team:1' });
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    const anonymous = await executeWs(connect(target), PresenceEventsDocument, { room: 'team:1' });
    expect(anonymous.errors?.[0]).toMatchObject({ extensions: { code: 'UNAUTHENTICATED' } });
    // Anonymous clients may where ANONYMOUS_CAPABILITY says so.
    expect((await query(target, 'open:1')).data?.presence).toMatchObject({ count: 0, members: [] });
    const { status } = await postGraphQL(target.url, PresenceDocument, { room: 'team:1' });
    expect(status).toBe(401);
  });

  it("should show the token's sub and info, never what a client sends, and tell users with the same client id apart", async () => {
    const target = await start();
    const room = 'team:7';
    const watcher = await token({ sub: 'watcher', roomcast: { [room]: ['presence', 'subscribe'] } });
    const { stream, base } = await watch(target, room, { authToken: watcher });
    const alice = await token({ sub: 'alice', info: { name: 'Alice', tags: ['a', 1] }, roomcast: { [room]: ['subscribe'] } });
    const mallory = await token({ sub: 'mallory', roomcast: { [room]: ['subscribe'] } });
    join(target, room, 'shared-id', { authToken: alice, info: { name: 'forged' } });
    expect(await nextLines(stream, 1)).toEqual([`JOIN shared-id ${base + 1}`]);
    join(target, room, 'shared-id', { authToken: mallory }); // another user sending alice's client id
    join(target, room, 'shared-id', { authToken: alice }); // alice again, from another tab: the same member
    const [event] = await stream.take(1);
    expect(event!.data!.presence).toMatchObject({
      action: 'JOIN',
      count: base + 2,
      member: { clientId: 'shared-id', user: 'mallory', info: null },
    });
    const listed = (await query(target, room, 1000, { authorization: `Bearer ${watcher}` })).data!.presence.members.filter(
      (m) => m.clientId === 'shared-id',
    );
    expect(listed.map(({ user, info }) => ({ user, info }))).toEqual([
      { user: 'alice', info: { name: 'Alice', tags: ['a', 1] } },
      { user: 'mallory', info: null },
    ]);
    // An anonymous subscriber (where anonymous may subscribe) is a member without a user.
    join(target, 'open:7', 'anon');
    await waitFor('the anonymous member', async () => (await query(target, 'open:7')).data?.presence.members[0]?.user === null);
  });
});
