/**
 * Real client libraries against a real Roomcast server (in-process, memory broker): urql and Apollo
 * Client 4, each sending mutations over HTTP and subscriptions over graphql-ws, with the typed
 * documents generated from test/operations.
 */
import { randomUUID } from 'node:crypto';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  CombinedError,
  createClient as createUrqlClient,
  fetchExchange,
  subscriptionExchange,
  type AnyVariables,
  type Client as UrqlClient,
  type OperationResult,
} from '@urql/core';
import { OperationTypeNode } from 'graphql';
import type { Client as WsClient } from 'graphql-ws';
import { onEnd, pipe, subscribe } from 'wonka';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import {
  BroadcastDocument,
  BroadcastsDocument,
  PublishDocument,
  RoomMessagesDocument,
  type PublishMutation,
  type RoomMessagesSubscription,
} from '../generated/graphql.js';
import { Stream, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

/** Everything a test opened, closed after it whatever its outcome. */
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const uniqueRoom = (label: string) => `${label}-${randomUUID()}`;

type Published = PublishMutation['publish'];

/**
 * A graphql-ws client closed after the test. graphql-ws does not acknowledge subscriptions, so the
 * live tests subscribe after the cursor of a first message: whatever is published next is delivered,
 * however long the server takes to accept the subscription.
 */
function socketClient(url: string): WsClient {
  const ws = wsClient(url);
  cleanups.push(() => ws.dispose());
  return ws;
}

/** What a subscriber should receive for a published message. */
const asEvent = (message: Published) => ({ ...message, __typename: 'Message' as const });

// ---------------------------------------------------------------------------------------------
// urql
// ---------------------------------------------------------------------------------------------

function urqlClient(url: string, ws: WsClient): UrqlClient {
  return createUrqlClient({
    url,
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => {
          const input = { ...request, query: request.query ?? '' };
          return { subscribe: (sink) => ({ unsubscribe: ws.subscribe(input, sink) }) };
        },
      }),
    ],
  });
}

