/**
 * roomcast/publisher (from source, in the test process) against in-process servers on a real
 * redis-server: what it publishes reaches the servers' subscribers exactly as a mutation's message
 * does, in the same seq order; it refuses what the mutation refuses, with the same codes; its
 * idempotency keys share the mutation's key space per room and sender; a publish whose reply was lost
 * (Redis paused past timeoutMs) is retried into one message; and the protocol version is stored, kept
 * with data written before it, and enforced.
 */
import { SignJWT } from 'jose';
import { print, type ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { redisKeys } from '../../src/broker/redis-keys.js';
import { encodeMessage } from '../../src/rooms/message.js';
import { createPublisher, RoomcastError, type PublishedMessage, type Publisher, type PublisherOptions } from '../../src/publisher/index.js';
import {
  BroadcastsDocument,
  HistoryDocument,
  PublishDocument,
  RoomMessagesDocument,
  type PublishMutation,
  type RoomMessagesSubscription,
} from '../generated/graphql.js';
import { postGraphQL, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
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
const publishers: Publisher[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  for (const publisher of publishers.splice(0)) await publisher.close();
});
const publisherOf = (options: Partial<PublisherOptions> = {}) => {
  const publisher = createPublisher({ redisUrl: redis.url, ...options });
  publishers.push(publisher);
  return publisher;
};

type Published = PublishMutation['publish'];
let rooms = 0;
const newRoom = () => `pub-${Date.now()}-${rooms++}`;

async function post(
  target: TestServer,
  variables: { room: string; event?: string; data: unknown; idempotencyKey?: string },
  token?: string,
) {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: print(PublishDocument), variables: { event: 'e', ...variables } }),
  });
  return (await response.json()) as ExecutionResult<PublishMutation>;
}
async function mutate(
  target: TestServer,
  variables: { room: string; event?: string; data: unknown; idempotencyKey?: string },
  token?: string,
) {
  const body = await post(target, variables, token);
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}
/** The publisher's message as the GraphQL API shows it (DateTime as RFC 3339 text). */
const asGraphQL = (m: PublishedMessage): Published => ({ ...m, sender: m.sender ?? null, publishedAt: m.publishedAt.toISOString() });
const message = (result: ExecutionResult<RoomMessagesSubscription>) => result.data!.messages as Published;
const historyOf = async (target: TestServer, room: string) =>
  (await postGraphQL(target.url, HistoryDocument, { room, limit: 100 })).body.data!.history;

/** A caught-up subscription of `room`: everything it gets next was published after `start`. */
async function watch(
  target: TestServer,
  room: string,
): Promise<{ stream: Stream<ExecutionResult<RoomMessagesSubscription>>; start: Published }> {
  const zero = await mutate(target, { room, data: 'zero' });
  const client = wsClient(target.wsUrl);
  clients.push(client);
  const stream = subscribeWs(client, RoomMessagesDocument, { room, after: zero.cursor });
  const start = await mutate(target, { room, data: 'start' });
  expect(message(await stream.next())).toMatchObject({ seq: start.seq, data: 'start' });
  return { stream, start };
}

/** The error a publisher call rejects with (it must be a RoomcastError). */
async function refusal(attempt: Promise<unknown>): Promise<{ code: string; message: string }> {
  const error = await attempt.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RoomcastError);
  return { code: (error as RoomcastError).code, message: (error as RoomcastError).message };
}

