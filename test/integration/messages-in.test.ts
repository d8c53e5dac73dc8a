/**
 * `messagesIn`: several rooms in one subscription, on in-process servers (Redis and memory brokers,
 * direct delivery on and off). Every room keeps the promises of `messages` (order, exactly once,
 * replay then live, a HistoryGap for that room only); the subscription's position (the combined
 * cursor of `extensions.position`, the SSE `id:`) resumes every room, those that delivered nothing
 * included; bad arguments are BAD_USER_INPUT; MAX_ROOMS_PER_CONNECTION bounds one connection; with
 * auth on, one forbidden room refuses it all, and a new token that loses a room ends it FORBIDDEN.
 */
import type { Socket } from 'node:net';
import { createRoomcastClient } from '@roomcast/client';
import { print, type ExecutionResult } from 'graphql';
import { SignJWT } from 'jose';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AuthenticateDocument,
  PublishDocument,
  RoomsMessagesDocument,
  type PublishMutation,
  type RoomsMessagesSubscription,
} from '../generated/graphql.js';
import { executeWs, postGraphQL, subscribeSse, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
import { RedisServer } from '../helpers/redis-server.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterAll(async () => {
  await redis?.stop();
});
const server = serversOfThisFile({ HISTORY_SIZE: '5' });
const clients: { dispose(): unknown }[] = [];
const streams: Stream<unknown>[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.dispose();
  for (const client of clients.splice(0)) await client.dispose();
});

type Result = ExecutionResult<RoomsMessagesSubscription, { cursor?: string; position?: string; historyGap?: unknown }>;
type Published = PublishMutation['publish'];
let counter = 0;
const newRooms = (n: number) => Array.from({ length: n }, (_, i) => `in-${Date.now()}-${counter++}-${i}`);

async function publish(target: TestServer, room: string, data: unknown): Promise<Published> {
  const { body } = await postGraphQL(target.url, PublishDocument, { room, event: 'e', data });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}
const connect = (target: TestServer) => {
  const client = wsClient(target.wsUrl);
  clients.push(client);
  return client;
};
const watch = (client: Client, rooms: string[], after?: string[]) => {
  const stream = subscribeWs(client, RoomsMessagesDocument, { rooms, after }) as Stream<Result>;
  streams.push(stream);
  return stream;
};
const watchSse = (target: TestServer, rooms: string[], after?: string[], headers: Record<string, string> = {}) => {
  const stream: Stream<Result> & { opened: Promise<Response> } = subscribeSse(target.url, RoomsMessagesDocument, { rooms, after }, headers);
  streams.push(stream);
  return stream;
};
const event = (result: Result) => result.data!.messagesIn;
/** `room:data` of each message, `gap:room:missed` of each HistoryGap. */
const describeEvent = (result: Result) => {
  const e = event(result);
  return e.__typename === 'Message' ? `${e.room}:${String(e.data)}` : `gap:${e.room}:${e.missed}`;
};
const read = async (stream: Stream<Result>, count: number) => (await stream.take(count)).map(describeEvent);

/**
 * No subscription acknowledgement exists: publishes probes to the first room until one arrives, then
 * reads up to the last probe. Returns the results read.
 */
async function live(target: TestServer, stream: Stream<Result>, room: string): Promise<Result[]> {
  const deadline = Date.now() + 10_000;
  const before = stream.items.length;
  let last = '';
  for (let n = 0; stream.items.length === before; n++) {
    if (Date.now() > deadline) throw new Error('the subscription was not live within 10 s');
    last = `probe${n}`;
    await publish(target, room, last);
    await new Promise((resolve) => setTimeout(resolve, 25)); // probe interval, not a wait for an event
  }
  const read: Result[] = [];
  const isLast = (r: Result) => event(r).__typename === 'Message' && (event(r) as Published).data === last;
  while (!read.some(isLast)) read.push(await stream.next());
  return read;
}

