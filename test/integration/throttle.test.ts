/**
 * throttleMs end to end on in-process servers (Redis and memory brokers, direct delivery on and off,
 * WebSocket and SSE): the first message at once, then, when the window ends, the latest message of
 * each event name in seq order; a resume from the last delivered cursor replays what follows through
 * the throttle; messagesIn throttles each room's event names apart; bad values are BAD_USER_INPUT.
 * Windows on a fake clock are in test/unit/throttle.test.ts.
 */
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  PublishDocument,
  RoomMessagesDocument,
  RoomsMessagesDocument,
  type PublishMutation,
  type RoomMessagesSubscription,
  type RoomsMessagesSubscription,
} from '../generated/graphql.js';
import { postGraphQL, subscribeSse, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
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
const streams: Stream<unknown>[] = [];
afterEach(async () => {
  for (const stream of streams.splice(0)) stream.dispose();
  for (const client of clients.splice(0)) await client.dispose();
});

type Published = PublishMutation['publish'];
let counter = 0;
const newRoom = () => `throttle-${Date.now()}-${counter++}`;
// Long enough that a burst of publishes always fits in one window on a loaded machine.
const WINDOW_MS = 1_000;

async function publish(target: TestServer, room: string, data: number, event = 'tick'): Promise<Published> {
  const { body } = await postGraphQL(target.url, PublishDocument, { room, event, data });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}
const connect = (target: TestServer) => {
  const client = wsClient(target.wsUrl);
  clients.push(client);
  return client;
};
type One = ExecutionResult<RoomMessagesSubscription>;
const label = (result: One) => {
  const m = result.data!.messages as Published;
  return `${m.event}#${String(m.data)}`;
};

describe.each([
  ['redis', 'on', () => ({ REDIS_URL: redis.url, DIRECT_DELIVERY: 'on' })],
  ['memory', 'on', () => ({ DIRECT_DELIVERY: 'on' })],
  ['memory', 'off', () => ({ DIRECT_DELIVERY: 'off' })],
])('throttleMs on a %s broker, DIRECT_DELIVERY=%s', (_kind, _direct, env) => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server(env());
  });

  for (const transport of ['WebSocket', 'SSE'] as const) {
    it(`over ${transport}: the first message at once, then the latest of each event name at the window's end`, async () => {
      const room = newRoom();
      const zero = await publish(target, room, 0);
      const variables = { room, after: zero.cursor, throttleMs: WINDOW_MS };
      const stream = (
        transport === 'SSE'
          ? subscribeSse(target.url, RoomMessagesDocument, variables)
          : subscribeWs(connect(target), RoomMessagesDocument, variables)
      ) as Stream<One>;
      streams.push(stream);
      await publish(target, room, 1);
      const first = await stream.next();
      const firstAt = Date.now();
      expect(label(first)).toBe('tick#1');
      for (let n = 2; n <= 10; n++) await publish(target, room, n, n === 4 ? 'rare' : 'tick');
      const lastAt = Date.now();
      const [rare, latest] = await stream.take(2, WINDOW_MS * 3);
      const flushedAt = Date.now();
      expect([label(rare!), label(latest!)]).toEqual(['rare#4', 'tick#10']);
      // Held until the window opened by the first message ended; then at once.
      expect(flushedAt - firstAt).toBeGreaterThanOrEqual(WINDOW_MS - 50);
      expect(flushedAt - lastAt).toBeLessThanOrEqual(WINDOW_MS + 500);
      await stream.expectNothing(WINDOW_MS + 200);

      // A delivered cursor resumes what follows, through the throttle: from rare#4, tick#5 at once, then tick#10.
      const afterRare = (rare!.data!.messages as Published).cursor;
      const resumed = subscribeWs(connect(target), RoomMessagesDocument, { room, after: afterRare, throttleMs: WINDOW_MS }) as Stream<One>;
      streams.push(resumed);
      expect((await resumed.take(2, WINDOW_MS * 3)).map(label)).toEqual(['tick#5', 'tick#10']);
    });
  }

  it('messagesIn: each room keeps its own latest of each event name', async () => {
    const [a, b] = [newRoom(), newRoom()];
    const a0 = await publish(target, a, 0);
    const b0 = await publish(target, b, 0);
    const stream: Stream<ExecutionResult<RoomsMessagesSubscription>> = subscribeWs(connect(target), RoomsMessagesDocument, {
      rooms: [a, b],
      after: [a0.cursor, b0.cursor],
      throttleMs: WINDOW_MS,
    });
    streams.push(stream);
    await publish(target, a, 1);
    const first = await stream.next();
    expect(first.extensions?.position).toMatch(/^p1,/);
    await publish(target, b, 1);
    await publish(target, a, 2);
    await publish(target, b, 2);
    const held = (await stream.take(2, WINDOW_MS * 3)).map((r) => {
      const m = r.data!.messagesIn as Published;
      return `${m.room === a ? 'a' : 'b'}#${String(m.data)}`;
    });
    expect(held).toEqual(['a#2', 'b#2']);
  });
});

describe('throttleMs values', () => {
  it('should refuse values other than 0 and 10 to 60000 with BAD_USER_INPUT, and take 0 as every message', async () => {
    const target = await server();
    const room = newRoom();
    for (const throttleMs of [-1, 5, 60_001]) {
      const stream = subscribeWs(connect(target), RoomMessagesDocument, { room, throttleMs }) as Stream<One>;
      streams.push(stream);
      expect((await stream.next()).errors).toMatchObject([
        { extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringContaining('throttleMs') },
      ]);
    }
    const zero = await publish(target, room, 0);
    const every = subscribeWs(connect(target), RoomMessagesDocument, { room, after: zero.cursor, throttleMs: 0 }) as Stream<One>;
    streams.push(every);
    for (let n = 1; n <= 3; n++) await publish(target, room, n);
    expect((await every.take(3)).map(label)).toEqual(['tick#1', 'tick#2', 'tick#3']);
  });
});