describe('publishing from the test process to the servers of one Redis', () => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server({ REDIS_URL: redis.url });
  });

  it('should reach subscribers as a mutation does, in one seq order with mutations, and be stored alike', async () => {
    const room = newRoom();
    const { stream, start } = await watch(target, room);
    const publisher = publisherOf();
    const a = await mutate(target, { room, event: 'chat', data: { by: 'mutation' } });
    const b = await publisher.publish(
      room,
      'chat',
      { by: 'publisher', big: 12345678901234567000, path: 'a/b', text: '"é\n' },
      { sender: 'billing "worker"' },
    );
    const c = await mutate(target, { room, event: 'chat', data: { by: 'mutation' } });
    expect([a.seq, b.seq, c.seq]).toEqual([start.seq + 1, start.seq + 2, start.seq + 3]);
    expect(b).toMatchObject({ room, event: 'chat', sender: 'billing "worker"' });
    expect(b.publishedAt).toBeInstanceOf(Date);
    const delivered = (await stream.take(3)).map(message);
    expect(delivered).toEqual([a, asGraphQL(b), c].map((m) => ({ __typename: 'Message', ...m })));
    expect((await historyOf(target, room)).slice(-3)).toEqual([a, asGraphQL(b), c]);
    // Byte for byte what the server stores for a message it publishes itself (the data as JSON.stringify wrote it).
    const entries = (await redis.command('XRANGE', redisKeys('roomcast:').log(room), `${b.seq}-0`, `${b.seq}-0`)) as [string, string[]][];
    const stored = entries[0]![1][1];
    const epoch = (await redis.command('HGET', redisKeys('roomcast:').meta(room), 'epoch')) as string;
    expect(stored).toBe(
      encodeMessage(
        { room, seq: b.seq, epoch, event: 'chat', publishedAt: b.publishedAt.getTime(), sender: 'billing "worker"' },
        JSON.stringify(b.data),
      ),
    );
    await stream.expectNothing(50);
  });

  it('should broadcast to every broadcasts subscriber', async () => {
    const publisher = publisherOf();
    const first = await publisher.broadcast('hello', 0);
    const client = wsClient(target.wsUrl);
    clients.push(client);
    const stream = subscribeWs(client, BroadcastsDocument, { after: first.cursor });
    const second = await publisher.broadcast('hello', { n: 2 });
    expect(second).toMatchObject({ room: '*', seq: first.seq + 1, event: 'hello', data: { n: 2 }, sender: null });
    expect((await stream.next()).data!.broadcasts).toEqual({ __typename: 'Message', ...asGraphQL(second) });
  });

  it('should refuse what the mutation refuses, with the same codes, and store nothing', async () => {
    const room = newRoom();
    const publisher = publisherOf();
    const cases: { room: string; event: string; data: unknown; idempotencyKey?: string }[] = [
      { room: 'two words', event: 'e', data: 1 },
      { room: '*', event: 'e', data: 1 },
      { room: 'r'.repeat(129), event: 'e', data: 1 },
      { room, event: '', data: 1 },
      { room, event: 'e'.repeat(65), data: 1 },
      { room, event: 'a"b', data: 1 },
      { room, event: 'e', data: 'x'.repeat(65_535) }, // 65,537 bytes as JSON: one over MAX_PAYLOAD_BYTES' default
      { room, event: 'e', data: 1, idempotencyKey: '' },
      { room, event: 'e', data: 1, idempotencyKey: 'k'.repeat(129) },
    ];
    for (const { idempotencyKey, ...args } of cases) {
      const byMutation = await post(target, { ...args, ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
      const byPublisher = await refusal(publisher.publish(args.room, args.event, args.data, { idempotencyKey }));
      expect(byPublisher.code, JSON.stringify(args).slice(0, 80)).toBe(byMutation.errors?.[0]?.extensions?.code);
      expect(byPublisher.message.replace('(maxPayloadBytes)', '(MAX_PAYLOAD_BYTES)')).toBe(byMutation.errors?.[0]?.message);
    }
    expect((await refusal(publisher.broadcast('no spaces', 1))).code).toBe('BAD_USER_INPUT');
    // What only a caller without GraphQL can pass: no JSON value, or a sender that is not text.
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    // null too: Message.data is JSON!, and one null message would make the room's history unreadable.
    for (const data of [undefined, null, () => 1, 10n, cycle])
      expect((await refusal(publisher.publish(room, 'e', data))).code).toBe('BAD_USER_INPUT');
    expect((await refusal(publisher.publish(room, 'e', 1, { sender: 42 as unknown as string }))).code).toBe('BAD_USER_INPUT');
    expect(await historyOf(target, room)).toEqual([]);
    // The limit itself is allowed, as by the mutation.
    expect((await publisher.publish(room, 'e', 'x'.repeat(65_534))).seq).toBe(1);
    expect((await mutate(target, { room, data: 'x'.repeat(65_534) })).seq).toBe(2);
  });

  it("should take its limit and the servers' settings as options, and refuse options out of range", async () => {
    const small = publisherOf({ maxPayloadBytes: 10 });
    const room = newRoom();
    expect(await refusal(small.publish(room, 'e', 'x'.repeat(9)))).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'data is 11 bytes as JSON; the limit is 10 (maxPayloadBytes)',
    });
    expect((await small.publish(room, 'e', 'x'.repeat(8))).seq).toBe(1);
    // A deployment with its own prefix and history size: the publisher given the same reaches its subscribers.
    const other = await server({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'app2:', HISTORY_SIZE: '3' });
    const { stream, start } = await watch(other, room);
    const publisher = publisherOf({ keyPrefix: 'app2:', historySize: 3 });
    for (let n = 1; n <= 3; n++) await publisher.publish(room, 'e', n);
    expect((await stream.take(3)).map((r) => message(r).seq)).toEqual([start.seq + 1, start.seq + 2, start.seq + 3]);
    expect(await redis.command('XLEN', redisKeys('app2:').log(room))).toBe(3);
    for (const bad of [
      { redisUrl: 'localhost:6379' },
      { historySize: 0 },
      { historyTtlSeconds: 1.5 },
      { idempotencyTtlSeconds: 86_401 },
      { maxPayloadBytes: -1 },
      { timeoutMs: 0 },
    ]) {
      expect(() => createPublisher({ redisUrl: redis.url, ...bad }), JSON.stringify(bad)).toThrow(RangeError);
    }
  });

  it('should fail with UNAVAILABLE within timeoutMs when Redis cannot be reached, and once closed', async () => {
    const nowhere = createPublisher({ redisUrl: `redis://127.0.0.1:${await freePort()}`, timeoutMs: 300 });
    publishers.push(nowhere);
    const began = Date.now();
    const failure = await refusal(nowhere.publish('r', 'e', 1));
    expect(failure.code).toBe('UNAVAILABLE');
    expect(failure.message).toMatch(/^Redis is unavailable: not connected within 300 ms; last connection error: .*ECONNREFUSED/);
    expect(Date.now() - began).toBeLessThan(2_000);
    const publisher = publisherOf();
    await publisher.close();
    expect(await refusal(publisher.publish('r', 'e', 1))).toEqual({ code: 'UNAVAILABLE', message: 'the publisher is closed' });
  });
});