describe.each([
  ['redis', 'on', () => ({ REDIS_URL: redis.url, DIRECT_DELIVERY: 'on' })],
  ['redis', 'off', () => ({ REDIS_URL: redis.url, DIRECT_DELIVERY: 'off' })],
  ['memory', 'on', () => ({ DIRECT_DELIVERY: 'on' })],
  ['memory', 'off', () => ({ DIRECT_DELIVERY: 'off' })],
])('messagesIn on a %s broker, DIRECT_DELIVERY=%s', (_kind, _direct, env) => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server(env());
  });

  it('should deliver the rooms in the order published, with a position in every room that resumes all of them', async () => {
    const [a, b, c] = newRooms(3) as [string, string, string];
    const stream = watch(connect(target), [a, b, c]);
    const probes = await live(target, stream, a);
    const first = probes[0]!;
    expect(first.extensions?.cursor).toEqual(expect.any(String));
    expect(first.extensions?.position).toMatch(/^p1,/);

    await publish(target, b, 'b1');
    await publish(target, a, 'a1');
    await publish(target, b, 'b2');
    expect(await read(stream, 3)).toEqual([`${b}:b1`, `${a}:a1`, `${b}:b2`]);
    stream.dispose();

    // Meanwhile: messages in every room, c included, which delivered nothing to the first subscription.
    await publish(target, c, 'c1');
    await publish(target, a, 'a2');
    const position = first.extensions!.position!;
    // From the first result's position: everything after the probe, room by room.
    const resumed = watch(connect(target), [a, b, c], [position]);
    const replayed = await read(resumed, 5);
    expect(replayed.filter((e) => e.startsWith(a))).toEqual([`${a}:a1`, `${a}:a2`]);
    expect(replayed.filter((e) => e.startsWith(b))).toEqual([`${b}:b1`, `${b}:b2`]);
    expect(replayed.filter((e) => e.startsWith(c))).toEqual([`${c}:c1`]);
    await publish(target, c, 'c2');
    expect(await read(resumed, 1)).toEqual([`${c}:c2`]);
  });

  it('should start each room after its own cursor, and the rooms without one at acceptance', async () => {
    const [a, b] = newRooms(2) as [string, string];
    const a1 = await publish(target, a, 'a1');
    await publish(target, a, 'a2');
    await publish(target, b, 'b-before');
    const stream = watch(connect(target), [a, b], [a1.cursor]);
    expect(await read(stream, 1)).toEqual([`${a}:a2`]);
    const probes = await live(target, stream, b);
    // Nothing of b from before the subscription: only probes.
    expect(probes.map(describeEvent).every((e) => e.startsWith(`${b}:probe`))).toBe(true);
  });

  it('should announce a HistoryGap for the room that lost messages only, before its replay', async () => {
    const [a, b] = newRooms(2) as [string, string];
    const a1 = await publish(target, a, 'a1');
    const b1 = await publish(target, b, 'b1');
    for (let n = 2; n <= 8; n++) await publish(target, a, `a${n}`); // HISTORY_SIZE 5: a2 and a3 are gone
    await publish(target, b, 'b2');
    const stream = watch(connect(target), [a, b], [a1.cursor, b1.cursor]);
    const events = await read(stream, 7);
    expect(events.filter((e) => e.startsWith(`${a}`) || e === `gap:${a}:2`)).toEqual([
      `gap:${a}:2`,
      `${a}:a4`,
      `${a}:a5`,
      `${a}:a6`,
      `${a}:a7`,
      `${a}:a8`,
    ]);
    expect(events.filter((e) => e.startsWith(b))).toEqual([`${b}:b2`]);
    expect(events.some((e) => e.startsWith(`gap:${b}`))).toBe(false);
  });

  it("should resume an event stream from Last-Event-ID (the position), over the request's own after", async () => {
    const [a, b] = newRooms(2) as [string, string];
    const a0 = await publish(target, a, 'a0');
    const sse = watchSse(target, [a, b], [a0.cursor]);
    await sse.opened;
    const probes = await live(target, sse, b);
    const id = probes.at(-1)!.extensions!.position!;
    sse.dispose();
    await publish(target, a, 'a1');
    await publish(target, b, 'b1');
    const resumed = watchSse(target, [a, b], [a0.cursor], { 'last-event-id': id });
    expect((await read(resumed, 2)).sort()).toEqual([`${a}:a1`, `${b}:b1`]);
  });

  it('should resume every room with @roomcast/client after its socket drops', async () => {
    const [a, b, c] = newRooms(3) as [string, string, string];
    const sockets = new Set<Socket>();
    const track = (_req: unknown, socket: Socket) => sockets.add(socket);
    target.httpServer.on('upgrade', track);
    const client = createRoomcastClient({
      url: target.wsUrl,
      webSocketImpl: WebSocket,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
    });
    clients.push(client, { dispose: () => target.httpServer.off('upgrade', track) });
    const stream = watch(client, [a, b, c]);
    await live(target, stream, a);
    await publish(target, b, 'b1');
    expect(await read(stream, 1)).toEqual([`${b}:b1`]);
    // Dropped without a close frame; c delivered nothing before, yet its message is not lost.
    for (const socket of sockets) socket.destroy();
    await publish(target, c, 'c1');
    await publish(target, a, 'a1');
    await publish(target, b, 'b2');
    const after = await read(stream, 3);
    expect(after.filter((e) => !e.includes(':probe')).sort()).toEqual([`${a}:a1`, `${b}:b2`, `${c}:c1`].sort());
    await publish(target, c, 'c2');
    expect(await read(stream, 1)).toEqual([`${c}:c2`]);
  });
});

describe('messagesIn and presence', () => {
  it('should make the client a member of each of its rooms, until it ends', async () => {
    const target = await server();
    const [a, b] = newRooms(2) as [string, string];
    const client = wsClient(target.wsUrl, { connectionParams: { clientId: 'reader-1' } });
    clients.push(client);
    const stream = watch(client, [a, b]);
    const members = async (room: string) => {
      const { body } = await postGraphQL(target.url, `{ presence(room: ${JSON.stringify(room)}) { count members { clientId } } }`);
      return (body.data as { presence: { count: number; members: { clientId: string }[] } }).presence;
    };
    await waitFor('the client in both rooms', async () => (await members(a)).count === 1 && (await members(b)).count === 1);
    expect((await members(b)).members).toEqual([{ clientId: 'reader-1' }]);
    stream.dispose();
  });
});

