/**
 * Clients resume by themselves: the server drops sockets (TCP destroy, no close frame) several times
 * while messages are published at a steady rate, and the application-level subscription still sees
 * every message exactly once, in seq order. For @roomcast/client over graphql-ws directly, under urql
 * and under Apollo Client, and for a browser-style EventSource over SSE.
 */
import type { Socket } from 'node:net';
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient as createUrqlClient, fetchExchange, subscriptionExchange } from '@urql/core';
import { print, OperationTypeNode } from 'graphql';
import type { Client } from 'graphql-ws';
import { EventSource } from 'eventsource';
import { pipe, subscribe } from 'wonka';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRoomcastClient, type HistoryGapInfo } from '@roomcast/client';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { waitFor } from '../helpers/wait.js';

let server: TestServer;
const upgraded = new Set<Socket>();
const streaming = new Set<Socket>();
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  // History shorter than a test's run: resubscribing from the operation's original `after` would
  // produce a HistoryGap, so only a resume from the newest cursor passes.
  server = await startTestServer({ HISTORY_SIZE: '20' });
  server.httpServer.on('upgrade', (_req, socket: Socket) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
  });
  server.httpServer.on('request', (req, res) => {
    if (!req.headers.accept?.includes('text/event-stream')) return;
    streaming.add(req.socket);
    res.once('close', () => streaming.delete(req.socket));
  });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await server.close();
});

const publish = async (room: string, n: number) => {
  const { body } = await postGraphQL(server.url, PublishDocument, { room, event: 'tick', data: { n } });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
};

const quickRetry = { retryWait: async () => new Promise<void>((resolve) => setTimeout(resolve, 20)) };

function roomcastClient(): Client {
  const client = createRoomcastClient({ url: server.wsUrl, webSocketImpl: WebSocket, ...quickRetry });
  cleanups.push(() => client.dispose());
  return client;
}

/**
 * Publishes `count` messages at a steady pace and, meanwhile, destroys the sockets in `victims`
 * `drops` times. Resolves when everything is published.
 */
async function publishThroughDrops(room: string, count: number, victims: Set<Socket>, drops: number): Promise<void> {
  const dropEvery = Math.floor(count / (drops + 1));
  let dropped = 0;
  for (let n = 1; n <= count; n++) {
    await publish(room, n);
    if (n % dropEvery === 0 && dropped < drops) {
      await waitFor('a connected socket to drop', () => victims.size > 0);
      for (const socket of victims) socket.destroy();
      dropped++;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(dropped).toBe(drops);
}

async function expectExactlyOnce(received: number[], count: number): Promise<void> {
  await waitFor(`all ${count} messages`, () => received.length >= count, 20_000);
  expect(received).toEqual(Array.from({ length: count }, (_, i) => i + 1));
}

/** The message's n, or -1 for anything else (a HistoryGap fails the test). */
const dataN = (value: unknown) => (value as { data?: { n?: number } } | undefined)?.data?.n ?? -1;

describe('automatic resume through dropped connections', () => {
  it('@roomcast/client over graphql-ws: every message once, in order', async () => {
    const room = 'auto-graphql-ws';
    const start = await publish(room, 0);
    const received: number[] = [];
    const client = roomcastClient();
    const dispose = client.subscribe(
      { query: print(RoomMessagesDocument), variables: { room, after: start.cursor } },
      { next: (r) => received.push(dataN(r.data?.messages)), error: (e) => received.push(-1, e as never), complete: () => {} },
    );
    cleanups.push(dispose);
    await publishThroughDrops(room, 60, upgraded, 3);
    await expectExactlyOnce(received, 60);
  });

  it('urql subscriptionExchange over @roomcast/client: every message once, in order', async () => {
    const room = 'auto-urql';
    const start = await publish(room, 0);
    const ws = roomcastClient();
    const urql = createUrqlClient({
      url: server.url,
      exchanges: [
        fetchExchange,
        subscriptionExchange({
          forwardSubscription: (request) => ({
            subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
          }),
        }),
      ],
    });
    const received: number[] = [];
    const { unsubscribe } = pipe(
      urql.subscription(RoomMessagesDocument, { room, after: start.cursor }),
      subscribe((result) => {
        if (result.error) throw result.error;
        received.push(dataN(result.data?.messages));
      }),
    );
    cleanups.push(unsubscribe);
    await publishThroughDrops(room, 60, upgraded, 3);
    await expectExactlyOnce(received, 60);
  });

  it('Apollo GraphQLWsLink over @roomcast/client: every message once, in order', async () => {
    const room = 'auto-apollo';
    const start = await publish(room, 0);
    const apollo = new ApolloClient({
      cache: new InMemoryCache({ possibleTypes: { RoomEvent: ['Message', 'HistoryGap'] } }),
      link: ApolloLink.split(
        (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
        new GraphQLWsLink(roomcastClient()),
        new HttpLink({ uri: server.url }),
      ),
    });
    cleanups.push(() => apollo.stop());
    const received: number[] = [];
    const subscription = apollo.subscribe({ query: RoomMessagesDocument, variables: { room, after: start.cursor } }).subscribe({
      next: (result) => received.push(dataN(result.data?.messages)),
    });
    cleanups.push(() => subscription.unsubscribe());
    await publishThroughDrops(room, 60, upgraded, 3);
    await expectExactlyOnce(received, 60);
  });

  it('reports a HistoryGap to onGap and delivers it', async () => {
    const room = 'auto-gap';
    const small = await startTestServer({ HISTORY_SIZE: '3' });
    cleanups.push(() => small.close());
    const first = (await postGraphQL(small.url, PublishDocument, { room, event: 'e', data: 0 })).body.data!.publish;
    for (let n = 1; n <= 5; n++) await postGraphQL(small.url, PublishDocument, { room, event: 'e', data: n });
    const gaps: HistoryGapInfo[] = [];
    const client = createRoomcastClient({ url: small.wsUrl, webSocketImpl: WebSocket, onGap: (gap) => gaps.push(gap) });
    cleanups.push(() => client.dispose());
    const events: unknown[] = [];
    cleanups.push(
      client.subscribe(
        { query: print(RoomMessagesDocument), variables: { room, after: first.cursor } },
        { next: (r) => events.push(r.data?.messages), error: () => {}, complete: () => {} },
      ),
    );
    await waitFor('the gap and the held messages', () => events.length >= 4);
    expect(gaps).toEqual([{ room, after: first.cursor, missed: 2 }]);
    expect(events[0]).toMatchObject({ __typename: 'HistoryGap', missed: 2 });
  });
});

describe('SSE resume with Last-Event-ID', () => {
  it('an EventSource that reconnects by itself misses nothing and repeats nothing', async () => {
    const room = 'auto-sse';
    const start = await publish(room, 0);
    const url = new URL(server.url);
    url.searchParams.set('query', print(RoomMessagesDocument));
    url.searchParams.set('variables', JSON.stringify({ room, after: start.cursor }));
    const received: number[] = [];
    const ids: string[] = [];
    const source = new EventSource(url, {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), accept: 'text/event-stream' } }),
    });
    cleanups.push(() => source.close());
    source.addEventListener('next', (event) => {
      ids.push(event.lastEventId);
      received.push(dataN((JSON.parse(event.data) as { data: { messages: unknown } }).data.messages));
    });
    await waitFor('the event stream to open', () => streaming.size > 0);
    await publishThroughDrops(room, 40, streaming, 3);
    await expectExactlyOnce(received, 40);
    expect(ids.every((id) => id.length > 0)).toBe(true);
  });
});
