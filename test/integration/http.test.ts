/**
 * The HTTP transport with fetch: queries and mutations, server-sent events, GraphiQL, health and
 * readiness, and every bad input with its code and status.
 */
import { buildClientSchema, buildSchema, getIntrospectionQuery, print, printSchema, type IntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HistoryDocument, PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeSse, untilLive } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { freePort } from '../helpers/free-port.js';
import { within } from '../helpers/wait.js';

let server: TestServer;
let counter = 0;
const uniqueRoom = () => `http-${counter++}`;

beforeAll(async () => {
  server = await startTestServer({ MAX_PAYLOAD_BYTES: '1000', HTTP_MAX_BODY_BYTES: '4096' });
});
afterAll(async () => {
  await server.close();
});

const publish = (room: string, n: number) =>
  postGraphQL(server.url, PublishDocument, { room, event: 'tick', data: { n } }).then((r) => r.body.data!.publish);

describe('HTTP', () => {
  it('should publish with POST and read history with GET', async () => {
    const room = uniqueRoom();
    const { status, body } = await postGraphQL(server.url, PublishDocument, { room, event: 'chat', data: { text: 'hi' } });
    expect(status).toBe(200);
    expect(body.data?.publish).toMatchObject({ room, seq: 1, event: 'chat', data: { text: 'hi' } });
    expect(new Date(body.data!.publish.publishedAt).toISOString()).toBe(body.data!.publish.publishedAt);
    await publish(room, 2);
    const url = new URL(server.url);
    url.searchParams.set('query', `{ history(room: "${room}", limit: 5) { seq data } }`);
    const response = await fetch(url, { headers: { accept: 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      data: {
        history: [
          { seq: 1, data: { text: 'hi' } },
          { seq: 2, data: { n: 2 } },
        ],
      },
    });
    const after = await postGraphQL(server.url, HistoryDocument, { room, after: body.data!.publish.cursor });
    expect(after.body.data?.history.map((m) => m.seq)).toEqual([2]);
  });

  it('should stream a subscription over server-sent events, and resume it with after', async () => {
    const room = uniqueRoom();
    const stream = subscribeSse(server.url, RoomMessagesDocument, { room });
    const response = await stream.opened;
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const seqOf = (e: { data?: { messages: unknown } | null }) => (e.data?.messages as { seq: number }).seq;
    const live = await untilLive(stream, seqOf, () => publish(room, 0));
    const sent = await publish(room, 1);
    expect((await stream.next()).data?.messages).toMatchObject({ __typename: 'Message', seq: live + 1, data: { n: 1 } });
    stream.dispose();
    await publish(room, 2);
    const resumed = subscribeSse(server.url, RoomMessagesDocument, { room, after: sent.cursor });
    expect((await resumed.next()).data?.messages).toMatchObject({ seq: live + 2, data: { n: 2 } });
    resumed.dispose();
  });

  it.each([
    ['a bad room id', `mutation { publish(room: "a b", event: "e", data: 1) { seq } }`, 'BAD_USER_INPUT', 400],
    ['an empty room id', `mutation { publish(room: "", event: "e", data: 1) { seq } }`, 'BAD_USER_INPUT', 400],
    ['a too long event name', `mutation { publish(room: "r", event: "${'e'.repeat(65)}", data: 1) { seq } }`, 'BAD_USER_INPUT', 400],
    ['a bad broadcast event', `mutation { broadcast(event: "é", data: 1) { seq } }`, 'BAD_USER_INPUT', 400],
    ['too large data', `mutation { publish(room: "r", event: "e", data: "${'x'.repeat(1000)}") { seq } }`, 'PAYLOAD_TOO_LARGE', 413],
    ['a limit of 0', `{ history(room: "r", limit: 0) { seq } }`, 'BAD_USER_INPUT', 400],
    ['a limit of 1001', `{ history(room: "r", limit: 1001) { seq } }`, 'BAD_USER_INPUT', 400],
    ['a malformed cursor', `{ history(room: "r", after: "abc") { seq } }`, 'BAD_USER_INPUT', 400],
  ])('should answer %s with its code', async (_name, query, code, status) => {
    const response = await postGraphQL(server.url, query);
    expect(response.status).toBe(status);
    expect(response.body.errors?.[0]?.extensions?.code).toBe(code);
    // ...and keep serving.
    expect((await publish(uniqueRoom(), 1)).seq).toBe(1);
  });

  it.each([
    ['with a Content-Length (read whole)', false],
    ['chunked', true],
  ])("should stream a subscription POSTed with curl's Accept */*, %s, instead of holding the answer", async (_way, chunked) => {
    const room = uniqueRoom();
    const start = await publish(room, 0);
    const controller = new AbortController();
    const text = JSON.stringify({ query: print(RoomMessagesDocument), variables: { room, after: start.cursor } });
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: '*/*' },
      ...(chunked ? { body: new Blob([text]).stream(), duplex: 'half' } : { body: text }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    await publish(room, 1);
    const reader = response.body!.getReader();
    let received = '';
    while (!received.includes('"seq":2')) received += new TextDecoder().decode((await within(reader.read(), 5_000, 'an event')).value);
    controller.abort();
  });

  it.each([
    ['a variable missing', 'subscription($r: ID!) { messages(room: $r) { __typename } }', 'BAD_USER_INPUT'],
    ['an unknown field', 'subscription { messages(room: "a") { nope } }', 'GRAPHQL_VALIDATION_FAILED'],
    ['a bad room id', 'subscription { messages(room: "a b") { __typename } }', 'BAD_USER_INPUT'],
    ['a syntax error', 'subscription {', 'GRAPHQL_PARSE_FAILED'],
  ])(
    'should answer an event stream that cannot start (%s) with a 400, not a 200 stream an EventSource would reopen',
    async (_name, query, code) => {
      const url = new URL(server.url);
      url.searchParams.set('query', query);
      const response = await fetch(url, { headers: { accept: 'text/event-stream' } });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe(code);
    },
  );

  it('should refuse a cursor of another room', async () => {
    const cursor = (await publish(uniqueRoom(), 1)).cursor;
    const response = await postGraphQL(server.url, HistoryDocument, { room: uniqueRoom(), after: cursor });
    expect(response.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(response.body.errors?.[0]?.message).toContain('another room');
  });

  it('should serve GraphiQL with no external assets, set up for subscriptions over WebSocket', async () => {
    const response = await fetch(server.url, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('GraphiQL');
    expect(html).not.toMatch(/<script[^>]+src=["']?https?:/i);
    expect(html).not.toMatch(/<link[^>]+href=["']?https?:/i);
    expect(html).toContain('"subscriptionsProtocol":"WS"');
  });

  // A body with a Content-Length is read whole and handed to Yoga (transports/node-http.ts); a
  // chunked one streams through Yoga's Node adapter. Clients must not be able to tell them apart.
  const post = (text: string, chunked: boolean, headers: Record<string, string> = {}) =>
    fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      ...(chunked ? { body: new Blob([text]).stream(), duplex: 'half' } : { body: text }),
    });

  const missingVariable = JSON.stringify({ query: 'mutation($d: JSON!) { publish(room: "same", event: "e", data: $d) { seq } }' });

  it.each([
    ['a publish', JSON.stringify({ query: 'mutation { publish(room: "same", event: "e", data: 1) { room event data } }' }), {}, 200],
    ['invalid JSON', '{"query":', {}, 400],
    ['a body that is not an object', '[1]', {}, 400],
    [
      'a query with variables, an operation name and extensions',
      JSON.stringify({
        query: 'query H($r: ID!) { history(room: $r) { seq } }',
        variables: { r: 'same' },
        operationName: 'H',
        extensions: {},
      }),
      {},
      200,
    ],
    ['an unexpected parameter', '{"query":"{ __typename }","foo":1}', {}, 400],
    ['a batch', '[{"query":"{ __typename }"}]', {}, 400],
    ['a subscription', '{"query":"subscription { messages(room: \\"same\\") { __typename } }"}', { accept: 'application/json' }, 406],
    ['an unknown field, for application/json', '{"query":"{ nope }"}', { accept: 'application/json' }, 200],
    ['an unknown field, from a browser origin', '{"query":"{ nope }"}', { origin: 'http://app.test' }, 400],
    [
      'an unknown field, for application/graphql-response+json',
      '{"query":"{ nope }"}',
      { accept: 'application/graphql-response+json' },
      400,
    ],
    ['an unknown field, for */*', '{"query":"{ nope }"}', { accept: '*/*' }, 400],
    ['a parse error, for */*', '{"query":"{ nope "}', { accept: '*/*' }, 400],
    ['a missing variable', missingVariable, {}, 400],
    ['a missing variable, for application/json', missingVariable, { accept: 'application/json' }, 200],
    ['data: null', '{"query":"mutation { publish(room: \\"same\\", event: \\"e\\", data: null) { seq } }"}', {}, 400],
    ['a text/plain body', '{"query":"{ __typename }"}', { 'content-type': 'text/plain' }, 415],
    ['a form body (curl -d)', '{"query":"{ __typename }"}', { 'content-type': 'application/x-www-form-urlencoded' }, 415],
  ])('should answer %s the same with a Content-Length as chunked', async (_what, text, headers, status) => {
    const [whole, chunked] = await Promise.all([post(text, false, headers), post(text, true, headers)]);
    expect([whole.status, chunked.status]).toEqual([status, status]);
    expect(await whole.text()).toBe(await chunked.text());
    // Each named by its own request id, on both ways (request-id.ts).
    expect(whole.headers.get('x-request-id')).not.toBe(chunked.headers.get('x-request-id'));
    expect([whole, chunked].map((response) => response.headers.get('x-request-id'))).toEqual([expect.any(String), expect.any(String)]);
    for (const name of ['content-type', 'accept', 'allow', 'access-control-allow-origin', 'access-control-allow-credentials', 'vary']) {
      expect(whole.headers.get(name), name).toBe(chunked.headers.get(name));
    }
  });

  it.each([false, true])('should refuse a body over HTTP_MAX_BODY_BYTES with 413 (chunked: %s), then keep serving', async (chunked) => {
    const response = await post(JSON.stringify({ query: '{ __typename }', padding: 'x'.repeat(5000) }), chunked);
    expect(response.status).toBe(413);
    const body = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    expect((await publish(uniqueRoom(), 1)).seq).toBe(1);
  });

  it('should answer /healthz and /readyz', async () => {
    const base = new URL(server.url).origin;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });
});

describe('HTTP with Redis unreachable', () => {
  it('should fail publish with UNAVAILABLE and 503, quickly, and report not ready', async () => {
    const port = await freePort();
    const broken = await startTestServer({ REDIS_URL: `redis://127.0.0.1:${port}`, BROKER_TIMEOUT_MS: '500' });
    try {
      const started = Date.now();
      const response = await postGraphQL(broken.url, PublishDocument, { room: 'r', event: 'e', data: 1 });
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(response.status).toBe(503);
      expect(response.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
      expect(response.body.data).toBeNull();
      const base = new URL(broken.url).origin;
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});

describe('GET /graphql/schema.graphql', () => {
  it('should serve the SDL of the schema the server runs, as one document', async () => {
    const response = await fetch(new URL('/graphql/schema.graphql', server.url));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const served = buildSchema(await response.text());
    const introspected = (await postGraphQL(server.url, getIntrospectionQuery({ specifiedByUrl: true }))).body.data as IntrospectionQuery;
    expect(printSchema(served)).toBe(printSchema(buildClientSchema(introspected)));
    expect((await fetch(new URL('/graphql/schema.graphql', server.url), { method: 'POST' })).status).toBe(405);
  });
});
