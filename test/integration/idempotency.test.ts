/**
 * Idempotent publish end to end, on in-process servers over a real redis-server: a repeated
 * idempotencyKey returns the original message and delivers nothing more, over HTTP and the WebSocket,
 * for publish and broadcast; keys are per room and per sender (two tokens, anonymous); the window
 * ends; and a publish whose reply was lost (Redis paused past BROKER_TIMEOUT_MS: UNAVAILABLE) is
 * retried with its key into exactly one message.
 */
import { SignJWT } from 'jose';
import { print, type ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BroadcastDocument,
  BroadcastsDocument,
  HistoryDocument,
  PublishDocument,
  RoomMessagesDocument,
  type PublishMutation,
  type RoomMessagesSubscription,
} from '../generated/graphql.js';
import { executeWs, postGraphQL, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
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
const server = serversOfThisFile();
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
});
const connect = (target: TestServer, connectionParams?: Record<string, unknown>) => {
  const client = wsClient(target.wsUrl, connectionParams ? { connectionParams } : {});
  clients.push(client);
  return client;
};

type Published = PublishMutation['publish'];
let rooms = 0;
const newRoom = () => `idem-${Date.now()}-${rooms++}`;

async function post(target: TestServer, variables: { room: string; data: unknown; idempotencyKey?: string | null }, token?: string) {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: print(PublishDocument), variables: { event: 'e', ...variables } }),
  });
  return { status: response.status, body: (await response.json()) as ExecutionResult<PublishMutation> };
}
async function publish(
  target: TestServer,
  variables: { room: string; data: unknown; idempotencyKey?: string | null },
  token?: string,
): Promise<Published> {
  const { body } = await post(target, variables, token);
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}
const message = (result: ExecutionResult<RoomMessagesSubscription>) => result.data!.messages as Published;
const historyOf = async (target: TestServer, room: string) => {
  const { body } = await postGraphQL(target.url, HistoryDocument, { room, limit: 100 });
  return body.data!.history;
};

/**
 * A subscription of the room that has caught up (it has read nothing from Redis since) and got the
 * room's message `start`: everything it gets next was published after `start`.
 */
async function watch(
  target: TestServer,
  room: string,
): Promise<{ stream: Stream<ExecutionResult<RoomMessagesSubscription>>; start: Published }> {
  const zero = await publish(target, { room, data: 'zero' });
  const stream = subscribeWs(connect(target), RoomMessagesDocument, { room, after: zero.cursor });
  const start = await publish(target, { room, data: 'start' });
  expect(message(await stream.next())).toMatchObject({ seq: start.seq, data: 'start' });
  return { stream, start };
}