function urqlSubscribe<Data, Variables extends AnyVariables>(
  client: UrqlClient,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Stream<OperationResult<Data, Variables>> {
  const stream = new Stream<OperationResult<Data, Variables>>();
  const { unsubscribe } = pipe(
    client.subscription(document, variables),
    onEnd(() => stream.complete()),
    subscribe((result) => stream.push(result)),
  );
  stream.dispose = unsubscribe;
  cleanups.push(() => stream.dispose());
  return stream;
}

async function urqlPublish(client: UrqlClient, room: string, n: number): Promise<Published> {
  const result = await client.mutation(PublishDocument, { room, event: 'chat', data: { text: `hello ${n}`, n } }).toPromise();
  expect(result.error).toBeUndefined();
  return result.data!.publish;
}

/** The message carried by one subscription result, after checking the result has no error. */
function urqlMessage(result: OperationResult<RoomMessagesSubscription>) {
  expect(result.error).toBeUndefined();
  return result.data?.messages;
}

describe('urql (fetchExchange + subscriptionExchange over graphql-ws)', () => {
  it('delivers messages published over HTTP to a WebSocket subscriber in order, each once', async () => {
    const ws = socketClient(server.wsUrl);
    const client = urqlClient(server.url, ws);
    const room = uniqueRoom('urql-live');

    const start = await urqlPublish(client, room, 0);
    const stream = urqlSubscribe(client, RoomMessagesDocument, { room, after: start.cursor });

    const published: Published[] = [];
    for (const n of [1, 2, 3]) published.push(await urqlPublish(client, room, n));
    expect(published.map((m) => m.seq)).toEqual([2, 3, 4]);

    const received = (await stream.take(3)).map(urqlMessage);
    expect(received.map((m) => m?.__typename === 'Message' && m.seq)).toEqual([2, 3, 4]);
    received.forEach((message, i) => {
      expect(message).toMatchObject({
        __typename: 'Message',
        room,
        seq: i + 2,
        event: 'chat',
        data: { text: `hello ${i + 1}`, n: i + 1 },
        cursor: expect.any(String),
        publishedAt: expect.any(String),
      });
      expect(message).toEqual(asEvent(published[i]!));
    });

    // Delivery is ordered, so if 4 is next nothing was delivered twice.
    const fourth = await urqlPublish(client, room, 4);
    expect(urqlMessage(await stream.next())).toEqual(asEvent(fourth));
  });

  it('reports a bad room id as a CombinedError with extensions.code BAD_USER_INPUT', async () => {
    const ws = socketClient(server.wsUrl);
    const client = urqlClient(server.url, ws);

    const result = await client.mutation(PublishDocument, { room: 'bad room!', event: 'chat', data: { text: 'x' } }).toPromise();
    expect(result.data ?? null).toBeNull();
    expect(result.error).toBeInstanceOf(CombinedError);
    expect(result.error?.networkError).toBeUndefined();
    expect(result.error?.graphQLErrors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(result.error?.graphQLErrors[0]?.message).toMatch(/room must be/);

    // The same over the WebSocket: the subscription ends with the error.
    const stream = urqlSubscribe(client, RoomMessagesDocument, { room: 'bad room!' });
    const failed = await stream.next();
    expect(failed.error).toBeInstanceOf(CombinedError);
    expect(failed.error?.graphQLErrors[0]?.extensions.code).toBe('BAD_USER_INPUT');
    await stream.ended();
  });

  it('resumes after a cursor: replays 2 and 3, then continues live with 4', async () => {
    const ws = socketClient(server.wsUrl);
    const client = urqlClient(server.url, ws);
    const room = uniqueRoom('urql-resume');
    const published: Published[] = [];
    for (const n of [1, 2, 3]) published.push(await urqlPublish(client, room, n));

    const stream = urqlSubscribe(client, RoomMessagesDocument, { room, after: published[0]!.cursor });
    const replayed = (await stream.take(2)).map(urqlMessage);
    expect(replayed).toEqual([asEvent(published[1]!), asEvent(published[2]!)]);

    // The replay is queued only once the subscription is live, so 4 cannot be missed.
    const fourth = await urqlPublish(client, room, 4);
    expect(fourth.seq).toBe(4);
    expect(urqlMessage(await stream.next())).toEqual(asEvent(fourth));
  });
});

// ---------------------------------------------------------------------------------------------
// Apollo Client 4
// ---------------------------------------------------------------------------------------------

function apolloClient(url: string, ws: WsClient): ApolloClient {
  const client = new ApolloClient({
    // Without possibleTypes Apollo cannot match the `RoomEventFields` fragment (on the RoomEvent union)
    // against Message: it warns and returns every subscription event as `{ __typename }` alone.
    cache: new InMemoryCache({ possibleTypes: { RoomEvent: ['Message', 'HistoryGap'] } }),
    link: ApolloLink.split(
      (operation) => operation.operationType === OperationTypeNode.SUBSCRIPTION,
      new GraphQLWsLink(ws),
      new HttpLink({ uri: url }),
    ),
  });
  cleanups.push(() => client.stop());
  return client;
}

function apolloSubscribe<Data, Variables extends Record<string, unknown>>(
  client: ApolloClient,
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Stream<ApolloClient.SubscribeResult<Data>> {
  const stream = new Stream<ApolloClient.SubscribeResult<Data>>();
  const subscription = client.subscribe({ query: document, variables }).subscribe({
    next: (result) => stream.push(result),
    error: (error: unknown) => stream.fail(error),
    complete: () => stream.complete(),
  });
  stream.dispose = () => subscription.unsubscribe();
  cleanups.push(() => stream.dispose());
  return stream;
}

async function apolloPublish(client: ApolloClient, room: string, n: number): Promise<Published> {
  const result = await client.mutate({
    mutation: PublishDocument,
    variables: { room, event: 'score', data: { points: n * 10, tags: ['a', n] } },
  });
  expect(result.error).toBeUndefined();
  return result.data!.publish;
}

function apolloMessage<Data>(result: ApolloClient.SubscribeResult<Data>): Data | undefined {
  expect(result.error).toBeUndefined();
  return result.data;
}

describe('Apollo Client 4 (HttpLink + GraphQLWsLink)', () => {
  // Apollo reports cache and fragment-matching problems only as console warnings: make them fail the test.
  let consoleSpies: MockInstance[] = [];
  beforeEach(() => {
    consoleSpies = [vi.spyOn(console, 'warn'), vi.spyOn(console, 'error')];
  });
  afterEach(() => {
    const calls = consoleSpies.flatMap((spy) => spy.mock.calls);
    for (const spy of consoleSpies) spy.mockRestore();
    expect(calls).toEqual([]);
  });

  it('delivers messages published over HTTP to a WebSocket subscriber in order, each once', async () => {
    const ws = socketClient(server.wsUrl);
    const client = apolloClient(server.url, ws);
    const room = uniqueRoom('apollo-live');

    const start = await apolloPublish(client, room, 0);
    const stream = apolloSubscribe(client, RoomMessagesDocument, { room, after: start.cursor });

    const published: Published[] = [];
    for (const n of [1, 2, 3]) published.push(await apolloPublish(client, room, n));
    expect(published.map((m) => m.seq)).toEqual([2, 3, 4]);

    const received = (await stream.take(3)).map((result) => apolloMessage(result)?.messages);
    received.forEach((message, i) => {
      expect(message).toMatchObject({
        __typename: 'Message',
        room,
        seq: i + 2,
        event: 'score',
        data: { points: (i + 1) * 10, tags: ['a', i + 1] },
        cursor: expect.any(String),
      });
      expect(message).toEqual(asEvent(published[i]!));
    });

    const fourth = await apolloPublish(client, room, 4);
    expect(apolloMessage(await stream.next())?.messages).toEqual(asEvent(fourth));
  });

  it('rejects a bad-input mutation with CombinedGraphQLErrors carrying extensions.code BAD_USER_INPUT', async () => {
    const ws = socketClient(server.wsUrl);
    const client = apolloClient(server.url, ws);

    const error = await client.mutate({ mutation: PublishDocument, variables: { room: 'bad room!', event: 'score', data: 1 } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    const { errors } = error as CombinedGraphQLErrors;
    expect(errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(errors[0]?.message).toMatch(/room must be/);
  });

  it('delivers a broadcast mutation to a broadcasts subscriber', async () => {
    const ws = socketClient(server.wsUrl);
    const client = apolloClient(server.url, ws);

    const first = await client.mutate({ mutation: BroadcastDocument, variables: { event: 'announcement', data: 0 } });
    const stream = apolloSubscribe(client, BroadcastsDocument, { after: first.data!.broadcast.cursor });

    const result = await client.mutate({
      mutation: BroadcastDocument,
      variables: { event: 'announcement', data: { text: 'maintenance at noon' } },
    });
    expect(result.error).toBeUndefined();
    const sent = result.data!.broadcast;
    expect(sent).toMatchObject({ room: '*', event: 'announcement', data: { text: 'maintenance at noon' } });

    expect(apolloMessage(await stream.next())?.broadcasts).toEqual({ ...sent, __typename: 'Message' });
  });
});
