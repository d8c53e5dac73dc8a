/**
 * Roomcast as a library (src/index.ts): on its own port, attached to an existing node:http server
 * that keeps its own routes, mounted in Express 5 and in Fastify 5, each reached by a real graphql-ws
 * client and fetch; the authorize hook over HTTP, SSE and the WebSocket (direct delivery on and off);
 * bad options; close() freeing the port and quitting Redis.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import express from 'express';
import Fastify from 'fastify';
import { print } from 'graphql';
import { Redis } from 'ioredis';
import { SignJWT, type JWTPayload } from 'jose';
import type { Plugin } from 'graphql-yoga';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError, createRoomcast, type Roomcast, type RoomcastOptions, type RoomcastSettings } from '../../src/index.js';
import { configFromSettings, optionName, settingEnvNames } from '../../src/library/settings.js';
import {
  AuthenticateDocument,
  BroadcastDocument,
  HistoryDocument,
  PresenceDocument,
  PresenceEventsDocument,
  PublishDocument,
  RoomMessagesDocument,
  RoomsMessagesDocument,
} from '../generated/graphql.js';
import { executeWs, subscribeSse, subscribeWs, wsClient } from '../helpers/clients.js';
import { findRedisServerBinary, RedisServer } from '../helpers/redis-server.js';
import { waitFor, within } from '../helpers/wait.js';

const QUIET = { host: '127.0.0.1', logLevel: 'silent', drainMs: 0 } as const satisfies RoomcastSettings;

/** Everything a test started, stopped after the file whatever happened. */
const leftovers: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const stop of leftovers.splice(0).reverse()) await stop();
});

async function roomcast(options: RoomcastOptions): Promise<Roomcast> {
  const instance = await createRoomcast({ ...QUIET, ...options });
  leftovers.push(() => instance.close());
  return instance;
}