describe.each([
  ['redis', () => ({ REDIS_URL: redis.url })],
  ['memory', () => ({})],
])('idempotencyKey on a %s broker', (_kind, env) => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server(env());
  });

  it('should answer a repeat with the original message, delivering it once, whatever the data of the repeat', async () => {
    const room = newRoom();
    const { stream, start } = await watch(target, room);
    const first = await publish(target, { room, data: { n: 1 }, idempotencyKey: 'order-1' });
    expect(first.seq).toBe(start.seq + 1);
    const repeat = await publish(target, { room, data: { n: 1 }, idempotencyKey: 'order-1' });
    const changed = await publish(target, { room, data: { n: 'changed' }, idempotencyKey: 'order-1' });
    expect(repeat).toEqual(first);
    expect(changed).toEqual(first);
    const after = await publish(target, { room, data: { n: 2 } });
    expect(after.seq).toBe(first.seq + 1);
    expect((await stream.take(2)).map(message)).toEqual([
      { __typename: 'Message', ...first },
      { __typename: 'Message', ...after },
    ]);
    expect((await historyOf(target, room)).map((m) => m.data)).toEqual(['zero', 'start', { n: 1 }, { n: 2 }]);
    // The same key in another room, or another key here, is another message.
    const elsewhere = await publish(target, { room: `${room}-b`, data: 'b', idempotencyKey: 'order-1' });
    expect(elsewhere).toMatchObject({ seq: 1, room: `${room}-b`, data: 'b' });
    expect(await publish(target, { room, data: 3, idempotencyKey: 'order-2' })).toMatchObject({ seq: after.seq + 1, data: 3 });
  });

  it('should do the same for broadcast, over the WebSocket', async () => {
    const client = connect(target);
    const start = (await executeWs(client, BroadcastDocument, { event: 'b', data: 'start' })).data!.broadcast;
    const stream = subscribeWs(connect(target), BroadcastsDocument, { after: start.cursor });
    const key = `broadcast-${Date.now()}`;
    const first = await executeWs(client, BroadcastDocument, { event: 'b', data: 1, idempotencyKey: key });
    const repeat = await executeWs(client, BroadcastDocument, { event: 'other', data: 2, idempotencyKey: key });
    expect(first.errors).toBeUndefined();
    expect(repeat.data).toEqual(first.data);
    expect(first.data!.broadcast).toMatchObject({ room: '*', seq: start.seq + 1, event: 'b', data: 1 });
    const next = (await executeWs(client, BroadcastDocument, { event: 'b', data: 3 })).data!.broadcast;
    const events = (await stream.take(2)).map((r) => r.data!.broadcasts as { seq: number; data: unknown });
    expect(events.map((e) => [e.seq, e.data])).toEqual([
      [first.data!.broadcast.seq, 1],
      [next.seq, 3],
    ]);
  });

  it('should take 1 to 128 characters of any kind, and refuse others with BAD_USER_INPUT', async () => {
    const room = newRoom();
    for (const idempotencyKey of ['', 'x'.repeat(129), '😀'.repeat(129)]) {
      const { status, body } = await post(target, { room, data: 1, idempotencyKey });
      expect(status, idempotencyKey).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toMatch(/^idempotencyKey must be 1-128 characters/);
    }
    expect(await historyOf(target, room)).toEqual([]);
    const keys = ['k', 'x'.repeat(128), '😀'.repeat(128), ' "quoted" \\ \n\u0000 </script> ', 'null'];
    const firsts = [];
    for (const idempotencyKey of keys) firsts.push(await publish(target, { room, data: idempotencyKey, idempotencyKey }));
    expect(firsts.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    for (const [i, idempotencyKey] of keys.entries())
      expect(await publish(target, { room, data: 'again', idempotencyKey })).toEqual(firsts[i]);
    // No key (absent or null): every publish is a message.
    expect((await publish(target, { room, data: 'a', idempotencyKey: null })).seq).toBe(6);
    expect((await publish(target, { room, data: 'a' })).seq).toBe(7);
  });
});

describe('the window (IDEMPOTENCY_TTL_SECONDS)', () => {
  it('should publish anew with the same key once the window, counted from the first publish, has passed', async () => {
    const target = await server({ REDIS_URL: redis.url, IDEMPOTENCY_TTL_SECONDS: '1' });
    const room = newRoom();
    const first = await publish(target, { room, data: 'first', idempotencyKey: 'k' });
    const began = Date.now();
    // Every poll is a repeat: were repeats to extend the window, this would never end.
    const fresh = await waitFor(
      'the window to pass',
      async () => {
        const attempt = await publish(target, { room, data: 'second', idempotencyKey: 'k' });
        if (attempt.seq === first.seq) expect(attempt).toEqual(first);
        return attempt.seq !== first.seq && attempt;
      },
      5_000,
    );
    expect(Date.now() - began).toBeGreaterThanOrEqual(800);
    expect(fresh).toMatchObject({ seq: 2, data: 'second' });
    expect((await historyOf(target, room)).map((m) => m.data)).toEqual(['first', 'second']);
  });
});