describe('messagesIn arguments and limits', () => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server({ MAX_ROOMS_PER_SUBSCRIPTION: '3', MAX_ROOMS_PER_CONNECTION: '4' });
  });

  const refusal = async (rooms: string[], after?: string[]) => {
    const stream = watch(connect(target), rooms, after);
    const { errors } = await stream.next();
    await stream.ended();
    return errors ?? [];
  };

  it('should refuse bad rooms and cursors with BAD_USER_INPUT, on the WebSocket and over SSE', async () => {
    const [a, b] = newRooms(2) as [string, string];
    const a1 = await publish(target, a, 'a1');
    const a2 = await publish(target, a, 'a2');
    const other = await publish(target, 'elsewhere', 'x');
    const cases: [string[], string[] | undefined, RegExp][] = [
      [[], undefined, /1 to 3 rooms/],
      [[a, b, 'x', 'y'], undefined, /1 to 3 rooms/],
      [[a, a], undefined, /twice/],
      [['bad room'], undefined, /room must be/],
      [[a, b], [other.cursor], /not in rooms/],
      [[a, b], [a1.cursor, a2.cursor], /two cursors/],
      [[a, b], ['garbage'], /not a cursor/],
      [[a, b], [`p1,:0:${a}`, a1.cursor], /only element/],
      [[a], [`p1,:0:${b}`], /not in rooms/],
    ];
    for (const [rooms, after, message] of cases) {
      const [error] = await refusal(rooms, after);
      expect(error, `${JSON.stringify(rooms)} ${JSON.stringify(after)}`).toMatchObject({
        message: expect.stringMatching(message),
        extensions: { code: 'BAD_USER_INPUT' },
      });
      const sse = watchSse(target, rooms, after);
      const response = await sse.opened;
      expect(response.status).toBe(400);
    }
    // The server goes on serving.
    const stream = watch(connect(target), [a, b], [a1.cursor]);
    expect(await read(stream, 1)).toEqual([`${a}:a2`]);
  });

  it('should bound the rooms of one connection (MAX_ROOMS_PER_CONNECTION) and free them when an operation ends', async () => {
    const rooms = newRooms(5);
    const client = connect(target);
    const first = watch(client, rooms.slice(0, 3));
    await live(target, first, rooms[0]!);
    const second = watch(client, rooms.slice(3, 5));
    expect((await second.next()).errors).toMatchObject([
      { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' }, message: expect.stringMatching(/MAX_ROOMS_PER_CONNECTION/) },
    ]);
    const one = watch(client, [rooms[3]!]);
    await live(target, one, rooms[3]!);
    first.dispose();
    const third = watch(client, rooms.slice(0, 3));
    await live(target, third, rooms[1]!);
  });
});

describe.each(['on', 'off'])('messagesIn with auth on, DIRECT_DELIVERY=%s', (direct) => {
  const secret = 'messages-in-test-secret-at-least-32-bytes';
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(secret));
  let target: TestServer;
  let publisher: string;
  beforeAll(async () => {
    target = await server({ AUTH_JWT_SECRET: secret, DIRECT_DELIVERY: direct });
    publisher = await sign({ sub: 'backend', roomcast: { '*': ['publish'] } });
  });
  const publishAs = async (room: string, data: string) => {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${publisher}` },
      body: JSON.stringify({ query: print(PublishDocument), variables: { room, event: 'e', data } }),
    });
    return ((await response.json()) as { data: PublishMutation }).data.publish;
  };

  it('should refuse the whole subscription for one forbidden room, and end it FORBIDDEN when a new token loses one', async () => {
    const [a, b, c] = newRooms(3) as [string, string, string];
    const token = await sign({ sub: 'ann', roomcast: { [a]: ['subscribe'], [b]: ['subscribe'] } });
    const client = wsClient(target.wsUrl, { connectionParams: { authToken: token } });
    clients.push(client);
    const refused = watch(client, [a, c]);
    expect((await refused.next()).errors).toMatchObject([{ extensions: { code: 'FORBIDDEN' }, message: expect.stringContaining(c) }]);

    const a0 = await publishAs(a, 'a0');
    const stream = watch(client, [a, b], [a0.cursor]);
    await publishAs(a, 'a1');
    expect(await read(stream, 1)).toEqual([`${a}:a1`]);
    const narrower = await sign({ sub: 'ann', roomcast: { [a]: ['subscribe'] } });
    const refreshed = await executeWs(client, AuthenticateDocument, { token: narrower });
    expect(refreshed.errors).toBeUndefined();
    expect((await stream.next()).errors).toMatchObject([{ extensions: { code: 'FORBIDDEN' }, message: expect.stringContaining(b) }]);
    await stream.ended();
  });
});