describe('idempotency keys', () => {
  it("should share the mutation's key space: one per room and sender, anonymous mutations with no sender", async () => {
    const target = await server({ REDIS_URL: redis.url });
    const room = newRoom();
    const { stream } = await watch(target, room);
    const publisher = publisherOf();
    const byMutation = await mutate(target, { room, data: 'mutation', idempotencyKey: 'order-1' });
    expect(asGraphQL(await publisher.publish(room, 'other', 'publisher', { idempotencyKey: 'order-1' }))).toEqual(byMutation);
    const byPublisher = await publisher.publish(room, 'e', 'worker', { idempotencyKey: 'order-2', sender: 'worker' });
    expect(asGraphQL(await publisher.publish(room, 'e', 'again', { idempotencyKey: 'order-2', sender: 'worker' }))).toEqual(
      asGraphQL(byPublisher),
    );
    // Another sender with the same key is another message.
    const byOther = await publisher.publish(room, 'e', 'other worker', { idempotencyKey: 'order-2', sender: 'other' });
    expect(byOther.seq).toBe(byPublisher.seq + 1);
    expect((await stream.take(3)).map((r) => message(r).data)).toEqual(['mutation', 'worker', 'other worker']);
    await stream.expectNothing(50);
  });

  it("with auth on: a publisher whose sender is a token's sub shares that sub's keys", async () => {
    const secret = 'a-test-secret-of-at-least-32-bytes!!';
    const room = newRoom();
    const target = await server({
      REDIS_URL: redis.url,
      AUTH_JWT_SECRET: secret,
      ANONYMOUS_CAPABILITY: JSON.stringify({ [room]: ['publish', 'subscribe', 'history'] }),
    });
    const alice = await new SignJWT({ sub: 'alice', roomcast: { [room]: ['*'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(secret));
    const publisher = publisherOf();
    const byAlice = await mutate(target, { room, data: 'alice', idempotencyKey: 'k' }, alice);
    expect(byAlice.sender).toBe('alice');
    expect(asGraphQL(await publisher.publish(room, 'e', 'as alice', { idempotencyKey: 'k', sender: 'alice' }))).toEqual(byAlice);
    const asBob = await publisher.publish(room, 'e', 'as bob', { idempotencyKey: 'k', sender: 'bob' });
    const anonymous = await publisher.publish(room, 'e', 'anonymous', { idempotencyKey: 'k' });
    expect([asBob.seq, anonymous.seq]).toEqual([byAlice.seq + 1, byAlice.seq + 2]);
    expect(await mutate(target, { room, data: 'x', idempotencyKey: 'k' })).toEqual(asGraphQL(anonymous));
    expect((await historyOf(target, room)).map((m) => [m.sender, m.data])).toEqual([
      ['alice', 'alice'],
      ['bob', 'as bob'],
      [null, 'anonymous'],
    ]);
  });

  it('should turn a publish whose reply was lost (Redis paused past timeoutMs) into one message on retry', async () => {
    const target = await server({ REDIS_URL: redis.url });
    const room = newRoom();
    const { stream, start } = await watch(target, room);
    const publisher = publisherOf({ timeoutMs: 300 });
    await publisher.publish(room, 'warm', 'up'); // connected and the script loaded, so the pause holds the publish itself
    expect(message(await stream.next()).data).toBe('up');
    const pauser = redis.client();
    let failure: { code: string; message: string };
    try {
      await pauser.call('CLIENT', 'PAUSE', '10000', 'WRITE');
      const began = Date.now();
      failure = await refusal(publisher.publish(room, 'order', { id: 7 }, { idempotencyKey: 'order-7' }));
      expect(Date.now() - began).toBeGreaterThanOrEqual(250);
    } finally {
      await pauser.call('CLIENT', 'UNPAUSE');
      pauser.disconnect();
    }
    expect(failure.code).toBe('UNAVAILABLE');
    expect(failure.message).toMatch(/^Redis did not answer the publish \(Command timed out\); it may have been stored/);
    // Stored once Redis went on: subscribers get it, and the retry returns it instead of publishing again.
    const delivered = message(await stream.next());
    expect(delivered).toMatchObject({ seq: start.seq + 2, data: { id: 7 } });
    const retry = await publisher.publish(room, 'order', { id: 7 }, { idempotencyKey: 'order-7' });
    expect({ __typename: 'Message', ...asGraphQL(retry) }).toEqual(delivered);
    const next = await publisher.publish(room, 'e', 'next');
    expect(next.seq).toBe(retry.seq + 1);
    expect(message(await stream.next())).toMatchObject({ seq: next.seq, data: 'next' });
    expect((await historyOf(target, room)).map((m) => m.data)).toEqual(['zero', 'start', 'up', { id: 7 }, 'next']);
  });
});

describe('the protocol version in the stored data', () => {
  const keys = redisKeys('roomcast:');
  let target: TestServer;
  beforeAll(async () => {
    target = await server({ REDIS_URL: redis.url });
  });

  it('should write layout version 1 (v=1) into the meta hash of every room it publishes to', async () => {
    const room = newRoom();
    await publisherOf().publish(room, 'e', 1);
    await mutate(target, { room: `${room}-m`, data: 1 });
    expect(await redis.command('HGET', keys.meta(room), 'v')).toBe('1');
    expect(await redis.command('HGET', keys.meta(`${room}-m`), 'v')).toBe('1');
  });

  it('should continue a room stored before the version existed, and mark it', async () => {
    const room = newRoom();
    const before = { room, epoch: 'oldEpoch', event: 'e', publishedAt: 1_764_000_000_000, sender: null };
    await redis.command('HSET', keys.meta(room), 'epoch', 'oldEpoch', 'seq', 2);
    for (const seq of [1, 2]) await redis.command('XADD', keys.log(room), `${seq}-0`, 'm', encodeMessage({ ...before, seq }, String(seq)));
    const third = await publisherOf().publish(room, 'e', 3);
    expect(third.seq).toBe(3);
    expect((await historyOf(target, room)).map((m) => [m.seq, m.data])).toEqual([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(await redis.command('HGET', keys.meta(room), 'v')).toBe('1');
  });

  it('should refuse a room written by another version, through the publisher and the mutation, and change nothing', async () => {
    const room = newRoom();
    await redis.command('HSET', keys.meta(room), 'epoch', 'futureEp', 'seq', 5, 'v', '2');
    const failure = await refusal(publisherOf().publish(room, 'e', 1));
    expect(failure).toEqual({
      code: 'UNAVAILABLE',
      message:
        'Redis refused the publish: ROOMCAST_PROTOCOL the room was written in layout version 2; this script (protocol version 2) writes layout version 1',
    });
    expect((await post(target, { room, data: 1 })).errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
    expect(await redis.command('HGETALL', keys.meta(room))).toEqual(['epoch', 'futureEp', 'seq', '5', 'v', '2']);
    expect(await redis.command('EXISTS', keys.log(room))).toBe(0);
  });
});
