/**
 * Churn against one replica process on Redis: clients that come and go quickly — unsubscribing
 * gracefully, closing with subscriptions active, or cut off without a close frame, some while their
 * subscriptions are still being set up — must leave no Redis channel subscription behind, and the
 * replica must keep serving. (`npm run soak` does the same at scale, for minutes.)
 */
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { PublishDocument, RoomMessagesDocument, type RoomMessagesSubscription } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, untilLive, wsClient, type Stream } from '../helpers/clients.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

const ROOMS = 20;
const LANES = 5;
const CYCLES_PER_LANE = 20;

let redis: RedisServer;
let replica: Replica;

beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
  replica = await startReplica({ REDIS_URL: redis.url, REPLICA_ID: 'churn' });
});
afterAll(async () => {
  if (replica) expect(await replica.stop()).toBe(0);
  await redis?.stop();
});

const channels = async () => (await redis.command('PUBSUB', 'CHANNELS', 'roomcast:*')) as string[];
const publish = async (room: string, data: unknown) => {
  const { status, body } = await postGraphQL(replica.url, PublishDocument, { room, event: 'churn', data });
  if (status !== 200 || !body.data) throw new Error(`publish failed (${status}): ${JSON.stringify(body.errors)}`);
  return body.data.publish;
};
type Result = ExecutionResult<RoomMessagesSubscription>;
const seqOf = (r: Result) => (r.data!.messages as { seq: number }).seq;

/** A graphql-ws client whose sockets the test keeps, so it can cut them off without a close frame. */
function trackedClient(): { client: Client; sockets: WebSocket[]; connected: Promise<void>; onConnected: (fn: () => void) => void } {
  const sockets: WebSocket[] = [];
  class TrackedWebSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      sockets.push(this);
    }
  }
  const listeners: (() => void)[] = [];
  let resolve: () => void = () => {};
  const connected = new Promise<void>((r) => (resolve = r));
  const client = wsClient(replica.wsUrl, {
    webSocketImpl: TrackedWebSocket,
    on: {
      connected: () => {
        for (const fn of listeners) fn();
        resolve();
      },
    },
  });
  return { client, sockets, connected, onConnected: (fn) => listeners.push(fn) };
}

const closed = (socket: WebSocket): Promise<unknown> =>
  socket.readyState === WebSocket.CLOSED ? Promise.resolve() : within(once(socket, 'close'), 5_000, 'the socket to close');

const MODES = [
  'unsubscribe then close', // every subscription completed, then the socket closes normally
  'terminate when live', // socket destroyed without a close frame, subscriptions live
  'terminate during set-up', // socket destroyed while the server is still setting the subscriptions up
  'close with subscriptions', // normal close frame, subscriptions still active
  'unsubscribe one, terminate', // one subscription completed, the socket destroyed with the other live
] as const;

describe('churn on one replica', () => {
  it('should release every Redis channel after clients churn, and keep serving', async () => {
    let received = 0;
    const unexpected: string[] = [];
    const randomRoom = () => `churn-${Math.floor(Math.random() * ROOMS)}`;

    const cycle = async (lane: number, n: number) => {
      const mode = MODES[(lane + n) % MODES.length]!;
      const { client, sockets, connected, onConnected } = trackedClient();
      const first = randomRoom();
      let second = randomRoom();
      while (second === first) second = randomRoom();
      if (mode === 'terminate during set-up') {
        // Three points of the race: before the subscribes are sent, right after, and a turn later.
        const variant = n % 3;
        if (variant === 0) onConnected(() => sockets[0]!.terminate());
        if (variant === 1) onConnected(() => queueMicrotask(() => queueMicrotask(() => sockets[0]!.terminate())));
        if (variant === 2) onConnected(() => setImmediate(() => sockets[0]!.terminate()));
      }
      const streams: Stream<Result>[] = [first, second].map((room) => subscribeWs(client, RoomMessagesDocument, { room }));
      await within(connected, 10_000, 'the connection to be acknowledged');

      if (mode !== 'terminate during set-up') {
        // Proves the subscriptions are live (and exercises delivery) before the client goes.
        for (const [i, stream] of streams.entries()) {
          await untilLive(stream, seqOf, () => publish(i === 0 ? first : second, { lane, n, probe: true }));
          received += stream.items.length;
        }
        for (const stream of streams) if (stream.error !== undefined || stream.completed) unexpected.push(`${mode}: ended early`);
      }

      switch (mode) {
        case 'unsubscribe then close':
          for (const stream of streams) stream.dispose();
          await client.dispose();
          break;
        case 'terminate when live':
          sockets[0]!.terminate();
          break;
        case 'close with subscriptions':
          await client.dispose();
          break;
        case 'unsubscribe one, terminate':
          streams[0]!.dispose();
          sockets[0]!.terminate();
          break;
        case 'terminate during set-up':
          break;
      }
      await Promise.all(sockets.map(closed));
      await client.dispose();
      // Messages for the rooms just left go out while the server is tearing the subscriptions down.
      if (n % 4 === 0) await publish(first, { lane, n, after: mode });
    };

    await Promise.all(
      Array.from({ length: LANES }, async (_, lane) => {
        for (let n = 0; n < CYCLES_PER_LANE; n++) await cycle(lane, n);
      }),
    );

    expect(unexpected).toEqual([]);
    expect(received).toBeGreaterThanOrEqual(LANES * CYCLES_PER_LANE);
    await waitFor('every channel to be released', async () => (await channels()).length === 0, 10_000);

    // Still serving: a publish over HTTP, and a new subscriber that gets it live.
    const after = await publish('churn-0', { after: 'churn' });
    expect(after.seq).toBeGreaterThan(0);
    const { client } = trackedClient();
    const stream = subscribeWs(client, RoomMessagesDocument, { room: 'churn-0' });
    const live = await untilLive(stream, seqOf, () => publish('churn-0', { probe: 'after churn' }));
    const last = await publish('churn-0', { last: true });
    expect(last.seq).toBe(live + 1);
    expect(seqOf(await stream.next())).toBe(last.seq);
    stream.dispose();
    await client.dispose();
    await waitFor('the last channel to be released', async () => (await channels()).length === 0, 10_000);
    expect(replica.output.filter((line) => line.includes('"level":"error"'))).toEqual([]);
  });
});