describe('with auth on', () => {
  const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
  const room = 'idem-auth';
  const token = (sub: string) =>
    new SignJWT({ sub, roomcast: { [room]: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(SECRET));

  it('should give each sub, and anonymous publishers, a key space of their own', async () => {
    const target = await server({
      REDIS_URL: redis.url,
      AUTH_JWT_SECRET: SECRET,
      ANONYMOUS_CAPABILITY: JSON.stringify({ [room]: ['publish', 'subscribe', 'history'] }),
    });
    const [alice, bob] = [await token('alice'), await token('bob')];
    const key = `shared-${Date.now()}`;
    // Bob takes the key first: Alice's publish is not blocked, nor answered with Bob's message.
    const byBob = await publish(target, { room, data: 'bob', idempotencyKey: key }, bob);
    const byAlice = await publish(target, { room, data: 'alice', idempotencyKey: key }, alice);
    const byNobody = await publish(target, { room, data: 'anonymous', idempotencyKey: key });
    expect([byBob, byAlice, byNobody].map((m) => [m.sender, m.data])).toEqual([
      ['bob', 'bob'],
      ['alice', 'alice'],
      [null, 'anonymous'],
    ]);
    expect(new Set([byBob.seq, byAlice.seq, byNobody.seq]).size).toBe(3);
    expect(await publish(target, { room, data: 'x', idempotencyKey: key }, alice)).toEqual(byAlice);
    expect(await publish(target, { room, data: 'x', idempotencyKey: key }, bob)).toEqual(byBob);
    expect(await publish(target, { room, data: 'x', idempotencyKey: key })).toEqual(byNobody);
    // Over the WebSocket, the connection's sub is the sender: the same key space as over HTTP.
    const ws = connect(target, { authToken: alice });
    const overWs = await executeWs(ws, PublishDocument, { room, event: 'e', data: 'y', idempotencyKey: key });
    expect(overWs.data?.publish).toEqual(byAlice);
    const held = (await postGraphQL(target.url, HistoryDocument, { room, limit: 100 })).body.data!.history;
    expect(held.filter((m) => [byBob.seq, byAlice.seq, byNobody.seq].includes(m.seq)).map((m) => m.data)).toEqual([
      'bob',
      'alice',
      'anonymous',
    ]);
    expect(held.filter((m) => m.data === 'x' || m.data === 'y')).toEqual([]);
  });
});

describe('when the reply to the first attempt is lost', () => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server({ REDIS_URL: redis.url, BROKER_TIMEOUT_MS: '500' });
  });

  /**
   * Holds every write to Redis (CLIENT PAUSE WRITE), so the publish below is sent but neither run nor
   * answered within BROKER_TIMEOUT_MS; it runs once the pause is lifted, after the caller was told
   * UNAVAILABLE.
   */
  async function failingWhilePaused<T>(attempt: () => Promise<T>): Promise<T> {
    const pauser = redis.client();
    try {
      await pauser.call('CLIENT', 'PAUSE', '10000', 'WRITE');
      const began = Date.now();
      const result = await attempt();
      expect(Date.now() - began).toBeGreaterThanOrEqual(400);
      return result;
    } finally {
      await pauser.call('CLIENT', 'UNPAUSE');
      pauser.disconnect();
    }
  }

  it('over HTTP: UNAVAILABLE, then a retry with the same key returns the one message stored and delivered', async () => {
    const room = newRoom();
    const { stream, start } = await watch(target, room);
    const failed = await failingWhilePaused(() => post(target, { room, data: { order: 7 }, idempotencyKey: 'order-7' }));
    expect(failed.status).toBe(503);
    expect(failed.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    // The first attempt was stored after all, once Redis went on: subscribers get it.
    const delivered = message(await stream.next());
    expect(delivered).toMatchObject({ seq: start.seq + 1, data: { order: 7 } });
    const retry = await publish(target, { room, data: { order: 7 }, idempotencyKey: 'order-7' });
    expect({ __typename: 'Message', ...retry }).toEqual(delivered);
    const next = await publish(target, { room, data: 'next' });
    expect(next.seq).toBe(retry.seq + 1);
    expect(message(await stream.next())).toMatchObject({ seq: next.seq, data: 'next' });
    expect((await historyOf(target, room)).map((m) => m.data)).toEqual(['zero', 'start', { order: 7 }, 'next']);
  });

  it('over the WebSocket: the same, with the retry made as soon as Redis answers', async () => {
    const room = newRoom();
    const { stream, start } = await watch(target, room);
    const client = connect(target);
    const variables = { room, event: 'e', data: { order: 8 }, idempotencyKey: 'order-8' };
    await executeWs(client, PublishDocument, { room, event: 'e', data: 'warm-up' });
    const failed = await failingWhilePaused(() => executeWs(client, PublishDocument, variables));
    expect(failed.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    const retry = await waitFor('a retry to be answered', async () => {
      const result = await executeWs(client, PublishDocument, variables);
      return result.data?.publish;
    });
    expect(retry).toMatchObject({ seq: start.seq + 2, data: { order: 8 } });
    const next = (await executeWs(client, PublishDocument, { room, event: 'e', data: 'next' })).data!.publish;
    expect((await stream.take(3)).map(message).map((m) => [m.seq, m.data])).toEqual([
      [start.seq + 1, 'warm-up'],
      [retry.seq, { order: 8 }],
      [next.seq, 'next'],
    ]);
    expect(next.seq).toBe(retry.seq + 1);
    expect((await historyOf(target, room)).map((m) => m.data)).toEqual(['zero', 'start', 'warm-up', { order: 8 }, 'next']);
  });
});