function listening(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function closed(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function post(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

const publish = (url: string, room: string, data: unknown, headers: Record<string, string> = {}) =>
  post(url, print(PublishDocument), { room, event: 'chat', data }, headers);

/** A publish over HTTP and its delivery to a WebSocket subscriber, through `base` (http://host:port). */
async function roundTrip(base: string, room: string): Promise<void> {
  const client = wsClient(`${base.replace(/^http/, 'ws')}/graphql`);
  try {
    const first = await publish(`${base}/graphql`, room, { n: 1 });
    expect(first.status).toBe(200);
    const cursor = (first.body.data?.publish as { cursor: string }).cursor;
    // After the first message's cursor: the subscription is exact whenever the server accepts it.
    const stream = subscribeWs(client, RoomMessagesDocument, { room, after: cursor });
    expect((await publish(`${base}/graphql`, room, { n: 2 })).status).toBe(200);
    const result = await stream.next();
    expect(result.data?.messages).toMatchObject({ __typename: 'Message', room, seq: 2, data: { n: 2 } });
    stream.dispose();
  } finally {
    await client.dispose();
  }
}

/** Whether something accepts connections on the port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The status line an upgrade request to `path` gets; the client then resets the connection. */
function upgradeStatus(base: string, path: string): Promise<string> {
  const { port } = new URL(base);
  return within(
    new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.once('error', reject);
      socket.once('data', (chunk) => {
        // Reset, not closed: the server must take a client's reset of a refused upgrade in its stride.
        socket.resetAndDestroy();
        resolve(chunk.toString().split('\r\n', 1)[0]!);
      });
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
    }),
    5_000,
    `the answer to an upgrade to ${path}`,
  );
}

describe('where it serves', () => {
  it('listens on its own port, and close() frees it', async () => {
    const server = await createRoomcast({ ...QUIET, port: 0 });
    const { url, port } = await server.listen();
    expect(url).toBe(`http://127.0.0.1:${port}/graphql`);
    await roundTrip(`http://127.0.0.1:${port}`, 'own-port');
    await server.close();
    expect(await portOpen(port)).toBe(false);
    // Free for anyone: a new listener takes it.
    const probe = createTcpServer();
    await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
    await new Promise((resolve) => probe.close(resolve));
  });

  it('attaches to an existing node:http server whose other routes keep working, and gives them back at close()', async () => {
    const app = createServer((req, res) => {
      res.writeHead(req.url === '/hello' ? 200 : 404, { 'content-type': 'text/plain' }).end(req.url === '/hello' ? 'hello' : 'app 404');
    });
    const base = await listening(app);
    leftovers.push(() => closed(app));
    const server = await createRoomcast(QUIET);
    server.attach(app);
    await roundTrip(base, 'attached');
    expect(await (await fetch(`${base}/hello`)).text()).toBe('hello');
    expect((await fetch(`${base}/graphql/schema.graphql`)).status).toBe(200);
    expect(await upgradeStatus(base, '/elsewhere')).toBe('HTTP/1.1 404 Not Found');
    await server.close();
    expect(await (await fetch(`${base}/hello`)).text()).toBe('hello');
    expect(await (await fetch(`${base}/graphql`)).text()).toBe('app 404');
  });

  it('close() ends its event streams and WebSockets on a server it is attached to, which stays up', async () => {
    const app = createServer((_req, res) => void res.end('app'));
    const base = await listening(app);
    leftovers.push(() => closed(app));
    const server = await createRoomcast(QUIET);
    server.attach(app);
    const first = await publish(`${base}/graphql`, 'closing', { n: 1 });
    const after = (first.body.data?.publish as { cursor: string }).cursor;
    const sse = subscribeSse(`${base}/graphql`, RoomMessagesDocument, { room: 'closing', after });
    leftovers.push(() => sse.dispose());
    expect((await sse.opened).status).toBe(200);
    const client = wsClient(`${base.replace(/^http/, 'ws')}/graphql`);
    leftovers.push(() => client.dispose());
    const ws = subscribeWs(client, RoomMessagesDocument, { room: 'closing', after });
    await publish(`${base}/graphql`, 'closing', { n: 2 });
    await Promise.all([sse.next(), ws.next()]);
    await server.close();
    await Promise.all([sse.ended(), ws.ended()]);
    expect(ws.error).toMatchObject({ code: 1012 });
    expect(await (await fetch(`${base}/graphql`)).text()).toBe('app');
  });

  it('mounts in Express 5: middleware for /graphql, the upgrade listener on its server', async () => {
    const server = await roomcast({});
    const app = express();
    app.get('/hello', (_req, res) => void res.send('hello from express'));
    app.use(server.handler);
    app.use((_req, res) => void res.status(404).send('express 404'));
    const http = app.listen(0, '127.0.0.1');
    http.on('upgrade', server.upgrade);
    await new Promise((resolve) => http.once('listening', resolve));
    leftovers.push(() => closed(http));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    await roundTrip(base, 'express');
    expect(await (await fetch(`${base}/hello`)).text()).toBe('hello from express');
    expect(await (await fetch(`${base}/nowhere`)).text()).toBe('express 404');
  });

  it('in Express after a body parser: a clear 500 saying to mount it first', async () => {
    const server = await roomcast({});
    const app = express();
    app.use(express.json());
    app.use(server.handler);
    const http = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => http.once('listening', resolve));
    leftovers.push(() => closed(http));
    const response = await fetch(`http://127.0.0.1:${(http.address() as AddressInfo).port}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(response.status).toBe(500);
    expect(await response.text()).toMatch(/before body parsers/);
  });

  it('mounts in Fastify 5: a hijacked route on the raw request, the body left unparsed, the upgrade on its server', async () => {
    const app = Fastify();
    // Registered first, so stopped last. Its fetch keep-alive connections are dropped as closed() does:
    // Fastify's app.close() waits for connections it does not take for idle.
    leftovers.push(() => {
      app.server.closeAllConnections();
      return app.close();
    });
    const server = await roomcast({});
    app.get('/hello', async () => 'hello from fastify');
    await app.register(async (scope) => {
      // Roomcast reads the body itself: no Fastify parser may consume the raw request first.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      const route = (
        request: { raw: import('node:http').IncomingMessage },
        reply: { hijack(): void; raw: import('node:http').ServerResponse },
      ) => {
        reply.hijack();
        server.handler(request.raw, reply.raw);
      };
      scope.all('/graphql', route);
      scope.all('/graphql/*', route);
    });
    app.server.on('upgrade', server.upgrade);
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    await roundTrip(base, 'fastify');
    expect(await (await fetch(`${base}/hello`)).text()).toBe('hello from fastify');
    expect((await fetch(`${base}/graphql/schema.graphql`)).status).toBe(200);
  });
});

describe('docs/library.md', () => {
  it('has TypeScript examples that type-check against the package (roomcast resolves to dist/, as installed)', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const blocks = [...readFileSync(join(root, 'docs/library.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(blocks.length).toBeGreaterThanOrEqual(6);
    // In the repository, so that `roomcast` is the package itself (its exports) and express/fastify resolve.
    const dir = mkdtempSync(join(root, '.library-docs-'));
    leftovers.push(() => rmSync(dir, { recursive: true, force: true }));
    // The one name the examples leave to you: your permission service.
    writeFileSync(
      join(dir, 'yours.d.ts'),
      'declare const permissions: { canAccess(user: string | null, room: string, operation: string): Promise<boolean> };\n',
    );
    const files = blocks.map((code, i) => {
      const file = join(dir, `example-${i}.ts`);
      writeFileSync(file, code);
      return file;
    });
    const { default: ts } = await import('typescript');
    const program = ts.createProgram([...files, join(dir, 'yours.d.ts')], {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    expect(problems).toEqual([]);
  });
});

describe('options', () => {
  it('are the environment variables in camelCase, with the same defaults', () => {
    expect(configFromSettings({})).toEqual(loadConfig({}));
    expect(
      configFromSettings({
        port: 0,
        directDelivery: false,
        corsOrigins: ['https://a.example', 'https://b.example'],
        anonymousCapability: { lobby: ['subscribe'] },
        authJwtSecret: 'x'.repeat(32),
      }),
    ).toEqual(
      loadConfig({
        PORT: '0',
        DIRECT_DELIVERY: 'off',
        CORS_ORIGINS: 'https://a.example,https://b.example',
        ANONYMOUS_CAPABILITY: '{"lobby":["subscribe"]}',
        AUTH_JWT_SECRET: 'x'.repeat(32),
      }),
    );
  });

  it('has a typed option for every environment variable the server reads', () => {
    const typed: Record<keyof RoomcastSettings, true> = {
      port: true,
      host: true,
      redisUrl: true,
      redisWaitReplicas: true,
      redisClusterNodes: true,
      redisSentinels: true,
      redisSentinelMaster: true,
      redisUsername: true,
      redisPassword: true,
      redisKeyPrefix: true,
      historySize: true,
      historyTtlSeconds: true,
      idempotencyTtlSeconds: true,
      presenceLeaveGraceMs: true,
      presenceTtlSeconds: true,
      maxPayloadBytes: true,
      brokerTimeoutMs: true,
      maxBufferedBytes: true,
      maxConnections: true,
      maxSubscriptionsPerConnection: true,
      maxRoomsPerSubscription: true,
      maxRoomsPerConnection: true,
      wsMaxPayloadBytes: true,
      httpMaxBodyBytes: true,
      connectionInitTimeoutMs: true,
      keepaliveMs: true,
      drainMs: true,
      shutdownTimeoutMs: true,
      directDelivery: true,
      authJwtSecret: true,
      authJwtPublicKey: true,
      authJwtPublicKeyFile: true,
      authJwksUrl: true,
      authJwtIssuer: true,
      authJwtAudience: true,
      authClockToleranceSeconds: true,
      authMaxTokenLifetimeSeconds: true,
      anonymousCapability: true,
      corsOrigins: true,
      graphiql: true,
      introspection: true,
      publishRateLimit: true,
      subscribeRateLimit: true,
      maxConnectionsPerIp: true,
      maxResponseBytes: true,
      trustProxy: true,
      metrics: true,
      metricsPath: true,
      metricsPort: true,
      inspector: true,
      inspectorIntervalMs: true,
      inspectorMaxRooms: true,
      logLevel: true,
      replicaId: true,
    };
    expect(settingEnvNames().map(optionName).sort()).toEqual(Object.keys(typed).sort());
  });

  it.each([
    [{ port: 70000 }, /invalid options: port must be an integer from 0 to 65535 \(got "70000"\)/],
    [{ portt: 4000 }, /unknown option "portt"/],
    [{ keepAliveMs: 1000 }, /unknown option "keepAliveMs" \(did you mean keepaliveMs\?\)/],
    [{ directDelivery: 'maybe' }, /directDelivery must be on or off/],
    [{ authJwtSecret: 'short' }, /authJwtSecret/],
    [{ drainMs: 5000, shutdownTimeoutMs: 1000 }, /shutdownTimeoutMs \(1000\) must be longer than drainMs \(5000\)/],
    [{ anonymousCapability: { lobby: ['fly'] } }, /anonymousCapability/],
    [{ historySize: () => 1 }, /historySize must be a string, a number, a boolean, a list or an object/],
    [{ authorize: 'yes' }, /authorize must be a function/],
    [{ logger: 'loud' }, /logLevel must be one of/],
    [{ logger: { info: 1 } }, /logger must be a pino logger or a level/],
  ])('refuses %j with a ConfigError naming it', async (options, message) => {
    const failure = createRoomcast(options as RoomcastOptions);
    await expect(failure).rejects.toBeInstanceOf(ConfigError);
    await expect(failure).rejects.toThrow(message);
  });
});

describe('a wrong Redis password', () => {
  it('logs each connection error once, never "ready", however often the connections retry', async () => {
    const redis = await RedisServer.start(await findRedisServerBinary(), {
      args: ['--requirepass', 'right-password'],
      auth: { username: 'default', password: 'right-password' },
    });
    leftovers.push(() => redis.stop());
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write: (chunk: Buffer, _encoding, done) => void (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()),
      }),
    );
    const server = await roomcast({ port: 0, redisUrl: redis.url, redisPassword: 'wrong-password', logger, logLevel: undefined });
    const { url } = await server.listen();
    const metricsUrl = new URL('/metrics', url);
    const reconnects = async () =>
      Number(/^roomcast_redis_reconnects_total\{connection="subscriber"\} (\d+)$/m.exec(await (await fetch(metricsUrl)).text())?.[1] ?? 0);
    await waitFor('the subscriber to be refused over and over', async () => (await reconnects()) >= 5, 20_000);
    const redisLines = lines.filter((line) => String(line.msg).startsWith('redis connection'));
    expect(redisLines.filter((line) => line.msg === 'redis connection ready')).toEqual([]);
    // One per connection of the broker (publisher, subscriber), not one per attempt.
    expect(redisLines.length).toBeLessThanOrEqual(2);
    expect((await publish(url, 'lobby', 1)).body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
  });
});

describe('close() with Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start(await findRedisServerBinary());
    leftovers.push(() => redis.stop());
  });

  it('frees the port and quits every Redis connection it opened', async () => {
    const admin = new Redis(redis.url);
    leftovers.push(() => void admin.disconnect());
    const clients = async () => ((await admin.client('LIST')) as string).trim().split('\n').length;
    const before = await clients();
    const server = await createRoomcast({ ...QUIET, port: 0, redisUrl: redis.url });
    const { port } = await server.listen();
    await roundTrip(`http://127.0.0.1:${port}`, 'redis-room');
    expect(await clients()).toBeGreaterThan(before);
    await server.close();
    expect(await portOpen(port)).toBe(false);
    await waitFor('the server to quit its Redis connections', async () => (await clients()) === before);
  });
});

describe('the authorize hook with auth off', () => {
  it('decides for every (anonymous) client', async () => {
    const server = await roomcast({ port: 0, authorize: (_identity, operation, room) => operation !== 'publish' || room === 'open' });
    const { url } = await server.listen();
    expect((await publish(url, 'open', 1)).status).toBe(200);
    const refused = await publish(url, 'closed', 1);
    expect([refused.status, refused.body.errors?.[0]?.extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await post(url, print(HistoryDocument), { room: 'closed' })).status).toBe(200);
  });
});

describe('request ids and the lines of failed operations', () => {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write: (chunk: Buffer, _encoding, done) => void (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()),
    }),
  );
  /** An embedder's plugin with a bug: its presence store throws a plain error (not a GraphQLError). */
  const brokenPresence: Plugin = {
    onContextBuilding: ({ extendContext }) =>
      extendContext({
        presence: new Proxy({}, { get: () => () => Promise.reject(new TypeError('presence store exploded')) }),
      } as never),
  };
  const failures = () => lines.filter((line) => line.msg === 'an operation failed unexpectedly');
  let url: string;
  beforeAll(async () => {
    const server = await roomcast({ port: 0, logger, plugins: [brokenPresence] });
    ({ url } = await server.listen());
  });

  it("echoes a client's X-Request-Id, or a new UUID; a malformed one is replaced", async () => {
    const sent = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-42.a:b' },
      body: '{"query":"{ __typename }"}',
    });
    expect(sent.headers.get('x-request-id')).toBe('req-42.a:b');
    const none = await fetch(`${url}?query=${encodeURIComponent('{ __typename }')}`);
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const bad = await fetch(new URL('/healthz', url), { headers: { 'x-request-id': 'has spaces "and quotes"' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['a POST', (id: string) => post(url, print(PresenceDocument), { room: 'lobby' }, { 'x-request-id': id })],
    [
      'a GET',
      async (id: string) => {
        const query = encodeURIComponent(print(PresenceDocument));
        const variables = encodeURIComponent(JSON.stringify({ room: 'lobby' }));
        const response = await fetch(`${url}?query=${query}&variables=${variables}`, {
          headers: { accept: 'application/graphql-response+json', 'x-request-id': id },
        });
        return { status: response.status, body: (await response.json()) as Answer['body'] };
      },
    ],
  ])('an unexpected error in %s: masked for the client, logged once with the request id', async (_how, send) => {
    const id = `failing-${lines.length}`;
    const answer = await send(id);
    expect(answer.body.errors?.[0]?.message).toBe('Unexpected error.');
    await waitFor('the error line', () => failures().some((line) => line.request === id));
    const mine = lines.filter((line) => line.request === id);
    expect(mine).toEqual([
      expect.objectContaining({
        level: 50,
        request: id,
        path: 'presence',
        error: { name: 'TypeError', message: 'presence store exploded' },
      }),
    ]);
    expect(lines.filter((line) => JSON.stringify(line).includes('presence store exploded'))).toHaveLength(failures().length);
  });

  it("expected errors (a resolver's, the context's) keep their code and status, and are not logged as failures", async () => {
    const badRoom = await publish(url, 'not a room id', 1, { 'x-request-id': 'expected-1' });
    expect([badRoom.status, badRoom.body.errors?.[0]?.extensions]).toEqual([400, { code: 'BAD_USER_INPUT' }]);
    const badClient = await publish(url, 'lobby', 1, { 'x-request-id': 'expected-2', 'x-roomcast-client-id': 'no spaces allowed' });
    expect([badClient.status, badClient.body.errors?.[0]?.extensions]).toEqual([400, { code: 'BAD_USER_INPUT' }]);
    expect((await publish(url, 'lobby', 1, { 'x-request-id': 'expected-3' })).status).toBe(200); // and a line after them all
    const failed = await post(url, print(PresenceDocument), { room: 'lobby' }, { 'x-request-id': 'expected-4' });
    expect(failed.body.errors?.[0]?.message).toBe('Unexpected error.');
    await waitFor('the line after them', () => lines.some((line) => line.request === 'expected-4'));
    expect(
      lines.filter((line) => (line.level as number) >= 40 && String(line.request).startsWith('expected-')).map((line) => line.request),
    ).toEqual(['expected-4']);
    // Yoga's own logger wrote none of them either.
    expect(lines.filter((line) => (line.level as number) >= 50 && line.request === undefined && line.connection === undefined)).toEqual([]);
  });

  it('an unexpected error on a WebSocket: logged with the connection id', async () => {
    const client = wsClient(url.replace(/^http/, 'ws'));
    leftovers.push(() => client.dispose());
    const before = failures().length;
    const answer = await executeWs(client, PresenceDocument, { room: 'lobby' });
    expect(answer.errors?.[0]?.message).toBe('Unexpected error.');
    await waitFor('the error line', () => failures().length > before);
    expect(failures().at(-1)).toMatchObject({ connection: expect.any(String), path: 'presence' });
    expect(failures().at(-1)).not.toHaveProperty('request');
    await client.dispose();
  });
});

