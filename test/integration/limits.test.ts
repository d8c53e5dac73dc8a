/**
 * Operation limits (GraphQL Armor, src/graphql/armor.ts): an operation over each limit is refused
 * over HTTP and over the WebSocket with GRAPHQL_VALIDATION_FAILED and the limit named, the connection
 * and the server keep serving, operations at the limit and the heaviest useful ones pass, and so does
 * GraphiQL's introspection.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getIntrospectionQuery, Lexer, Source, TokenKind, type ExecutionResult, type FormattedExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import {
  MAX_ALIASES,
  MAX_COST,
  MAX_DEPTH,
  MAX_DIRECTIVES,
  MAX_TOKENS,
  OPERATION_LIMIT_CODE,
  type OperationLimit,
} from '../../src/graphql/armor.js';
import { PublishDocument } from '../generated/graphql.js';
import { executeWs, postGraphQL, Stream, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';

let server: TestServer;
let socket: Client;
/** Close codes of `socket` before the test disposed of it: a refusal must not close the connection. */
const closes: number[] = [];
let counter = 0;
const uniqueRoom = () => `limits-${counter++}`;

beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server.close();
});

function tokenCount(query: string): number {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  while (lexer.advance().kind !== TokenKind.EOF) count++;
  return count;
}

const fullMessage = 'cursor room seq event data publishedAt';
const repeat = (count: number, make: (i: number) => string) => Array.from({ length: count }, (_, i) => make(i)).join(' ');

/** `fields { type { ofType { ... { name } } } }` under `__type`: a depth of `depth`, counting `name`. */
const deepIntrospection = (depth: number) => {
  const ofTypes = depth - 4;
  return `{ __type(name: "Message") { fields { type ${'{ ofType '.repeat(ofTypes)}{ name }${' }'.repeat(ofTypes)} } } }`;
};
const aliases = (count: number) => `{ ${repeat(count, (i) => `h${i}: history(room: "r") { seq }`)} }`;
const directives = (count: number) => `{ history(room: "r") { ${repeat(count, () => 'seq @include(if: true)')} } }`;
/**
 * A publish whose `data` is a list literal, padded to exactly `count` tokens (commas are not tokens).
 * Not a selection of many fields: graphql-js itself aborts validating a few hundred identical fields.
 */
const tokens = (count: number) => {
  const around = (items: string) => `mutation { publish(room: "${uniqueRoom()}", event: "e", data: [${items}]) { seq } }`;
  return around(Array.from({ length: count - tokenCount(around('')) }, () => '0').join(', '));
};
/**
 * Twelve identical (merged, so run once) `history` fields under `levels` nested inline fragments: cheap
 * to run, but each level multiplies Armor's cost by 1.5: about 1550 with 6 levels, 2320 with 7.
 */
const costly = (levels: number) =>
  `{ ${'... on Query { '.repeat(levels)}${repeat(12, () => `history(room: "r") { ${fullMessage} }`)}${' }'.repeat(levels)} }`;

interface Refusal {
  limit: OperationLimit;
  /** How the message names the limit and its value. */
  message: RegExp;
  over: string;
  atLimit: string;
}

const refusals: [string, Refusal][] = [
  [
    'depth',
    {
      limit: 'maxDepth',
      message: new RegExp(`depth limit of ${MAX_DEPTH} exceeded, found ${MAX_DEPTH + 1}`),
      over: deepIntrospection(MAX_DEPTH + 1),
      atLimit: deepIntrospection(MAX_DEPTH),
    },
  ],
  [
    'aliases',
    {
      limit: 'maxAliases',
      message: new RegExp(`Aliases limit of ${MAX_ALIASES} exceeded, found ${MAX_ALIASES + 1}`),
      over: aliases(MAX_ALIASES + 1),
      atLimit: aliases(MAX_ALIASES),
    },
  ],
  [
    'directives',
    {
      limit: 'maxDirectives',
      message: new RegExp(`Directives limit of ${MAX_DIRECTIVES} exceeded, found ${MAX_DIRECTIVES + 1}`),
      over: directives(MAX_DIRECTIVES + 1),
      atLimit: directives(MAX_DIRECTIVES),
    },
  ],
  [
    'tokens',
    {
      limit: 'maxTokens',
      message: new RegExp(`Token limit of ${MAX_TOKENS} exceeded`),
      over: tokens(MAX_TOKENS + 1),
      atLimit: tokens(MAX_TOKENS),
    },
  ],
  [
    'cost',
    { limit: 'maxCost', message: new RegExp(`Cost limit of ${MAX_COST} exceeded, found \\d+`), over: costly(7), atLimit: costly(6) },
  ],
];

/** Runs one operation over the socket; resolves with what came back and how it ended. */
type WsResult = FormattedExecutionResult<Record<string, unknown>, unknown>;

async function overWs(client: Client, query: string): Promise<{ results: WsResult[]; error: unknown }> {
  const stream = new Stream<WsResult>();
  stream.dispose = client.subscribe(
    { query },
    { next: (result) => stream.push(result), error: (error) => stream.fail(error), complete: () => stream.complete() },
  );
  await stream.ended();
  return { results: stream.items, error: stream.error };
}

const publishOverHttp = async () => {
  const { status, body } = await postGraphQL(server.url, PublishDocument, { room: uniqueRoom(), event: 'e', data: 1 });
  expect(status).toBe(200);
  expect(body.data?.publish.seq).toBe(1);
};
const publishOverWs = async () => {
  const result = await executeWs(socket, PublishDocument, { room: uniqueRoom(), event: 'e', data: 1 });
  expect(result.errors).toBeUndefined();
  expect(result.data?.publish.seq).toBe(1);
};

