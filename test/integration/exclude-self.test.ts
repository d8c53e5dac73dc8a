/**
 * excludeSelf end to end on in-process servers (Redis and memory brokers, direct delivery on and
 * off): the publisher's own subscriptions skip the message, live and when they resume from a cursor
 * before it, while everyone else gets it; a client is its connectionParams.clientId on the WebSocket
 * (else the connection alone) or X-Roomcast-Client-Id over HTTP and SSE; invalid ids are refused
 * (4400, BAD_USER_INPUT); with auth on, a client id is its token's sub's own.
 */
import { createRoomcastClient } from '@roomcast/client';
import { SignJWT } from 'jose';
import { print, type ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BroadcastDocument,
  BroadcastsDocument,
  PublishDocument,
  RoomMessagesDocument,
  type PublishMutation,
  type RoomMessagesSubscription,
} from '../generated/graphql.js';
import { executeWs, subscribeSse, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
import { waitFor } from '../helpers/wait.js';
import { closeCode, opened } from '../helpers/raw-ws.js';
import { RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterAll(async () => {
  await redis?.stop();
});
const server = serversOfThisFile();
const clients: Client[] = [];
const streams: Stream<unknown>[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.dispose();
  for (const client of clients.splice(0)) await client.dispose();
});
const connect = (target: TestServer, connectionParams?: Record<string, unknown>) => {
  const client = wsClient(target.wsUrl, connectionParams ? { connectionParams } : {});
  clients.push(client);
  return client;
};

type Published = PublishMutation['publish'];
type Variables = { room: string; data: unknown; excludeSelf?: boolean };
let rooms = 0;
const newRoom = () => `self-${Date.now()}-${rooms++}`;

async function post(target: TestServer, variables: Variables, headers: Record<string, string> = {}) {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query: print(PublishDocument), variables: { event: 'e', ...variables } }),
  });
  return { status: response.status, body: (await response.json()) as ExecutionResult<PublishMutation> };
}
async function publish(target: TestServer, variables: Variables, headers?: Record<string, string>): Promise<Published> {
  const { body } = await post(target, variables, headers);
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}
async function publishWs(client: Client, variables: Variables): Promise<Published> {
  const result = await executeWs(client, PublishDocument, { event: 'e', ...variables });
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.publish;
}
const message = (result: ExecutionResult<RoomMessagesSubscription>) => result.data!.messages as Published;
const watch = (client: Client, room: string, after: string) => {
  const stream = subscribeWs(client, RoomMessagesDocument, { room, after });
  streams.push(stream);
  return stream;
};
const watchSse = (target: TestServer, room: string, after: string, headers: Record<string, string> = {}) => {
  const stream = subscribeSse(target.url, RoomMessagesDocument, { room, after }, headers);
  streams.push(stream);
  return stream;
};
const dataOf = async (stream: Stream<ExecutionResult<RoomMessagesSubscription>>, count: number) =>
  (await stream.take(count)).map((r) => message(r).data);

