/**
 * `messagesIn` across real processes: three replicas on one Redis, @roomcast/client subscribed to three
 * rooms on one replica while another publishes. The replica is killed (SIGKILL) and started again on
 * its port; meanwhile one room loses messages out of its history, one gets a message within it, and
 * one, which had delivered nothing yet, gets its first. After the restart the client resumes every
 * room: a HistoryGap for the first room only, then exactly what each room still holds, then live.
 */
import { createRoomcastClient } from '@roomcast/client';
import { print } from 'graphql';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument, RoomsMessagesDocument, type RoomsMessagesSubscription } from '../generated/graphql.js';
import { postGraphQL } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
const cleanups: (() => unknown)[] = [];
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await redis?.stop();
});

async function replica(port?: number): Promise<Replica> {
  const started = await startReplica({ PORT: String(port ?? (await freePort())), REDIS_URL: redis.url, HISTORY_SIZE: '10' });
  cleanups.push(() => started.stop('SIGKILL'));
  return started;
}

async function publish(target: Replica, room: string, data: string) {
  const { body } = await postGraphQL(target.url, PublishDocument, { room, event: 'e', data });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}

type RoomEvent = RoomsMessagesSubscription['messagesIn'];
const describeEvent = (e: RoomEvent) => (e.__typename === 'Message' ? `${e.room}:${String(e.data)}` : `gap:${e.room}:${e.missed}`);

describe('messagesIn through a replica killed and started again', () => {
  it('resumes every room with @roomcast/client: a HistoryGap for the room that lost messages only, nothing lost or repeated', async () => {
    const [a, b, c] = ['in-a', 'in-b', 'in-c'];
    const port = await freePort();
    const server = await replica(port);
    const publisher = await replica();
    await replica(); // the third replica, which nobody uses: fan-out goes through Redis either way

    const client = createRoomcastClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      retryWait: () => new Promise((resolve) => setTimeout(resolve, 100)),
    });
    cleanups.push(() => client.dispose());
    const received: string[] = [];
    let ended: string | undefined;
    cleanups.push(
      client.subscribe(
        { query: print(RoomsMessagesDocument), variables: { rooms: [a, b, c] } },
        {
          next: (result) => received.push(describeEvent((result.data as RoomsMessagesSubscription).messagesIn)),
          error: (error) => (ended = `error ${JSON.stringify(error)}`),
          complete: () => (ended = 'complete'),
        },
      ),
    );
    // No subscription acknowledgement exists: probe room b until the subscription is live.
    let probes = 0;
    await waitFor('the subscription to be live', async () => {
      await publish(publisher, b, `probe${probes++}`);
      return received.length > 0;
    });
    await waitFor('every probe', () => received.includes(`${b}:probe${probes - 1}`));
    received.length = 0;
    await publish(publisher, a, 'a1');
    await waitFor('a1', () => received.length === 1);

    await server.stop('SIGKILL');
    // Room a: 12 more, of which its history (10) keeps the last 10; room b: one; room c: its first.
    for (let n = 2; n <= 13; n++) await publish(publisher, a, `a${n}`);
    await publish(publisher, b, 'b1');
    await publish(publisher, c, 'c1');
    await replica(port); // the same port again; stopped with the others after the test
    const expected = [`gap:${a}:2`, ...Array.from({ length: 10 }, (_, i) => `${a}:a${i + 4}`), `${b}:b1`, `${c}:c1`];
    await waitFor('the resume', () => received.length >= 1 + expected.length || ended, 20_000);
    expect(ended).toBeUndefined();
    const resumed = received.slice(1);
    for (const room of [a, b, c]) {
      expect(
        resumed.filter((e) => e.includes(room)),
        room,
      ).toEqual(expected.filter((e) => e.includes(room)));
    }
    await publish(publisher, c, 'c2');
    await waitFor('live again', () => received.at(-1) === `${c}:c2`);
    expect(received.length).toBe(1 + expected.length + 1);
  });
});
