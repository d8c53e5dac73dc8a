/**
 * PUBLISH_RATE_LIMIT across replicas: two Roomcast processes on one redis-server share one count per
 * identity; when Redis goes away the limiter fails open (one log line when it starts, one when it
 * ends) while publishes fail with UNAVAILABLE as without a limit; once Redis is back the limit
 * applies again. Identities are told apart by X-Forwarded-For (TRUST_PROXY=1).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument } from '../generated/graphql.js';
import { print } from 'graphql';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor } from '../helpers/wait.js';

let redis: RedisServer;
let replicas: Replica[] = [];

beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
  replicas = await Promise.all(
    ['a', 'b'].map((name) =>
      startReplica({ REDIS_URL: redis.url, REPLICA_ID: name, PUBLISH_RATE_LIMIT: '4/60s', TRUST_PROXY: '1', BROKER_TIMEOUT_MS: '500' }),
    ),
  );
});
afterAll(async () => {
  for (const replica of replicas) expect(await replica.stop()).toBe(0);
  await redis?.stop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  code: unknown;
  retryAfterMs: unknown;
}

async function publish(replica: Replica, clientIp: string): Promise<Answer> {
  const response = await fetch(replica.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': clientIp },
    body: JSON.stringify({ query: print(PublishDocument), variables: { room: 'limited', event: 'e', data: 1 } }),
  });
  const body = (await response.json()) as { errors?: { extensions?: Record<string, unknown> }[] };
  const extensions = body.errors?.[0]?.extensions;
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    code: extensions?.code,
    retryAfterMs: extensions?.retryAfterMs,
  };
}

const lines = (replica: Replica, msg: string) => replica.output.filter((line) => line.includes(`"msg":"${msg}`));

describe('publish rate limit on two replicas and one Redis', () => {
  it('should share one count per identity across replicas, in Redis under the key prefix', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const ip = '198.51.100.1';
    expect((await publish(a, ip)).status).toBe(200);
    expect((await publish(b, ip)).status).toBe(200);
    expect((await publish(a, ip)).status).toBe(200);
    expect((await publish(b, ip)).status).toBe(200);
    for (const replica of [a, b]) {
      const refused = await publish(replica, ip);
      expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(refused.retryAfterMs as number).toBeGreaterThan(0);
      expect(refused.retryAfterMs as number).toBeLessThanOrEqual(60_000);
      expect(Number(refused.retryAfter)).toBe(Math.ceil((refused.retryAfterMs as number) / 1000));
    }
    // Another client has its own count.
    expect((await publish(b, '198.51.100.2')).status).toBe(200);
    expect(await redis.command('GET', `roomcast:ratelimit:publish:ip:${ip}`)).toBe('6');
    expect(lines(a, 'publish rate limit failing open')).toEqual([]);
  });

  it('should fail open while Redis is away (publishes fail UNAVAILABLE, one log line), and limit again once it is back', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const ip = '198.51.100.3';
    await redis.kill();
    for (let i = 0; i < 6; i++) {
      for (const replica of [a, b]) expect(await publish(replica, ip)).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    }
    for (const replica of [a, b]) {
      expect(lines(replica, 'publish rate limit failing open')).toHaveLength(1);
      expect(lines(replica, 'publish rate limit applies again')).toEqual([]);
    }
    await redis.start();
    for (const replica of [a, b]) {
      await waitFor('the replica to be ready again', async () => (await fetch(new URL('/readyz', replica.url))).status === 200, 15_000);
      await waitFor('the limiter to say it applies again', () => lines(replica, 'publish rate limit applies again').length === 1, 15_000);
    }
    for (const replica of [a, b, a, b]) expect((await publish(replica, ip)).status).toBe(200);
    expect(await publish(a, ip)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(await publish(b, ip)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    for (const replica of [a, b]) expect(lines(replica, 'publish rate limit failing open')).toHaveLength(1);
    // Never a token or a URL in those lines.
    const said = [...lines(a, 'publish rate limit'), ...lines(b, 'publish rate limit')].join('\n');
    expect(said).not.toMatch(/redis:\/\/|Bearer/);
  });
});
