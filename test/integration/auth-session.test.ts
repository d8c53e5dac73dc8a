/**
 * A session over time: token lifetime rules, `authenticate` in-band over the WebSocket (direct
 * delivery on and off) and over HTTP, resuming a GET event stream with `?lastEventId=`, and
 * @roomcast/client keeping a stream alive on 3-second tokens for 20 seconds.
 */
import { createRoomcastClient } from '@roomcast/client';
import { SignJWT, type JWTPayload } from 'jose';
import { print } from 'graphql';
import WebSocket from 'ws';
import { beforeAll, describe, expect, it } from 'vitest';
import { HistoryDocument, PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { subscribeWs, wsClient } from '../helpers/clients.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'session-test-secret-at-least-32-bytes';
const now = () => Math.floor(Date.now() / 1000);
const sign = (claims: JWTPayload, { iat = true } = {}) => {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' });
  if (iat) jwt.setIssuedAt();
  if (claims.exp === undefined) jwt.setExpirationTime('10m');
  return jwt.sign(new TextEncoder().encode(SECRET));
};

const server = serversOfThisFile({ AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_SECONDS: '0' });

async function post(target: TestServer, query: string, variables: Record<string, unknown>, token?: string) {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] },
  };
}
const publisherToken = () => sign({ sub: 'backend', roomcast: { '*': ['publish'] } });
const publish = async (target: TestServer, room: string, n: number) =>
  (await post(target, print(PublishDocument), { room, event: 'e', data: n }, await publisherToken())).body.data!.publish as {
    cursor: string;
    seq: number;
  };

