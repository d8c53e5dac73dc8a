/**
 * One guarded path: a check added once, as an envelop plugin, holds on every way in. The plugin here
 * refuses every operation on the room "guarded" (FORBIDDEN) in onExecute and onSubscribe, the hooks
 * authorization plugins use; each transport must answer with that refusal and deliver nothing:
 * HTTP's fast path (a plain server-side POST), Yoga's own HTTP path (a browser's POST, a GET), SSE
 * (GET and POST), and the WebSocket with direct delivery on and off.
 */
import { GraphQLError, print } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryDocument, PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, untilLive, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';

const ROOM = 'guarded';
let checks = 0;

/** Refuses operations whose variables name the guarded room, before anything runs. */
function useGuard(): Plugin {
  const refusal = () => ({ errors: [new GraphQLError('refused by the guard', { extensions: { code: 'FORBIDDEN' } })] });
  const guarded = (args: { variableValues?: unknown }) => (args.variableValues as { room?: unknown } | undefined)?.room === ROOM;
  return {
    onExecute({ args, setResultAndStopExecution }) {
      checks++;
      if (guarded(args)) setResultAndStopExecution(refusal());
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      checks++;
      if (guarded(args)) setResultAndStopExecution(refusal());
    },
  };
}

const servers: Record<'on' | 'off', TestServer> = {} as never;
beforeAll(async () => {
  servers.on = await startTestServer({ DIRECT_DELIVERY: 'on' }, { plugins: [useGuard()] });
  servers.off = await startTestServer({ DIRECT_DELIVERY: 'off' }, { plugins: [useGuard()] });
});
afterAll(async () => {
  await servers.on?.close();
  await servers.off?.close();
});

const history = { query: print(HistoryDocument), variables: { room: ROOM } };
const codes = (body: { errors?: { extensions?: { code?: unknown } }[] }) => body.errors?.map((error) => error.extensions?.code);

describe('HTTP', () => {
  it.each([
    ['the fast path (plain server-side POST)', { 'content-type': 'application/json', accept: 'application/json' }],
    [
      "Yoga's path (a browser's POST, with Origin)",
      { 'content-type': 'application/json', accept: 'application/json', origin: 'http://app.example' },
    ],
  ])('%s', async (_way, headers) => {
    const before = checks;
    const response = await fetch(servers.on.url, { method: 'POST', headers, body: JSON.stringify(history) });
    const body = (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
    expect(codes(body)).toEqual(['FORBIDDEN']);
    expect(body.data ?? null).toBeNull();
    expect(checks).toBeGreaterThan(before);
  });

  it('a GET query', async () => {
    const url = new URL(servers.on.url);
    url.searchParams.set('query', history.query);
    url.searchParams.set('variables', JSON.stringify(history.variables));
    const body = (await (await fetch(url, { headers: { accept: 'application/json' } })).json()) as {
      errors?: { extensions?: { code?: unknown } }[];
    };
    expect(codes(body)).toEqual(['FORBIDDEN']);
  });
});

describe('SSE', () => {
  it('GET (EventSource)', async () => {
    const url = new URL(servers.on.url);
    url.searchParams.set('query', print(RoomMessagesDocument));
    url.searchParams.set('variables', JSON.stringify({ room: ROOM }));
    const text = await (await fetch(url, { headers: { accept: 'text/event-stream' } })).text();
    expect(text).toContain('"FORBIDDEN"');
    expect(text).not.toContain('"Message"');
  });

  it('POST (graphql-sse distinct connections)', async () => {
    const response = await fetch(servers.on.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: print(RoomMessagesDocument), variables: { room: ROOM } }),
    });
    const text = await response.text();
    expect(text).toContain('"FORBIDDEN"');
    expect(text).not.toContain('"Message"');
  });
});

describe.each(['on', 'off'] as const)('WebSocket, DIRECT_DELIVERY=%s', (mode) => {
  it('a subscription', async () => {
    const client = wsClient(servers[mode].wsUrl);
    const stream = subscribeWs(client, RoomMessagesDocument, { room: ROOM });
    const first = await stream.next();
    await stream.ended();
    await client.dispose();
    expect(codes(first as never)).toEqual(['FORBIDDEN']);
  });

  it('a query', async () => {
    const client = wsClient(servers[mode].wsUrl);
    const stream = subscribeWs(client, HistoryDocument, { room: ROOM });
    const first = await stream.next();
    await client.dispose();
    expect(codes(first as never)).toEqual(['FORBIDDEN']);
  });

  it('a subscription of another room still works (the guard refuses only what it must)', async () => {
    const client = wsClient(servers[mode].wsUrl);
    const stream = subscribeWs(client, RoomMessagesDocument, { room: 'open' });
    const probe = async () =>
      (await postGraphQL(servers[mode].url, PublishDocument, { room: 'open', event: 'e', data: 1 })).body.data!.publish;
    const seq = await untilLive(stream, (result) => (result.data?.messages as { seq?: number } | undefined)?.seq ?? 0, probe);
    await client.dispose();
    expect(seq).toBeGreaterThan(0);
  });
});
