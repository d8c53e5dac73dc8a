/**
 * @roomcast/client against servers that are away for seconds, as real processes:
 * - killed (SIGKILL) and started again later on the same port, so every attempt in between is
 *   refused (ECONNREFUSED), with Redis (exactly the messages published meanwhile, through another
 *   replica) and with the embedded broker (its history died with the process: a HistoryGap with
 *   `missed: null`, then live); directly, under urql and under Apollo; every URL of a list down at once;
 * - frozen (SIGSTOP): connections stay open or hang in the handshake and nothing answers; the client
 *   notices (pong and connect timeouts), moves to another replica and resumes there.
 * The sinks must never see `error` or `complete`: the client does not give up. A browser-style
 * EventSource (SSE) is held to the same promise (the README's "when a client gives up" table).
 */
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createRoomcastClient, type HistoryGapInfo, type RoomcastClientOptions } from '@roomcast/client';
import { createClient as createUrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { OperationTypeNode, print } from 'graphql';
import type { Client } from 'graphql-ws';
import { EventSource } from 'eventsource';
import { pipe, subscribe } from 'wonka';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

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

/** A replica on a fixed port, so it can come back where its clients look for it. */
async function replica(env: Record<string, string> = {}, port?: number): Promise<Replica> {
  const started = await startReplica({ PORT: String(port ?? (await freePort())), ...env });
  cleanups.push(() => {
    started.process.kill('SIGCONT');
    return started.stop('SIGKILL');
  });
  return started;
}
const redisReplica = (port?: number) => replica({ REDIS_URL: redis.url }, port);

async function publish(target: Replica, room: string, n: number) {
  const { body } = await postGraphQL(target.url, PublishDocument, { room, event: 'e', data: { n } });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}

async function publishRange(target: Replica, room: string, from: number, to: number): Promise<void> {
  for (let n = from; n <= to; n++) await publish(target, room, n);
}

/** What a subscription delivered: each message's `data.n`, each HistoryGap's `missed`, and any end. */
interface Received {
  readonly ns: number[];
  readonly gaps: (number | null)[];
  ended?: string;
}

type Event = { __typename?: string; data?: { n?: number }; missed?: number | null } | undefined;

function record(received: Received, event: Event): void {
  if (event?.__typename === 'HistoryGap') received.gaps.push(event.missed ?? null);
  else received.ns.push(event?.data?.n ?? -1);
}

/** The client under test, with a counter of connection attempts that were refused. */
function client(urls: string[], options: Partial<RoomcastClientOptions> = {}): { ws: Client; refused: () => number } {
  let refused = 0;
  const ws = createRoomcastClient({
    url: urls,
    webSocketImpl: WebSocket,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 100)),
    ...options,
  });
  ws.on('error', (error) => {
    if (String((error as { message?: unknown }).message).includes('ECONNREFUSED')) refused++;
  });
  cleanups.push(() => ws.dispose());
  return { ws, refused: () => refused };
}

type Subscriber = (ws: Client, room: string, after: string, received: Received) => void;

