/**
 * README's Errors table, row by row, as clients meet it: over HTTP with exactly the headers curl sends
 * (no Accept, the wildcard, `--json`, `-d` without a content-type), each with a Content-Length and chunked;
 * over the WebSocket with the graphql-ws client, where errors carry no HTTP detail.
 */
import { request } from 'node:http';
import { GraphQLError, print } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, RoomcastError } from '../../src/errors.js';
import { asGraphQLError } from '../../src/graphql/errors.js';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, untilLive, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';

interface Answer {
  status: number;
  contentType: string | undefined;
  text: string;
  body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

// A POST as curl sends it: Host, User-Agent, `Accept: */*` unless given otherwise, and the body.
function curl(url: string, body: string, headers: Record<string, string | undefined>, chunked: boolean): Promise<Answer> {
  const target = new URL(url);
  const sent: Record<string, string> = { 'user-agent': 'curl/8.5.0', accept: '*/*' };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete sent[name];
    else sent[name] = value;
  }
  if (chunked) sent['transfer-encoding'] = 'chunked';
  else sent['content-length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: sent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({
          status: res.statusCode ?? 0,
          contentType: res.headers['content-type'],
          text,
          body: text ? (JSON.parse(text) as Answer['body']) : {},
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The same request with a Content-Length (read whole by the listener) and chunked (Yoga's Node adapter): one answer. */
async function curlBothWays(url: string, body: string, headers: Record<string, string | undefined> = {}): Promise<Answer> {
  const [whole, chunked] = await Promise.all([curl(url, body, headers, false), curl(url, body, headers, true)]);
  expect(chunked.status).toBe(whole.status);
  expect(chunked.contentType).toBe(whole.contentType);
  expect(chunked.text).toBe(whole.text);
  return whole;
}

const json = { 'content-type': 'application/json' };
const GRAPHQL_RESPONSE_JSON = 'application/graphql-response+json; charset=utf-8';
const APPLICATION_JSON = 'application/json; charset=utf-8';
const publishWith = (data: string) => JSON.stringify({ query: `mutation { publish(room: "r", event: "e", data: ${data}) { seq } }` });
const publishVariable = (variables?: Record<string, unknown>) =>
  JSON.stringify({ query: 'mutation($d: JSON!) { publish(room: "r", event: "e", data: $d) { seq } }', variables });

describe('request errors over HTTP, as curl sends requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it.each([
    ['Accept: */*', { accept: '*/*' }],
    ['no Accept', { accept: undefined }],
  ])('should answer a validation or parse error with 400 and application/graphql-response+json, for %s', async (_name, accept) => {
    const invalid = await curlBothWays(server.url, '{"query":"{ nope }"}', { ...json, ...accept });
    expect([invalid.status, invalid.contentType]).toEqual([400, GRAPHQL_RESPONSE_JSON]);
    expect(invalid.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const unparsable = await curlBothWays(server.url, '{"query":"{ nope "}', { ...json, ...accept });
    expect([unparsable.status, unparsable.contentType]).toEqual([400, GRAPHQL_RESPONSE_JSON]);
    expect(unparsable.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    // A success is a 200 of the same media type.
    const ok = await curlBothWays(server.url, '{"query":"{ __typename }"}', { ...json, ...accept });
    expect([ok.status, ok.contentType, ok.body]).toEqual([200, GRAPHQL_RESPONSE_JSON, { data: { __typename: 'Query' } }]);
  });

  it('should answer a validation error with 200 to a client that accepts only application/json (curl --json)', async () => {
    const answer = await curlBothWays(server.url, '{"query":"{ nope }"}', { ...json, accept: 'application/json' });
    expect([answer.status, answer.contentType]).toEqual([200, APPLICATION_JSON]);
    expect(answer.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it.each([
    ["curl -d's default, application/x-www-form-urlencoded", 'application/x-www-form-urlencoded', 'got application/x-www-form-urlencoded'],
    ['no content-type', undefined, 'none was sent'],
    ['text/plain', 'text/plain', 'got text/plain'],
    ['a multipart form', 'multipart/form-data; boundary=x', 'got multipart/form-data; boundary=x'],
  ])('should refuse a body sent as %s with 415 UNSUPPORTED_MEDIA_TYPE', async (_name, contentType, got) => {
    const answer = await curlBothWays(server.url, '{"query":"{ __typename }"}', { 'content-type': contentType });
    expect([answer.status, answer.contentType]).toEqual([415, GRAPHQL_RESPONSE_JSON]);
    expect(answer.body).toEqual({
      errors: [
        {
          message: `POST body must be JSON sent with content-type: application/json (${got})`,
          extensions: { code: 'UNSUPPORTED_MEDIA_TYPE' },
        },
      ],
    });
    // Even for a client that accepts only application/json: the request is not GraphQL over HTTP.
    expect((await curlBothWays(server.url, '{}', { 'content-type': contentType, accept: 'application/json' })).status).toBe(415);
  });

  it.each([
    ['hello', `Unexpected token 'h', "hello" is not valid JSON`],
    ['{"query":', 'Unexpected end of JSON input'],
  ])('should answer a body that is not JSON (%s) with 400 BAD_REQUEST and the parser reason once', async (text, reason) => {
    for (const accept of ['*/*', 'application/json']) {
      const answer = await curlBothWays(server.url, text, { ...json, accept });
      expect(answer.status).toBe(400);
      expect(answer.body).toEqual({
        errors: [{ message: `Request body is not valid JSON: ${reason}`, extensions: { code: 'BAD_REQUEST' } }],
      });
    }
  });

  it.each([
    ['a missing variable', publishVariable(), 'Variable "$d" of required type "JSON!" was not provided.'],
    ['a null variable', publishVariable({ d: null }), 'Variable "$d" of non-null type "JSON!" must not be null.'],
    [
      'a wrongly typed variable',
      JSON.stringify({ query: 'query($l: Int) { history(room: "r", limit: $l) { seq } }', variables: { l: 'x' } }),
      'Variable "$l" got invalid value "x"; Int cannot represent non-integer value: "x"',
    ],
  ])('should answer %s with BAD_USER_INPUT: 400, or 200 for application/json', async (_name, text, message) => {
    const answer = await curlBothWays(server.url, text, json);
    expect([answer.status, answer.body.errors?.[0]?.message, answer.body.errors?.[0]?.extensions]).toEqual([
      400,
      message,
      { code: 'BAD_USER_INPUT' },
    ]);
    const legacy = await curlBothWays(server.url, text, { ...json, accept: 'application/json' });
    expect([legacy.status, legacy.body.errors?.[0]?.extensions?.code]).toEqual([200, 'BAD_USER_INPUT']);
  });

  it('should answer an operation it cannot pick with 400 OPERATION_RESOLUTION_FAILURE, for application/json too', async () => {
    for (const text of [
      '{"query":"query A { __typename } query B { __typename }"}',
      '{"query":"query A { __typename }","operationName":"C"}',
    ]) {
      for (const accept of ['*/*', 'application/json']) {
        const answer = await curlBothWays(server.url, text, { ...json, accept });
        expect([answer.status, answer.body.errors?.[0]?.extensions?.code]).toEqual([400, 'OPERATION_RESOLUTION_FAILURE']);
      }
    }
  });

  it('should answer a missing query with 400 BAD_REQUEST, or 200 for application/json', async () => {
    const answer = await curlBothWays(server.url, '{"variables":{}}', json);
    expect([answer.status, answer.body]).toEqual([
      400,
      { errors: [{ message: 'Must provide query string.', extensions: { code: 'BAD_REQUEST' } }] },
    ]);
    expect((await curlBothWays(server.url, '{"variables":{}}', { ...json, accept: 'application/json' })).status).toBe(200);
  });

  it.each(['variables', 'extensions'])(
    'should answer a GET whose %s are not JSON with 400 BAD_REQUEST, for event streams too',
    async (name) => {
      for (const accept of ['*/*', 'text/event-stream']) {
        const url = new URL(server.url);
        url.searchParams.set('query', '{ __typename }');
        url.searchParams.set(name, '{bad');
        const response = await fetch(url, { headers: { accept } });
        expect(response.status).toBe(400);
        const body = (await response.json()) as Answer['body'];
        expect(body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
        expect(body.errors?.[0]?.message).toMatch(/^variables or extensions in the URL are not valid JSON/);
      }
    },
  );

  it('should refuse data: null as a validation error (Message.data is JSON!)', async () => {
    const answer = await curlBothWays(server.url, publishWith('null'), json);
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]).toMatchObject({
      message: 'Expected value of type "JSON!", found null.',
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    });
    // null inside a value is data like any other.
    const nested = await curlBothWays(
      server.url,
      JSON.stringify({
        query: 'mutation($d: JSON!) { publish(room: "nulls", event: "e", data: $d) { data } }',
        variables: { d: { n: null } },
      }),
      json,
    );
    expect(nested.body).toEqual({ data: { publish: { data: { n: null } } } });
  });
});

describe.each(['on', 'off'])('errors over the WebSocket carry no extensions.http (DIRECT_DELIVERY=%s)', (directDelivery) => {
  let server: TestServer;
  const clients: Client[] = [];
  const connect = () => {
    const client = wsClient(server.wsUrl);
    clients.push(client);
    return client;
  };
  beforeAll(async () => {
    server = await startTestServer({ DIRECT_DELIVERY: directDelivery, MAX_PAYLOAD_BYTES: '100', MAX_SUBSCRIPTIONS_PER_CONNECTION: '2' });
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.dispose();
  });
  afterAll(async () => {
    await server.close();
  });

  type Errors = { message: string; extensions?: Record<string, unknown> }[] | undefined;
  /** The errors of a `next` result, or of an `error` message. */
  async function errorsOf(client: Client, query: string, variables: Record<string, unknown> = {}): Promise<Errors> {
    return new Promise((resolve, reject) => {
      client.subscribe(
        { query, variables },
        {
          next: (result) => resolve(result.errors as Errors),
          error: (error) => (Array.isArray(error) ? resolve(error as Errors) : reject(error as Error)),
          complete: () => {},
        },
      );
    });
  }

  it('should send parse, validation, variable and input errors with their code only', async () => {
    const client = connect();
    const cases: [string, Record<string, unknown>, string][] = [
      ['{ nope }', {}, 'GRAPHQL_VALIDATION_FAILED'],
      ['{ nope ', {}, 'GRAPHQL_PARSE_FAILED'],
      ['mutation { publish(room: "r", event: "e", data: null) { seq } }', {}, 'GRAPHQL_VALIDATION_FAILED'],
      [print(PublishDocument), { room: 'r', event: 'e' }, 'BAD_USER_INPUT'],
      [print(RoomMessagesDocument), {}, 'BAD_USER_INPUT'],
      [print(RoomMessagesDocument), { room: 'no spaces' }, 'BAD_USER_INPUT'],
      [print(PublishDocument), { room: 'r', event: 'e', data: 'x'.repeat(200) }, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [query, variables, code] of cases) {
      const errors = await errorsOf(client, query, variables);
      expect(errors?.[0]?.extensions, query).toEqual({ code });
    }
  });

  it('should send TOO_MANY_SUBSCRIPTIONS without an HTTP status', async () => {
    const client = connect();
    const seqOf = (result: { data?: { messages: unknown } | null }) => (result.data?.messages as { seq: number }).seq;
    const probe = () => postGraphQL(server.url, PublishDocument, { room: 'busy', event: 'e', data: 1 }).then((r) => r.body.data!.publish);
    const live = [subscribeWs(client, RoomMessagesDocument, { room: 'busy' }), subscribeWs(client, RoomMessagesDocument, { room: 'busy' })];
    for (const stream of live) await untilLive(stream, seqOf, probe);
    const errors = await errorsOf(client, print(RoomMessagesDocument), { room: 'other' });
    expect(errors?.[0]?.extensions).toEqual({ code: 'TOO_MANY_SUBSCRIPTIONS' });
    for (const stream of live) stream.dispose();
  });
});

describe('RoomcastError', () => {
  it('should hold its HTTP status for Yoga without serializing it, as the GraphQL error made of it', () => {
    const error = new RoomcastError(ErrorCode.PAYLOAD_TOO_LARGE, 'too large');
    expect(error).not.toBeInstanceOf(GraphQLError);
    expect((error.extensions.http as { status: number }).status).toBe(413);
    const graphql = asGraphQLError(error);
    expect((graphql.extensions.http as { status: number }).status).toBe(413);
    expect(JSON.parse(JSON.stringify(graphql))).toEqual({ message: 'too large', extensions: { code: 'PAYLOAD_TOO_LARGE' } });
  });
});