describe.each([
  ['redis', 'on', () => ({ REDIS_URL: redis.url, DIRECT_DELIVERY: 'on' })],
  ['redis', 'off', () => ({ REDIS_URL: redis.url, DIRECT_DELIVERY: 'off' })],
  ['memory', 'on', () => ({ DIRECT_DELIVERY: 'on' })],
])('excludeSelf on a %s broker, DIRECT_DELIVERY=%s', (_kind, _direct, env) => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server(env());
  });

  it("should skip the publisher's own WebSocket subscriptions, live and on resume, and no one else's", async () => {
    const room = newRoom();
    const zero = await publish(target, { room, data: 'zero' });
    const me = connect(target, { clientId: 'me-1' });
    const mine = watch(me, room, zero.cursor);
    const twin = watch(connect(target, { clientId: 'me-1' }), room, zero.cursor);
    const theirs = watch(connect(target, { clientId: 'them-1' }), room, zero.cursor);
    const anyone = watch(connect(target), room, zero.cursor);
    const start = await publish(target, { room, data: 'start' });
    for (const stream of [mine, twin, theirs, anyone]) expect(await dataOf(stream, 1)).toEqual(['start']);

    const hidden = await publishWs(me, { room, data: 'hidden', excludeSelf: true });
    expect(hidden).toMatchObject({ seq: start.seq + 1, data: 'hidden' });
    const shown = await publishWs(me, { room, data: 'shown' });
    // Its seq is simply absent for the client: mine jump from start to shown.
    expect((await mine.take(1)).map(message)).toMatchObject([{ seq: start.seq + 2, data: 'shown' }]);
    expect(await dataOf(twin, 1)).toEqual(['shown']);
    expect(await dataOf(theirs, 2)).toEqual(['hidden', 'shown']);
    expect(await dataOf(anyone, 2)).toEqual(['hidden', 'shown']);
    expect(shown.seq).toBe(start.seq + 2);

    // The client reconnects with the same id and resumes from before it: the replay skips it too.
    const again = watch(connect(target, { clientId: 'me-1' }), room, start.cursor);
    expect(await dataOf(again, 1)).toEqual(['shown']);
    const other = watch(connect(target, { clientId: 'me-2' }), room, start.cursor);
    expect(await dataOf(other, 2)).toEqual(['hidden', 'shown']);
    const last = await publish(target, { room, data: 'last' });
    expect((await again.take(1)).map(message)).toMatchObject([{ seq: last.seq, data: 'last' }]);
    await mine.expectNothing(0);
    expect(await dataOf(mine, 1)).toEqual(['last']);
  });

  it('should skip only the publishing connection when it sent no clientId, and work for broadcast', async () => {
    const room = newRoom();
    const zero = await publish(target, { room, data: 'zero' });
    const me = connect(target);
    const mine = watch(me, room, zero.cursor);
    const sameless = watch(connect(target), room, zero.cursor);
    await publishWs(me, { room, data: 'hidden', excludeSelf: true });
    await publishWs(me, { room, data: 'shown', excludeSelf: false });
    expect(await dataOf(mine, 1)).toEqual(['shown']);
    expect(await dataOf(sameless, 2)).toEqual(['hidden', 'shown']);

    const before = await executeWs(me, BroadcastDocument, { event: 'e', data: 'b0' });
    const cursor = before.data!.broadcast.cursor;
    const own = subscribeWs(me, BroadcastsDocument, { after: cursor });
    const others = subscribeWs(connect(target), BroadcastsDocument, { after: cursor });
    streams.push(own, others);
    await executeWs(me, BroadcastDocument, { event: 'e', data: 'b-hidden', excludeSelf: true });
    await executeWs(me, BroadcastDocument, { event: 'e', data: 'b-shown' });
    const broadcasts = async (stream: typeof own, count: number) =>
      (await stream.take(count)).map((r) => (r.data!.broadcasts as Published).data);
    expect(await broadcasts(own, 1)).toEqual(['b-shown']);
    expect(await broadcasts(others, 2)).toEqual(['b-hidden', 'b-shown']);
  });

  it('should identify an HTTP client by X-Roomcast-Client-Id, over POST and event streams alike', async () => {
    const room = newRoom();
    const zero = await publish(target, { room, data: 'zero' });
    const header = { 'x-roomcast-client-id': 'web-1' };
    const mine = watchSse(target, room, zero.cursor, header);
    const theirs = watchSse(target, room, zero.cursor, { 'x-roomcast-client-id': 'web-2' });
    const anyone = watchSse(target, room, zero.cursor);
    const sameOnWs = watch(connect(target, { clientId: 'web-1' }), room, zero.cursor);
    await publish(target, { room, data: 'hidden', excludeSelf: true }, header);
    // Without the header there is no client to exclude.
    await publish(target, { room, data: 'headerless', excludeSelf: true });
    await publish(target, { room, data: 'shown' }, header);
    expect(await dataOf(mine, 2)).toEqual(['headerless', 'shown']);
    expect(await dataOf(sameOnWs, 2)).toEqual(['headerless', 'shown']);
    expect(await dataOf(theirs, 3)).toEqual(['hidden', 'headerless', 'shown']);
    expect(await dataOf(anyone, 3)).toEqual(['hidden', 'headerless', 'shown']);
  });

  it('should refuse an invalid X-Roomcast-Client-Id with BAD_USER_INPUT, excludeSelf or not', async () => {
    const room = newRoom();
    for (const id of ['', 'has space', 'x'.repeat(65), 'é', '*']) {
      for (const excludeSelf of [true, false, undefined]) {
        const { body } = await post(
          target,
          { room, data: 1, ...(excludeSelf === undefined ? {} : { excludeSelf }) },
          { 'x-roomcast-client-id': id },
        );
        expect(body.data ?? null, `${JSON.stringify(id)} ${String(excludeSelf)}`).toBeNull();
        expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    }
    await expect(publish(target, { room, data: 1, excludeSelf: true }, { 'x-roomcast-client-id': 'x'.repeat(64) })).resolves.toMatchObject({
      seq: 1,
    });
  });

  it('should close a WebSocket whose connectionParams.clientId is invalid with 4400 and the reason', async () => {
    for (const clientId of ['', 'has space', 'x'.repeat(65), 42, { id: 'a' }]) {
      const ws = new WebSocket(target.wsUrl, 'graphql-transport-ws');
      await opened(ws);
      const closed = new Promise<string>((resolve) => ws.once('close', (_code, reason) => resolve(String(reason))));
      const code = closeCode(ws);
      ws.send(JSON.stringify({ type: 'connection_init', payload: { clientId } }));
      expect(await code, JSON.stringify(clientId)).toBe(4400);
      expect(await closed).toContain('clientId');
    }
  });
});