const subscribers: Record<'graphql-ws' | 'urql' | 'Apollo Client', Subscriber> = {
  'graphql-ws': (ws, room, after, received) => {
    cleanups.push(
      ws.subscribe(
        { query: print(RoomMessagesDocument), variables: { room, after } },
        {
          next: (result) => record(received, result.data?.messages as Event),
          error: (error) => (received.ended = `error ${JSON.stringify(error)}`),
          complete: () => (received.ended = 'complete'),
        },
      ),
    );
  },
  urql: (ws, room, after, received) => {
    const urql = createUrqlClient({
      url: 'http://unused.invalid/graphql',
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });
    const { unsubscribe } = pipe(
      urql.subscription(RoomMessagesDocument, { room, after }),
      subscribe((result) => {
        if (result.error) received.ended = `error ${result.error.message}`;
        else record(received, result.data?.messages as Event);
      }),
    );
    cleanups.push(unsubscribe);
  },
  'Apollo Client': (ws, room, after, received) => {
    const apollo = new ApolloClient({
      cache: new InMemoryCache({ possibleTypes: { RoomEvent: ['Message', 'HistoryGap'] } }),
      link: ApolloLink.split(
        (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
        new GraphQLWsLink(ws),
        new HttpLink({ uri: 'http://unused.invalid/graphql' }),
      ),
    });
    const subscription = apollo.subscribe({ query: RoomMessagesDocument, variables: { room, after } }).subscribe({
      next: (result) =>
        result.error ? (received.ended = `error ${result.error.message}`) : record(received, result.data?.messages as Event),
      error: (error: unknown) => (received.ended = `error ${String(error)}`),
      complete: () => (received.ended = 'complete'),
    });
    cleanups.push(
      () => subscription.unsubscribe(),
      () => apollo.stop(),
    );
  },
};

const upTo = (to: number) => Array.from({ length: to }, (_, i) => i + 1);

async function expectExactly(received: Received, count: number): Promise<void> {
  await waitFor(`${count} messages`, () => received.ns.length >= count || received.ended, 20_000);
  expect(received.ended).toBeUndefined();
  expect(received.gaps).toEqual([]);
  expect(received.ns).toEqual(upTo(count));
}

describe('a server killed and started again seconds later (connections refused meanwhile)', () => {
  for (const [name, subscribeWith] of Object.entries(subscribers)) {
    it(`with Redis, ${name} over @roomcast/client gets exactly the messages published meanwhile`, async () => {
      const room = `refused-${name.replace(/\W/g, '')}`;
      const publisher = await redisReplica();
      const port = await freePort();
      const server = await redisReplica(port);
      const start = await publish(publisher, room, 0);
      const { ws, refused } = client([server.wsUrl]);
      const received: Received = { ns: [], gaps: [] };
      subscribeWith(ws, room, start.cursor, received);
      await publishRange(publisher, room, 1, 5);
      await waitFor('the first messages', () => received.ns.length === 5);

      await server.stop('SIGKILL');
      await publishRange(publisher, room, 6, 15);
      await waitFor('three refused attempts', () => refused() >= 3);
      await redisReplica(port); // the same port again; stopped with the others after the test
      await publishRange(publisher, room, 16, 20);
      await expectExactly(received, 20);
    });
  }

  it('with the embedded broker, the client is told plainly that history was lost (missed: null), then goes live', async () => {
    const room = 'refused-memory';
    const port = await freePort();
    let server = await replica({}, port);
    const start = await publish(server, room, 0);
    const gaps: HistoryGapInfo[] = [];
    const { ws, refused } = client([server.wsUrl], { onGap: (gap) => gaps.push(gap) });
    const received: Received = { ns: [], gaps: [] };
    subscribers['graphql-ws'](ws, room, start.cursor, received);
    await publishRange(server, room, 1, 3);
    await waitFor('the first messages', () => received.ns.length === 3);

    await server.stop('SIGKILL');
    await waitFor('three refused attempts', () => refused() >= 3);
    server = await replica({}, port);
    await waitFor('the HistoryGap', () => received.gaps.length > 0 || received.ended);
    await publishRange(server, room, 4, 5);
    await waitFor('live messages', () => received.ns.length >= 5 || received.ended);
    expect(received).toEqual({ ns: [1, 2, 3, 4, 5], gaps: [null] });
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ room, missed: null });
  });

  it('every URL of the list down at once, default back-off: the client keeps trying and resumes on the first back', async () => {
    const room = 'all-down';
    const publisher = await redisReplica();
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await redisReplica(portA);
    const b = await redisReplica(portB);
    const start = await publish(publisher, room, 0);
    const { ws, refused } = client([a.wsUrl, b.wsUrl], { retryWait: undefined });
    const received: Received = { ns: [], gaps: [] };
    subscribers['graphql-ws'](ws, room, start.cursor, received);
    await publishRange(publisher, room, 1, 3);
    await waitFor('the first messages', () => received.ns.length === 3);

    await Promise.all([a.stop('SIGKILL'), b.stop('SIGKILL')]);
    await publishRange(publisher, room, 4, 10);
    // Both URLs refused, twice each at least: past graphql-ws's own give-up point (one refusal).
    await waitFor('four refused attempts', () => refused() >= 4, 20_000);
    await redisReplica(portB); // stopped with the others after the test
    await publishRange(publisher, room, 11, 12);
    await expectExactly(received, 12);
  });
  it('an EventSource over SSE reconnects by itself and resumes with Last-Event-ID', async () => {
    const room = 'refused-sse';
    const publisher = await redisReplica();
    const port = await freePort();
    const server = await redisReplica(port);
    const start = await publish(publisher, room, 0);
    const url = new URL(server.url);
    url.searchParams.set('query', print(RoomMessagesDocument));
    url.searchParams.set('variables', JSON.stringify({ room, after: start.cursor }));
    let refused = 0;
    const received: Received = { ns: [], gaps: [] };
    const source = new EventSource(url, {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), accept: 'text/event-stream' } }).catch(
          (error: unknown) => {
            refused++;
            throw error;
          },
        ),
    });
    cleanups.push(() => source.close());
    source.addEventListener('next', (event) => record(received, (JSON.parse(event.data) as { data: { messages: Event } }).data.messages));
    await publishRange(publisher, room, 1, 5);
    await waitFor('the first messages', () => received.ns.length === 5);

    await server.stop('SIGKILL');
    await publishRange(publisher, room, 6, 15);
    await waitFor('two refused attempts', () => refused >= 2, 20_000);
    await redisReplica(port); // the same port again; stopped with the others after the test
    await publishRange(publisher, room, 16, 20);
    await expectExactly(received, 20);
    expect(source.readyState).toBe(EventSource.OPEN);
  });
});