describe('token lifetime', () => {
  it('should refuse tokens without iat, without exp, issued in the future, or living longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS', async () => {
    const target = await server({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' });
    const history = print(HistoryDocument);
    const noIat = await sign({ sub: 'a', exp: now() + 60 }, { iat: false });
    expect((await post(target, history, { room: 'r' }, noIat)).body.errors?.[0]?.message).toMatch(/no iat/);
    const noExp = await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(new TextEncoder().encode(SECRET));
    expect((await post(target, history, { room: 'r' }, noExp)).body.errors?.[0]?.message).toMatch(/no exp/);
    const long = await sign({ sub: 'a', exp: now() + 7200 });
    expect((await post(target, history, { room: 'r' }, long)).body.errors?.[0]?.message).toMatch(/AUTH_MAX_TOKEN_LIFETIME_SECONDS/);
    // A token "issued" a year ahead would outlive both the lifetime rule and any revocation.
    const future = await new SignJWT({ sub: 'a' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(now() + 365 * 86400)
      .setExpirationTime(now() + 365 * 86400 + 60)
      .sign(new TextEncoder().encode(SECRET));
    expect((await post(target, history, { room: 'r' }, future)).body.errors?.[0]?.message).toMatch(/issued in the future/);
  });
});

describe('authenticate over HTTP', () => {
  it('should check the token and return its session, or UNAUTHENTICATED', async () => {
    const target = await server();
    const query = 'mutation($t: String!) { authenticate(token: $t) { user inbox } }';
    expect((await post(target, query, { t: await sign({ sub: 'h' }) })).body.data).toEqual({
      authenticate: { user: 'h', inbox: 'user:h' },
    });
    expect((await post(target, query, { t: 'garbage' })).body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe.each(['on', 'off'])('authenticate over the WebSocket, DIRECT_DELIVERY=%s', (direct) => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server({ DIRECT_DELIVERY: direct });
  });
  const authenticate = 'mutation Authenticate($t: String!) { authenticate(token: $t) { user expiresAt } }';

  it('should replace the identity across the old expiry: allowed subscriptions go on exactly, the others end FORBIDDEN', async () => {
    const [a, b] = [`keep-${direct}`, `lose-${direct}`];
    const firstExp = now() + 2;
    const first = await sign({ sub: 'ann', exp: firstExp, roomcast: { [a]: ['subscribe'], [b]: ['subscribe'] } });
    const client = wsClient(target.wsUrl, { connectionParams: { authToken: first } });
    const startA = await publish(target, a, 0);
    const startB = await publish(target, b, 0);
    const keep = subscribeWs(client, RoomMessagesDocument, { room: a, after: startA.cursor });
    const lose = subscribeWs(client, RoomMessagesDocument, { room: b, after: startB.cursor });
    await publish(target, a, 1);
    await publish(target, b, 1);
    await keep.next();
    await lose.next();

    const second = await sign({ sub: 'ann', exp: now() + 60, roomcast: { [a]: ['subscribe'] } });
    const refreshed = await rawOperation(client, authenticate, { t: second });
    expect(refreshed.data).toMatchObject({ authenticate: { user: 'ann' } });
    const ended = (await lose.next()) as { errors?: { extensions?: { code?: string } }[] };
    expect(ended.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // Past the first token's expiry: the connection stays, and room a goes on with no gap.
    await waitFor('the first token to expire', () => Date.now() > firstExp * 1000 + 500, 5_000);
    for (let n = 2; n <= 4; n++) await publish(target, a, n);
    const later = await keep.take(3);
    expect(later.map((r) => (r.data?.messages as { data?: unknown }).data)).toEqual([2, 3, 4]);
    expect(keep.error).toBeUndefined();
    await client.dispose();
  });

  it('should refuse a token of another user (FORBIDDEN) and an invalid one (UNAUTHENTICATED), keeping the identity', async () => {
    // Not lazy: one connection for every operation of the test.
    const client = wsClient(target.wsUrl, {
      lazy: false,
      onNonLazyError: () => {},
      connectionParams: { authToken: await sign({ sub: 'ben', roomcast: { r: ['history'] } }) },
    });
    const other = await rawOperation(client, authenticate, { t: await sign({ sub: 'not-ben' }) });
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const invalid = await rawOperation(client, authenticate, { t: 'garbage' });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const still = await rawOperation(client, '{ session { user } }', {});
    expect(still.data).toEqual({ session: { user: 'ben' } });
    await client.dispose();
  });

  it('should let an anonymous connection become a user', async () => {
    const client = wsClient(target.wsUrl, { lazy: false, onNonLazyError: () => {} });
    expect((await rawOperation(client, authenticate, { t: await sign({ sub: 'cid' }) })).errors).toBeUndefined();
    expect((await rawOperation(client, '{ session { user } }', {})).data).toEqual({ session: { user: 'cid' } });
    await client.dispose();
  });
});

describe('SSE ?lastEventId=', () => {
  it('should resume a new GET event stream right after the given cursor', async () => {
    const target = await server();
    const token = await sign({ sub: 'sse', roomcast: { s: ['subscribe'] } });
    const first = await publish(target, 's', 1);
    await publish(target, 's', 2);
    const url = new URL(target.url);
    url.searchParams.set('query', print(RoomMessagesDocument));
    url.searchParams.set('variables', JSON.stringify({ room: 's' }));
    url.searchParams.set('token', token);
    url.searchParams.set('lastEventId', first.cursor);
    const controller = new AbortController();
    const response = await fetch(url, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('"data":2')) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    expect(text).not.toContain('"data":1,');
  });
});

describe('@roomcast/client with getToken', () => {
  it('should keep a stream exact on 3-second tokens for 20 seconds', async () => {
    const target = await server();
    const room = 'short-tokens';
    const start = await publish(target, room, 0);
    let issued = 0;
    const client = createRoomcastClient({
      url: target.wsUrl,
      webSocketImpl: WebSocket,
      getToken: () => {
        issued++;
        return sign({ sub: 'fay', exp: now() + 3, roomcast: { [room]: ['subscribe'] } });
      },
    });
    const received: number[] = [];
    let ended: unknown;
    const dispose = client.subscribe(
      { query: print(RoomMessagesDocument), variables: { room, after: start.cursor } },
      {
        next: (r) => received.push((r.data?.messages as { data?: number }).data ?? -1),
        error: (e) => (ended = e),
        complete: () => (ended = 'complete'),
      },
    );
    const until = Date.now() + 20_000;
    let n = 0;
    while (Date.now() < until) {
      await publish(target, room, ++n);
      await waitFor('the message', () => received.length >= n || ended !== undefined, 5_000, 10);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    dispose();
    await client.dispose();
    expect(ended).toBeUndefined();
    expect(received).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(issued).toBeGreaterThanOrEqual(6); // refreshed in-band again and again
  }, 40_000);
});

/** Runs one operation over an open graphql-ws client and returns its first result. */
async function rawOperation(client: ReturnType<typeof wsClient>, query: string, variables: Record<string, unknown>) {
  return new Promise<{ data?: Record<string, unknown> | null; errors?: { extensions?: { code?: string } }[] }>((resolve, reject) => {
    client.subscribe({ query, variables }, { next: (result) => resolve(result as never), error: reject, complete: () => {} });
  });
}