describe('the authorize hook', () => {
  const SECRET = 'a-library-test-secret-of-32-bytes!!';
  const key = new TextEncoder().encode(SECRET);
  const token = (claims: JWTPayload) =>
    new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(key);
  const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
  const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

  /** Your team's rooms (`team:<team claim>:…`), whatever the token's capability says; `…:boom` throws. */
  const authorize: NonNullable<RoomcastOptions['authorize']> = async (identity, operation, room) => {
    await Promise.resolve(); // an asynchronous rule, as one asking a permission service is
    if (room.endsWith(':boom')) throw new Error('permission service down');
    if (room === '@admin') return identity.claims?.admin === true;
    if (room === '@broadcast') return operation === 'subscribe' || identity.claims?.admin === true;
    const team = identity.claims?.team;
    return typeof team === 'string' && room.startsWith(`team:${team}:`);
  };

  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write: (chunk: Buffer, _encoding, done) => void (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()),
    }),
  );
  let alice: string; // team red, no capability in her token
  let bob: string; // team blue, a token that would allow everything
  let admin: string;

  beforeAll(async () => {
    alice = await token({ sub: 'alice', team: 'red' });
    bob = await token({ sub: 'bob', team: 'blue', roomcast: { '*': ['*'], '@broadcast': ['*'], '@admin': ['*'] } });
    admin = await token({ sub: 'root', admin: true });
  });

  describe.each([true, false])('direct delivery %s', (directDelivery) => {
    let url: string;
    let wsUrl: string;
    beforeAll(async () => {
      const server = await roomcast({ port: 0, directDelivery, authJwtSecret: SECRET, authorize, logger });
      ({ url } = await server.listen());
      wsUrl = url.replace(/^http/, 'ws');
    });

    it('HTTP: the hook decides publish, history, presence, broadcast and revoke, with the usual refusals', async () => {
      expect((await publish(url, 'team:red:1', 1, bearer(alice))).status).toBe(200);
      const refused = await publish(url, 'team:red:1', 1, bearer(bob));
      expect([refused.status, codeOf(refused)]).toEqual([403, 'FORBIDDEN']);
      const anonymous = await publish(url, 'team:red:1', 1);
      expect([anonymous.status, codeOf(anonymous)]).toEqual([401, 'UNAUTHENTICATED']);
      expect((await post(url, print(HistoryDocument), { room: 'team:red:1' }, bearer(alice))).status).toBe(200);
      expect(codeOf(await post(url, print(HistoryDocument), { room: 'team:red:1' }, bearer(bob)))).toBe('FORBIDDEN');
      expect((await post(url, print(PresenceDocument), { room: 'team:red:1' }, bearer(alice))).status).toBe(200);
      expect(codeOf(await post(url, print(PresenceDocument), { room: 'team:red:1' }, bearer(bob)))).toBe('FORBIDDEN');
      expect(codeOf(await post(url, print(BroadcastDocument), { event: 'e', data: 1 }, bearer(bob)))).toBe('FORBIDDEN');
      expect((await post(url, print(BroadcastDocument), { event: 'e', data: 1 }, bearer(admin))).status).toBe(200);
      expect(codeOf(await post(url, 'mutation { revoke(user: "carol") }', {}, bearer(bob)))).toBe('FORBIDDEN');
      expect((await post(url, 'mutation { revoke(user: "carol") }', {}, bearer(admin))).status).toBe(200);
      // The audit line: who asked (the admin's sub and the request's id), and whom.
      await waitFor('the audit line', () =>
        lines.some(
          (line) => line.msg === "revoked a user's tokens" && line.user === 'root' && line.revokedUser === 'carol' && line.request,
        ),
      );
    });

    it('a hook that throws: UNAVAILABLE, logged, and the server goes on serving', async () => {
      const failed = await publish(url, 'team:red:boom', 1, bearer(alice));
      expect([failed.status, codeOf(failed)]).toEqual([503, 'UNAVAILABLE']);
      expect(failed.body.errors?.[0]?.message).toMatch(/could not authorize publish on "team:red:boom"/);
      await waitFor('the log line', () =>
        lines.some((line) => line.msg === 'the authorize hook failed' && line.room === 'team:red:boom' && line.user === 'alice'),
      );
      expect(JSON.stringify(lines)).not.toContain(alice); // never the token
      expect((await publish(url, 'team:red:2', 1, bearer(alice))).status).toBe(200);
    });

    it('SSE: allowed streams deliver, others are refused with 403', async () => {
      const first = await publish(url, 'team:red:sse', { n: 1 }, bearer(alice));
      const after = (first.body.data?.publish as { cursor: string }).cursor;
      const stream = subscribeSse(url, RoomMessagesDocument, { room: 'team:red:sse', after }, bearer(alice));
      leftovers.push(() => stream.dispose());
      expect((await stream.opened).status).toBe(200);
      await publish(url, 'team:red:sse', { n: 2 }, bearer(alice));
      expect((await stream.next()).data?.messages).toMatchObject({ seq: 2, data: { n: 2 } });
      stream.dispose();
      const refused = subscribeSse(url, RoomMessagesDocument, { room: 'team:red:sse' }, bearer(bob));
      leftovers.push(() => refused.dispose());
      expect((await refused.opened).status).toBe(403);
    });

    it('WebSocket: messages, messagesIn, presence and broadcasts; a new token of the same user re-checks live subscriptions', async () => {
      // Not lazy: one connection throughout, whose identity `authenticate` replaces.
      const client = wsClient(wsUrl, { connectionParams: { authToken: alice }, lazy: false });
      leftovers.push(() => client.dispose());
      const first = await publish(url, 'team:red:ws', { n: 1 }, bearer(alice));
      const after = (first.body.data?.publish as { cursor: string }).cursor;
      const live = subscribeWs(client, RoomMessagesDocument, { room: 'team:red:ws', after });
      await publish(url, 'team:red:ws', { n: 2 }, bearer(alice));
      expect((await live.next()).data?.messages).toMatchObject({ seq: 2 });

      const mixed = subscribeWs(client, RoomsMessagesDocument, { rooms: ['team:red:ws', 'team:blue:ws'] });
      expect((await mixed.next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const watchers = subscribeWs(client, PresenceEventsDocument, { room: 'team:blue:ws' });
      expect((await watchers.next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const failing = subscribeWs(client, RoomsMessagesDocument, { rooms: ['team:red:boom'] });
      expect((await failing.next()).errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');

      // Alice moves to team green: her red subscription ends with FORBIDDEN, the connection stays.
      const moved = await executeWs(client, AuthenticateDocument, { token: await token({ sub: 'alice', team: 'green' }) });
      expect(moved.errors).toBeUndefined();
      await live.ended();
      expect(live.items.at(-1)?.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect((await executeWs(client, PublishDocument, { room: 'team:green:1', event: 'e', data: 1 })).data?.publish).toMatchObject({
        seq: 1,
      });
      await client.dispose();
    });

    it('a hook that does not answer within brokerTimeoutMs: UNAVAILABLE', async () => {
      const hanging = await roomcast({
        port: 0,
        directDelivery,
        brokerTimeoutMs: 200,
        authorize: () => new Promise<boolean>(() => {}),
        logger,
      });
      const { url: slowUrl } = await hanging.listen();
      const answer = await publish(slowUrl, 'lobby', 1);
      expect([answer.status, codeOf(answer)]).toEqual([503, 'UNAVAILABLE']);
      expect(lines.some((line) => line.msg === 'the authorize hook did not answer in time' && line.room === 'lobby')).toBe(true);
    });

    it('anonymous WebSocket clients are asked about too: UNAUTHENTICATED when refused', async () => {
      const client = wsClient(wsUrl);
      leftovers.push(() => client.dispose());
      const refused = subscribeWs(client, RoomMessagesDocument, { room: 'team:red:1' });
      expect((await refused.next()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      await client.dispose();
    });
  });
});
