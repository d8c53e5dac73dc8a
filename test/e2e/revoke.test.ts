/**
 * Revocation across replicas: two processes on one Redis, and on a Redis Cluster (its classic channel
 * crosses the cluster's nodes); an admin revokes a user on one replica,
 * and within a second the user's WebSocket on the other replica is closed (4403 `revoked`), their
 * event stream on this one ends, and their tokens issued up to then are refused on both; a token
 * issued in a later second works.
 */
import { SignJWT, type JWTPayload } from 'jose';
import { print } from 'graphql';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HistoryDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { subscribeWs, wsClient } from '../helpers/clients.js';
import { RedisCluster } from '../helpers/redis-cluster.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

const SECRET = 'revocation-test-secret-32-bytes-or-more';
const sign = (claims: JWTPayload) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));

async function post(target: Replica, query: string, variables: Record<string, unknown>, token: string) {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { data?: Record<string, unknown>; errors?: { message: string; extensions?: { code?: string } }[] },
  };
}

/** The Redis the replicas share, started for the suite: its variables, and how to stop it. */
type StartRedis = () => Promise<{ readonly env: Record<string, string>; stop(): Promise<void> }>;

const modes: [string, StartRedis][] = [
  [
    'one Redis',
    async () => {
      const redis = await RedisServer.start(inject('redisServerBin'));
      return { env: { REDIS_URL: redis.url }, stop: () => redis.stop() };
    },
  ],
  [
    'a Redis Cluster',
    async () => {
      const cluster = await RedisCluster.start(inject('redisServerBin'));
      return { env: { REDIS_CLUSTER_NODES: cluster.seeds }, stop: () => cluster.stop() };
    },
  ],
];

describe.each(modes)('revocation on %s', (_name, startRedis) => {
  let redis: Awaited<ReturnType<StartRedis>>;
  let a: Replica;
  let b: Replica;

  beforeAll(async () => {
    redis = await startRedis();
    const env = { ...redis.env, AUTH_JWT_SECRET: SECRET, AUTH_CLOCK_TOLERANCE_SECONDS: '0' };
    [a, b] = [await startReplica(env), await startReplica(env)];
  }, 60_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it("should end the user's sessions on every replica within a second and refuse their older tokens", async () => {
    const claims = { sub: 'victim', roomcast: { v: ['subscribe', 'history'] } };
    const token = await sign(claims);
    const ws = wsClient(a.wsUrl, { lazy: false, onNonLazyError: () => {}, connectionParams: { authToken: token } });
    const live = subscribeWs(ws, RoomMessagesDocument, { room: 'v' });
    const url = new URL(b.url);
    url.searchParams.set('query', print(RoomMessagesDocument));
    url.searchParams.set('variables', JSON.stringify({ room: 'v' }));
    url.searchParams.set('token', token);
    const stream = await fetch(url, { headers: { accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    const streamText = stream.text();
    // The WebSocket subscription is accepted (a history read on the same connection proves the token).
    expect(
      (await within(
        new Promise<unknown>((resolve) =>
          ws.subscribe({ query: print(HistoryDocument), variables: { room: 'v' } }, { next: resolve, error: resolve, complete: () => {} }),
        ),
        5_000,
        'history',
      )) as { errors?: unknown },
    ).not.toHaveProperty('errors');

    const revoke = 'mutation($u: ID!) { revoke(user: $u) }';
    expect((await post(b, revoke, { u: 'victim' }, await sign({ sub: 'nobody' }))).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const admin = await sign({ sub: 'admin', roomcast: { '@admin': ['revoke'] } });
    const revoked = await post(b, revoke, { u: 'victim' }, admin);
    const at = Date.parse(revoked.body.data?.revoke as string);
    const asked = Date.now();

    await live.ended();
    expect(live.error).toMatchObject({ code: 4403, reason: 'revoked' });
    const text = await within(streamText, 2_000, 'the event stream to end');
    expect(text).toContain('revoked');
    expect(Date.now() - asked).toBeLessThan(1_000);
    await ws.dispose();

    for (const replica of [a, b]) {
      const refused = await post(replica, print(HistoryDocument), { room: 'v' }, token);
      expect(refused.status).toBe(401);
      expect(refused.body.errors?.[0]?.message).toMatch(/revoked/);
    }
    await waitFor('a later second', () => Math.floor(Date.now() / 1000) > at / 1000, 3_000);
    expect((await post(a, print(HistoryDocument), { room: 'v' }, await sign(claims))).status).toBe(200);
  });
});