describe('operation limits', () => {
  beforeAll(() => {
    socket = wsClient(server.wsUrl, { lazy: false, on: { closed: (event) => closes.push((event as { code: number }).code) } });
  });
  afterEach(() => {
    expect(closes, 'the WebSocket connection must stay open').toEqual([]);
  });
  afterAll(async () => {
    await socket.dispose();
  });

  it('should build test operations that exceed only the limit they are named for', () => {
    expect(tokenCount(tokens(MAX_TOKENS + 1))).toBe(MAX_TOKENS + 1);
    expect(tokenCount(tokens(MAX_TOKENS))).toBe(MAX_TOKENS);
    for (const [, { over, limit }] of refusals) if (limit !== 'maxTokens') expect(tokenCount(over)).toBeLessThan(MAX_TOKENS);
  });

  describe.each(refusals)('%s', (_name, { limit, message, over, atLimit }) => {
    it('should refuse an operation over the limit over HTTP with its code and a 400, then keep serving', async () => {
      const { status, body } = await postGraphQL(server.url, over);
      expect(status).toBe(400);
      expect(body.data).toBeUndefined();
      expect(body.errors).toHaveLength(1);
      expect(body.errors![0]!.message).toMatch(message);
      expect(body.errors![0]!.extensions).toMatchObject({ code: OPERATION_LIMIT_CODE, limit });
      await publishOverHttp();
    });

    it('should refuse it over the WebSocket with its code, without closing the connection', async () => {
      const { results, error } = await overWs(socket, over);
      expect(results).toEqual([]);
      // graphql-ws sends the validation errors as an `error` message, which ends the operation only.
      expect(error).toEqual([expect.objectContaining({ message: expect.stringMatching(message) })]);
      expect((error as { extensions: unknown }[])[0]!.extensions).toMatchObject({ code: OPERATION_LIMIT_CODE, limit });
      await publishOverWs();
    });

    it('should run an operation at (or, for the cost, just under) the limit, over HTTP and over the WebSocket', async () => {
      const http = await postGraphQL(server.url, atLimit);
      expect(http.status).toBe(200);
      expect(http.body.errors).toBeUndefined();
      expect(http.body.data).toBeTruthy();
      const ws = await overWs(socket, atLimit);
      expect(ws.error).toBeUndefined();
      expect(ws.results).toHaveLength(1);
      expect(ws.results[0]!.errors).toBeUndefined();
      expect(ws.results[0]!.data).toBeTruthy();
    });
  });

  it('should report every limit an operation exceeds, each named', async () => {
    const both = `{ ${repeat(MAX_ALIASES + 1, (i) => `h${i}: history(room: "r") { seq @skip(if: false) }`)} }`;
    const { status, body } = await postGraphQL(server.url, both);
    expect(status).toBe(400);
    expect(body.errors?.map((e) => e.extensions?.limit).sort()).toEqual(['maxAliases', 'maxDirectives']);
    expect(body.errors?.every((e) => e.extensions?.code === OPERATION_LIMIT_CODE)).toBe(true);
  });

  it('should answer a refusal with 200 to a client that accepts only application/json, as GraphQL over HTTP asks', async () => {
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: aliases(MAX_ALIASES + 1) }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as ExecutionResult;
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: OPERATION_LIMIT_CODE, limit: 'maxAliases' });
  });

  it('should refuse a GET over the limit as a POST', async () => {
    const url = new URL(server.url);
    url.searchParams.set('query', deepIntrospection(MAX_DEPTH + 1));
    const response = await fetch(url, { headers: { accept: 'application/graphql-response+json' } });
    expect(response.status).toBe(400);
    const body = (await response.json()) as ExecutionResult;
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: OPERATION_LIMIT_CODE, limit: 'maxDepth' });
  });

  it('should run the heaviest useful operations: 15 aliased history reads with the subscription fragment, 15 publishes', async () => {
    const roomEventFields = `fragment RoomEventFields on RoomEvent {
      __typename
      ... on Message { ${fullMessage} }
      ... on HistoryGap { room after missed }
    }`;
    const reads = `{ ${repeat(MAX_ALIASES, (i) => `h${i}: history(room: "r${i}") { ...RoomEventFields }`)} }\n${roomEventFields}`;
    const room = uniqueRoom();
    const publishes = `mutation { ${repeat(MAX_ALIASES, (i) => `p${i}: publish(room: "${room}", event: "e", data: ${i}) { ${fullMessage} }`)} }`;
    for (const query of [reads, publishes]) {
      const http = await postGraphQL(server.url, query);
      expect(http.body.errors).toBeUndefined();
      expect(http.status).toBe(200);
      const ws = await overWs(socket, query);
      expect(ws.error).toBeUndefined();
      expect(ws.results[0]?.errors).toBeUndefined();
    }
  });

  it("should answer GraphiQL's introspection query, with and without its optional parts", async () => {
    const minimal = getIntrospectionQuery();
    const everything = getIntrospectionQuery({
      descriptions: true,
      specifiedByUrl: true,
      directiveIsRepeatable: true,
      schemaDescription: true,
      inputValueDeprecation: true,
      oneOf: true,
    });
    for (const query of [minimal, everything]) {
      const { status, body } = await postGraphQL<{ __schema: { types: { name: string }[] } }, never>(server.url, query);
      expect(body.errors).toBeUndefined();
      expect(status).toBe(200);
      expect(body.data?.__schema.types.map((t) => t.name)).toContain('RoomEvent');
    }
    const ws = await overWs(socket, everything);
    expect(ws.error).toBeUndefined();
    expect((ws.results[0]?.data as { __schema: unknown } | undefined)?.__schema).toBeTruthy();
  });
});