describe('dispose', () => {
  it('should end the subscriptions at once while waiting between attempts (default back-off)', async () => {
    const port = await freePort();
    const server = await replica({}, port);
    const { ws, refused } = client([server.wsUrl], { retryWait: undefined });
    const received: Received = { ns: [], gaps: [] };
    subscribers['graphql-ws'](ws, 'dispose-wait', (await publish(server, 'dispose-wait', 0)).cursor, received);
    await server.stop('SIGKILL');
    // Past a few refusals the back-off waits seconds between attempts.
    await waitFor('four refused attempts', () => refused() >= 4, 20_000);
    const started = Date.now();
    await ws.dispose();
    await waitFor('the subscription to complete', () => received.ended !== undefined, 2_000);
    expect(received.ended).toBe('complete');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('a server that stops answering without closing (SIGSTOP)', () => {
  const quick = { keepAlive: 300, pongTimeoutMs: 500, connectTimeoutMs: 1_000 };

  it('an open connection whose pongs stop is dropped, and the client resumes on the next replica', async () => {
    const room = 'frozen-open';
    const [frozen, other] = [await redisReplica(), await redisReplica()];
    const start = await publish(other, room, 0);
    const closes: number[] = [];
    const { ws } = client([frozen.wsUrl, other.wsUrl], quick);
    ws.on('closed', (event) => closes.push((event as { code: number }).code));
    const received: Received = { ns: [], gaps: [] };
    subscribers['graphql-ws'](ws, room, start.cursor, received);
    await publishRange(other, room, 1, 3);
    await waitFor('the first messages', () => received.ns.length === 3);

    frozen.process.kill('SIGSTOP');
    await publishRange(other, room, 4, 8);
    await expectExactly(received, 8);
    expect(closes).toContain(4499); // graphql-ws's "Terminated", after the missing pong
  });

  it('a handshake that never completes is abandoned for the next replica; dispose does not hang on it', async () => {
    const room = 'frozen-handshake';
    const [frozen, other] = [await redisReplica(), await redisReplica()];
    const start = await publish(other, room, 0);
    frozen.process.kill('SIGSTOP');
    const { ws } = client([frozen.wsUrl, other.wsUrl], quick);
    const received: Received = { ns: [], gaps: [] };
    subscribers['graphql-ws'](ws, room, start.cursor, received);
    await publishRange(other, room, 1, 3);
    await expectExactly(received, 3);

    const stuck = client([frozen.wsUrl], quick);
    const connecting = new Promise<void>((resolve) => stuck.ws.on('connecting', () => resolve()));
    subscribers['graphql-ws'](stuck.ws, room, start.cursor, { ns: [], gaps: [] });
    await within(connecting, 5_000, 'a connection attempt');
    await within(stuck.ws.dispose() as Promise<void>, 2_000, 'dispose during a frozen handshake');
  });
});
