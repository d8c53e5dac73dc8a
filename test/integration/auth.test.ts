/**
 * Auth on, with real tokens signed here (jose): who may do what, and the exact refusals, over HTTP
 * (both paths), SSE and the WebSocket (direct delivery on and off). Keys: an HS256 secret, RS256 and
 * ES256 public keys, and a JWKS served by this test.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { print } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { HistoryDocument, PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
import { within } from '../helpers/wait.js';

const SECRET = 'a-test-secret-of-at-least-32-bytes!!';
const secretKey = new TextEncoder().encode(SECRET);
const ANONYMOUS = JSON.stringify({ lobby: ['subscribe', 'history'] });

const now = () => Math.floor(Date.now() / 1000);
async function hs256(claims: JWTPayload, { alg = 'HS256', key = secretKey } = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg })
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? now() + 600)
    .sign(key);
}

const server = serversOfThisFile();

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function post(
  target: TestServer,
  query: string,
  variables: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;
const publishQuery = print(PublishDocument);
const historyQuery = print(HistoryDocument);

describe('HS256 secret', () => {
  let target: TestServer;
  beforeAll(async () => {
    target = await server({ AUTH_JWT_SECRET: SECRET, ANONYMOUS_CAPABILITY: ANONYMOUS, AUTH_CLOCK_TOLERANCE_SECONDS: '0' });
  });

  it('anonymous: what ANONYMOUS_CAPABILITY allows, 401 UNAUTHENTICATED with WWW-Authenticate for the rest', async () => {
    expect((await post(target, historyQuery, { room: 'lobby' })).status).toBe(200);
    for (const answer of [
      await post(target, publishQuery, { room: 'lobby', event: 'e', data: 1 }),
      await post(target, historyQuery, { room: 'secret' }),
      await post(target, historyQuery, { room: 'secret' }, { accept: 'application/json' }),
    ]) {
      expect(answer.status).toBe(401);
      expect(codeOf(answer)).toBe('UNAUTHENTICATED');
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('introspection and __typename need no token', async () => {
    expect((await post(target, '{ __typename __schema { queryType { name } } }', {})).body.data).toEqual({
      __typename: 'Query',
      __schema: { queryType: { name: 'Query' } },
    });
  });

  it('refuses every kind of bad token with 401 and the reason, never falling back to anonymous', async () => {
    const other = new TextEncoder().encode('another-secret-also-32-bytes-long!!!');
    const cases: [string, string, RegExp][] = [
      ['malformed', 'not.a.jwt', /malformed token/],
      ['bad signature', await hs256({ sub: 'a' }, { key: other }), /bad signature/],
      ['expired', await hs256({ sub: 'a', exp: now() - 10 }), /token expired/],
      [
        'not yet valid',
        await new SignJWT({ sub: 'a', nbf: now() + 600 }).setProtectedHeader({ alg: 'HS256' }).sign(secretKey),
        /not yet valid/,
      ],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'a', exp: now() + 60 })}.`, /algorithm not allowed|malformed/],
      ['not Bearer', '', /Bearer/],
    ];
    for (const [name, token, reason] of cases) {
      const headers = name === 'not Bearer' ? { authorization: 'Basic abc' } : bearer(token);
      const answer = await post(target, historyQuery, { room: 'lobby' }, headers);
      expect(answer.status, name).toBe(401);
      expect(codeOf(answer), name).toBe('UNAUTHENTICATED');
      expect(answer.body.errors?.[0]?.message, name).toMatch(reason);
    }
  });

  it('a valid token without the capability: 403 FORBIDDEN, the same whether or not the room has messages', async () => {
    const token = await hs256({ sub: 'bob', roomcast: { 'team:42:*': ['subscribe'] } });
    await post(
      target,
      publishQuery,
      { room: 'full', event: 'e', data: 1 },
      bearer(await hs256({ sub: 'w', roomcast: { full: ['publish'] } })),
    );
    const answers = [
      await post(target, historyQuery, { room: 'full' }, bearer(token)),
      await post(target, historyQuery, { room: 'empty-never-used' }, bearer(token)),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(403);
      expect(codeOf(answer)).toBe('FORBIDDEN');
    }
    expect(answers[0]!.body.errors?.[0]?.message.replace('full', 'X')).toBe(
      answers[1]!.body.errors?.[0]?.message.replace('empty-never-used', 'X'),
    );
  });

  it('patterns: exact, prefix, * (not the broadcast stream), @broadcast; sender is the token sub', async () => {
    const token = await hs256({
      sub: 'auth0|alice',
      roomcast: { exact: ['publish'], 'team:42:*': ['publish'], '*': ['history'], '@broadcast': ['publish'] },
    });
    const publish = (room: string) => post(target, publishQuery, { room, event: 'e', data: 1 }, bearer(token));
    const ok = await publish('exact');
    expect(ok.status).toBe(200);
    expect((ok.body.data?.publish as { sender?: unknown }).sender).toBe('auth0|alice');
    expect((await publish('team:42:x')).status).toBe(200);
    expect((await publish('team:43:x')).status).toBe(403);
    expect((await publish('exactly')).status).toBe(403);
    expect((await post(target, historyQuery, { room: 'anything' }, bearer(token))).status).toBe(200);
    expect((await post(target, 'mutation { broadcast(event: "e", data: 1) { sender } }', {}, bearer(token))).body.data).toEqual({
      broadcast: { sender: 'auth0|alice' },
    });
    const star = await hs256({ sub: 'c', roomcast: { '*': ['*'] } });
    expect((await post(target, historyQuery, { room: '*' }, bearer(star))).status).toBe(403);
    expect((await post(target, 'mutation { broadcast(event: "e", data: 1) { seq } }', {}, bearer(star))).status).toBe(403);
  });

  it('every user may read their own inbox user:<encoded sub>, not publish to it', async () => {
    const token = await hs256({ sub: 'auth0|bob@example.com' });
    const inbox = 'user:auth0:7Cbob:40example.com';
    expect((await post(target, historyQuery, { room: inbox }, bearer(token))).status).toBe(200);
    expect((await post(target, historyQuery, { room: 'user:someone-else' }, bearer(token))).status).toBe(403);
    expect((await post(target, publishQuery, { room: inbox, event: 'e', data: 1 }, bearer(token))).status).toBe(403);
    const backend = await hs256({ sub: 'backend', roomcast: { 'user:*': ['publish'] } });
    const sent = await post(target, publishQuery, { room: inbox, event: 'dm', data: { hi: 1 } }, bearer(backend));
    expect(sent.status).toBe(200);
  });

  it('Query.session: the user, their inbox, the expiry and the merged capability; anonymous without a token', async () => {
    const exp = now() + 300;
    const token = await hs256({ sub: 'auth0|eve', exp, roomcast: { 'team:*': ['publish'] } });
    const query = '{ session { user inbox expiresAt capability } }';
    expect((await post(target, query, {}, bearer(token))).body.data?.session).toEqual({
      user: 'auth0|eve',
      inbox: 'user:auth0:7Ceve',
      expiresAt: new Date(exp * 1000).toISOString(),
      capability: { lobby: ['history', 'subscribe'], 'team:*': ['publish'], 'user:auth0:7Ceve': ['history', 'subscribe'] },
    });
    expect((await post(target, query, {})).body.data?.session).toEqual({
      user: null,
      inbox: null,
      expiresAt: null,
      capability: { lobby: ['history', 'subscribe'] },
    });
  });

  describe('SSE', () => {
    const sse = (room: string, token?: string, headers: Record<string, string> = {}) => {
      const url = new URL(target.url);
      url.searchParams.set('query', print(RoomMessagesDocument));
      url.searchParams.set('variables', JSON.stringify({ room }));
      if (token) url.searchParams.set('token', token);
      return fetch(url, { headers: { accept: 'text/event-stream', ...headers } });
    };

    it('?token= on a GET event stream; 401 for a bad token or none, 403 without the capability', async () => {
      const token = await hs256({ sub: 'sse', roomcast: { news: ['subscribe'] } });
      const open = await sse('news', token);
      expect(open.status).toBe(200);
      expect(open.headers.get('content-type')).toContain('text/event-stream');
      await open.body?.cancel();
      expect((await sse('news')).status).toBe(401);
      expect((await sse('news', 'garbage')).status).toBe(401);
      expect((await sse('other', token)).status).toBe(403);
      const viaHeader = await sse('news', undefined, bearer(token));
      expect(viaHeader.status).toBe(200);
      await viaHeader.body?.cancel();
    });

    it('a stream ends with UNAUTHENTICATED when its token expires', async () => {
      const token = await hs256({ sub: 'short', roomcast: { news: ['subscribe'] }, exp: now() + 2 });
      const started = Date.now();
      const text = await within((await sse('news', token)).text(), 6_000, 'the stream to end');
      expect(text).toContain('token expired');
      expect(text).toContain('"UNAUTHENTICATED"');
      expect(Date.now() - started).toBeLessThan(4_500);
    });
  });

  describe.each(['on', 'off'])('WebSocket, DIRECT_DELIVERY=%s', (direct) => {
    let ws: TestServer;
    beforeAll(async () => {
      ws = await server({
        AUTH_JWT_SECRET: SECRET,
        ANONYMOUS_CAPABILITY: ANONYMOUS,
        AUTH_CLOCK_TOLERANCE_SECONDS: '0',
        DIRECT_DELIVERY: direct,
      });
    });

    const closeOf = async (stream: Stream<unknown>) => {
      await stream.ended();
      return stream.error as { code?: number; reason?: string };
    };

    it('a bad token at connection_init: close 4403 with the reason', async () => {
      for (const [params, reason] of [
        [{ authToken: 'garbage' }, /malformed token/],
        [{ authToken: await hs256({ sub: 'a', exp: now() - 5 }) }, /token expired/],
        [{ Authorization: 'Basic x' }, /Bearer/],
        // A reason quoting a long invalid room pattern: cut to a close frame's 123 bytes, still 4403.
        [{ authToken: await hs256({ sub: 'a', roomcast: { [`${'é'.repeat(100)}*x`]: ['subscribe'] } }) }, /^invalid token: .*…$/],
      ] as const) {
        const client = wsClient(ws.wsUrl, { connectionParams: params });
        const close = await closeOf(subscribeWs(client, HistoryDocument, { room: 'lobby' }));
        await client.dispose();
        expect(close.code).toBe(4403);
        expect(close.reason).toMatch(reason);
        expect(Buffer.byteLength(close.reason ?? '')).toBeLessThanOrEqual(123);
      }
    });

    it('no token: what anonymous may not do fails with UNAUTHENTICATED, and the connection stays', async () => {
      const client = wsClient(ws.wsUrl);
      const refused = subscribeWs(client, RoomMessagesDocument, { room: 'secret' });
      const first = (await refused.next()) as { errors?: { extensions?: { code?: string } }[] };
      expect(first.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      await refused.ended();
      expect(refused.completed).toBe(true);
      const allowed = subscribeWs(client, HistoryDocument, { room: 'lobby' });
      expect(((await allowed.next()) as { errors?: unknown }).errors).toBeUndefined();
      await client.dispose();
    });

    it('a token without the capability: FORBIDDEN for that operation; with it, messages arrive with their sender', async () => {
      const token = await hs256({ sub: 'carol', roomcast: { [`ws-${direct}`]: ['subscribe', 'publish'] } });
      const client = wsClient(ws.wsUrl, { connectionParams: { Authorization: `Bearer ${token}` } });
      const refused = subscribeWs(client, RoomMessagesDocument, { room: 'not-hers' });
      expect(((await refused.next()) as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      await refused.ended();
      const first = await post(ws, publishQuery, { room: `ws-${direct}`, event: 'e', data: 0 }, bearer(token));
      const cursor = (first.body.data?.publish as { cursor: string }).cursor;
      const stream = subscribeWs(client, RoomMessagesDocument, { room: `ws-${direct}`, after: cursor });
      await post(ws, publishQuery, { room: `ws-${direct}`, event: 'e', data: 1 }, bearer(token));
      const event = (await stream.next()) as { data?: { messages?: { sender?: string; data?: unknown } } };
      expect(event.data?.messages).toMatchObject({ sender: 'carol', data: 1 });
      await client.dispose();
    });

    it('the connection is closed with 4403 "token expired" within 1 s after exp', async () => {
      const exp = now() + 2;
      const client = wsClient(ws.wsUrl, {
        connectionParams: { authToken: await hs256({ sub: 'dave', roomcast: { lobby: ['subscribe'] }, exp }) },
      });
      const close = await closeOf(subscribeWs(client, RoomMessagesDocument, { room: 'lobby' }));
      const late = Date.now() - exp * 1000;
      await client.dispose();
      expect(close).toMatchObject({ code: 4403, reason: 'token expired' });
      expect(late).toBeGreaterThanOrEqual(0);
      expect(late).toBeLessThan(1_000);
    });
  });
});

describe('auth off', () => {
  it('everyone may do everything, tokens are ignored, and the session says so', async () => {
    const open = await server({});
    expect((await post(open, publishQuery, { room: 'anything', event: 'e', data: 1 }, bearer('garbage'))).status).toBe(200);
    expect((await post(open, '{ session { user capability } }', {})).body.data?.session).toEqual({
      user: null,
      capability: { '*': ['*'], '@admin': ['*'], '@broadcast': ['*'] },
    });
  });
});

describe('public keys: RS256, ES256, and a JWKS', () => {
  it.each(['RS256', 'ES256'] as const)(
    '%s: tokens of the key pass; HS made with the public key as secret, and none, are refused',
    async (alg) => {
      const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
      const pem = await exportSPKI(publicKey);
      const target = await server({ AUTH_JWT_PUBLIC_KEY: pem });
      const token = await new SignJWT({ sub: 'k', roomcast: { r: ['history'] } })
        .setProtectedHeader({ alg })
        .setIssuedAt()
        .setExpirationTime('1m')
        .sign(privateKey);
      expect((await post(target, historyQuery, { room: 'r' }, bearer(token))).status).toBe(200);
      const confused = await hs256({ sub: 'k', roomcast: { r: ['history'] } }, { key: new TextEncoder().encode(pem) });
      const refused = await post(target, historyQuery, { room: 'r' }, bearer(confused));
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.[0]?.message).toMatch(/algorithm not allowed/);
      const none = `${b64({ alg: 'none' })}.${b64({ sub: 'k', roomcast: { r: ['history'] } })}.`;
      expect((await post(target, historyQuery, { room: 'r' }, bearer(none))).status).toBe(401);
    },
  );

  it('JWKS: keys picked by kid; issuer and audience checked when set', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const jwks: Server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
      const target = await server({ AUTH_JWKS_URL: url, AUTH_JWT_ISSUER: 'https://issuer.test', AUTH_JWT_AUDIENCE: 'roomcast' });
      const sign = (claims: JWTPayload, kid = 'k1') =>
        new SignJWT({ sub: 'j', roomcast: { r: ['history'] }, ...claims })
          .setProtectedHeader({ alg: 'ES256', kid })
          .setIssuedAt()
          .setExpirationTime('1m')
          .sign(privateKey);
      expect(
        (await post(target, historyQuery, { room: 'r' }, bearer(await sign({ iss: 'https://issuer.test', aud: 'roomcast' })))).status,
      ).toBe(200);
      const wrongIssuer = await post(
        target,
        historyQuery,
        { room: 'r' },
        bearer(await sign({ iss: 'https://evil.test', aud: 'roomcast' })),
      );
      expect(wrongIssuer.body.errors?.[0]?.message).toMatch(/wrong issuer/);
      const wrongAudience = await post(
        target,
        historyQuery,
        { room: 'r' },
        bearer(await sign({ iss: 'https://issuer.test', aud: 'other' })),
      );
      expect(wrongAudience.body.errors?.[0]?.message).toMatch(/wrong audience/);
      const unknownKid = await post(
        target,
        historyQuery,
        { room: 'r' },
        bearer(await sign({ iss: 'https://issuer.test', aud: 'roomcast' }, 'k2')),
      );
      expect(unknownKid.status).toBe(401);
    } finally {
      jwks.close();
    }
  });
});

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