describe('excludeSelf with auth on', () => {
  const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
  const token = (sub: string) =>
    new SignJWT({ sub, roomcast: { 'self-*': ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET));

  it.each(['on', 'off'])(
    "should exclude the pair (sub, clientId): another user's same clientId is not excluded (DIRECT_DELIVERY=%s)",
    async (direct) => {
      const target = await server({ REDIS_URL: redis.url, AUTH_JWT_SECRET: SECRET, DIRECT_DELIVERY: direct });
      const room = newRoom();
      const [alice, bob] = [await token('alice'), await token('bob')];
      const zero = await publish(target, { room, data: 'zero' }, { authorization: `Bearer ${alice}` });
      const bobs = connect(target, { authToken: bob, clientId: 'shared' });
      const alices = watch(connect(target, { authToken: alice, clientId: 'shared' }), room, zero.cursor);
      const bobsOwn = watch(bobs, room, zero.cursor);
      const bobsOther = watch(connect(target, { authToken: bob, clientId: 'shared' }), room, zero.cursor);
      const alicesSse = watchSse(target, room, zero.cursor, { authorization: `Bearer ${alice}`, 'x-roomcast-client-id': 'shared' });
      await publishWs(bobs, { room, data: 'hidden from bob', excludeSelf: true });
      await publish(
        target,
        { room, data: 'hidden from alice', excludeSelf: true },
        { authorization: `Bearer ${alice}`, 'x-roomcast-client-id': 'shared' },
      );
      await publish(target, { room, data: 'end' }, { authorization: `Bearer ${alice}` });
      expect(await dataOf(alices, 2)).toEqual(['hidden from bob', 'end']);
      expect(await dataOf(alicesSse, 2)).toEqual(['hidden from bob', 'end']);
      expect(await dataOf(bobsOwn, 2)).toEqual(['hidden from alice', 'end']);
      expect(await dataOf(bobsOther, 2)).toEqual(['hidden from alice', 'end']);
    },
  );
});

describe('@roomcast/client', () => {
  it('should send one clientId on every connect, its own or a random one, so excludeSelf holds across reconnects', async () => {
    const target = await server({ REDIS_URL: redis.url });
    const quickRetry = { retryWait: () => new Promise<void>((resolve) => setTimeout(resolve, 20)) };
    const given = createRoomcastClient({ url: target.wsUrl, webSocketImpl: WebSocket, clientId: 'app-7', ...quickRetry });
    const random = createRoomcastClient({ url: target.wsUrl, webSocketImpl: WebSocket, ...quickRetry });
    const unused = createRoomcastClient({ url: target.wsUrl, webSocketImpl: WebSocket });
    clients.push(given, random, unused);
    expect(given.clientId).toBe('app-7');
    expect(random.clientId).toMatch(/^[A-Za-z0-9_.:-]{1,64}$/);
    expect(unused.clientId).not.toBe(random.clientId);
    for (const client of [given, random]) {
      const room = newRoom();
      const zero = await publish(target, { room, data: 'zero' });
      const sockets: WebSocket[] = [];
      client.on('connected', (socket) => sockets.push(socket as WebSocket));
      const stream = watch(client, room, zero.cursor);
      const header = { 'x-roomcast-client-id': client.clientId };
      await publish(target, { room, data: 'hidden 1', excludeSelf: true }, header);
      await publish(target, { room, data: 'shown 1' });
      expect(await dataOf(stream, 1)).toEqual(['shown 1']);
      // Dropped: the client reconnects, resumes after 'shown 1', and is still the same client.
      await waitFor('a connection', () => sockets.length === 1);
      sockets[0]!.terminate();
      await waitFor('the reconnect', () => sockets.length === 2);
      await publish(target, { room, data: 'hidden 2', excludeSelf: true }, header);
      await publish(target, { room, data: 'shown 2' });
      expect(await dataOf(stream, 1)).toEqual(['shown 2']);
      // A new subscription on the new connection, from before both: neither hidden message.
      const replay = watch(client, room, zero.cursor);
      expect(await dataOf(replay, 2)).toEqual(['shown 1', 'shown 2']);
      await stream.expectNothing(100);
    }
  });
});
