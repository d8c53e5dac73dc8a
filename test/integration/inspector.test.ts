/**
 * The room inspector's API and page (src/inspector/): exact counts per room and per replica with the
 * embedded broker and across replicas on Redis, seq/epoch/presence beside them, replicas that stop
 * (closing: gone at once; killed: gone within their report's lifetime), the room cap, INSPECTOR=off,
 * the `inspect` capability, and how the page is served.
 */
import { print } from 'graphql';
import { SignJWT } from 'jose';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { InspectDocument, PublishDocument, RoomMessagesDocument, type InspectQuery } from '../generated/graphql.js';
import { postGraphQL, subscribeSse, subscribeWs, wsClient, type HttpResult } from '../helpers/clients.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
import { loadConfig } from '../../src/config.js';
import { inspectorKeys } from '../../src/inspector/redis-keys.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica } from '../helpers/replica.js';
import { waitFor } from '../helpers/wait.js';

const SECRET = 'inspector-test-secret-of-at-least-32-bytes';
const startServer = serversOfThisFile();

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterAll(async () => {
  await redis?.stop();
});

const clients: Client[] = [];
afterAll(async () => {
  for (const client of clients.splice(0)) await client.dispose();
});

/** A WebSocket client (clientId: its presence member) with `count` subscriptions to `room`. */
function subscribe(server: TestServer, clientId: string, room: string, count = 1): Client {
  const client = wsClient(server.wsUrl, { connectionParams: { clientId } });
  clients.push(client);
  for (let i = 0; i < count; i++) subscribeWs(client, RoomMessagesDocument, { room });
  return client;
}

async function inspect(server: TestServer, limit?: number, token?: string): Promise<HttpResult<InspectQuery>> {
  const response = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: print(InspectDocument), variables: { limit } }),
  });
  return { status: response.status, body: (await response.json()) as HttpResult<InspectQuery>['body'] };
}

async function inspected(server: TestServer, limit?: number): Promise<InspectQuery> {
  const { body } = await inspect(server, limit);
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const room = (data: InspectQuery, id: string) => data.rooms.find((r) => r.room === id);
/** The rooms as `room: replica=n, …` lines, for one exact comparison. */
const shares = (data: InspectQuery) =>
  data.rooms.map((r) => `${r.room} ${r.subscribers}: ${r.replicas.map((s) => `${s.replica}=${s.subscribers}`).join(' ')}`);

async function publish(server: TestServer, roomId: string, text: string) {
  const { body } = await postGraphQL(server.url, PublishDocument, { room: roomId, event: 'note', data: { text } });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}

const token = (capability: Record<string, string[]>, sub = 'inspector-test') =>
  new SignJWT({ sub, roomcast: capability })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(SECRET));

describe('one process (embedded broker)', () => {
  it('should count every room subscription exactly, with the room seq, epoch and presence', async () => {
    const server = await startServer({ REPLICA_ID: 'solo' });
    subscribe(server, 'c1', 'mem-a', 2);
    const c2 = subscribe(server, 'c2', 'mem-a');
    subscribeWs(c2, RoomMessagesDocument, { room: 'mem-b' });
    const sse = subscribeSse(server.url, RoomMessagesDocument, { room: 'mem-b' });
    try {
      // Presence holds reach the store in batches, a moment after the subscriptions.
      await waitFor('every subscription and member to be counted', async () => {
        const data = await inspected(server);
        return data.replicas[0]?.subscriptions === 5 && room(data, 'mem-a')?.presence === 2 && room(data, 'mem-b')?.presence === 1;
      });
      const first = await publish(server, 'mem-a', 'one');
      const second = await publish(server, 'mem-a', 'two');
      expect(second.seq).toBe(first.seq + 1);

      const data = await inspected(server);
      expect(shares(data)).toEqual(['mem-a 3: solo=3', 'mem-b 2: solo=2']);
      expect(room(data, 'mem-a')).toMatchObject({ seq: second.seq, presence: 2 });
      expect(room(data, 'mem-a')!.epoch).toMatch(/.+/);
      // mem-b has never been published to; its SSE subscriber is no presence member.
      expect(room(data, 'mem-b')).toMatchObject({ seq: 0, epoch: null, presence: 1 });
      expect(data.replicas).toEqual([{ replica: 'solo', reportedAt: expect.any(String), rooms: 2, listedRooms: 2, subscriptions: 5 }]);

      await c2.dispose();
      await waitFor('c2 to be gone', async () => shares(await inspected(server)).join() === 'mem-a 2: solo=2,mem-b 1: solo=1');
    } finally {
      sse.dispose();
    }
  });

  it('should list at most INSPECTOR_MAX_ROOMS rooms per replica, those with the most subscriptions', async () => {
    const server = await startServer({ REPLICA_ID: 'capped', INSPECTOR_MAX_ROOMS: '2' });
    subscribe(server, 'k1', 'cap-a', 3);
    subscribe(server, 'k2', 'cap-b', 1);
    subscribe(server, 'k3', 'cap-c', 2);
    await waitFor('6 subscriptions', async () => (await inspected(server)).replicas[0]?.subscriptions === 6);
    const data = await inspected(server);
    expect(shares(data)).toEqual(['cap-a 3: capped=3', 'cap-c 2: capped=2']);
    expect(data.replicas[0]).toMatchObject({ rooms: 3, listedRooms: 2, subscriptions: 6 });
    expect(shares(await inspected(server, 1))).toEqual(['cap-a 3: capped=3']);
  });

  it('should refuse a limit outside 1-1000 with BAD_USER_INPUT', async () => {
    const server = await startServer();
    for (const limit of [0, 1001]) {
      const { status, body } = await inspect(server, limit);
      expect(status).toBe(400);
      expect(body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0]?.message).toContain('limit must be from 1 to 1000');
    }
  });
});

describe('several replicas on Redis', () => {
  it('should sum every live replica report, and drop a replica that closes at once', async () => {
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'insp-sum:', INSPECTOR_INTERVAL_MS: '100' };
    const a = await startServer({ ...env, REPLICA_ID: 'a' });
    const b = await startServer({ ...env, REPLICA_ID: 'b' });
    subscribe(a, 'a1', 'shared', 2);
    subscribe(b, 'b1', 'shared', 3);
    subscribe(b, 'b2', 'only-b');
    const expected = ['shared 5: b=3 a=2', 'only-b 1: b=1'];
    for (const server of [a, b]) {
      await waitFor('both replicas counted', async () => shares(await inspected(server)).join() === expected.join(), 10_000, 50);
    }
    const data = await waitFor('both members', async () => {
      const read = await inspected(a);
      return room(read, 'shared')?.presence === 2 && read;
    });
    expect(data.replicas.map((r) => [r.replica, r.rooms, r.subscriptions])).toEqual([
      ['a', 1, 2],
      ['b', 2, 4],
    ]);
    const published = await publish(b, 'shared', 'seen from a');
    expect(room(await inspected(a), 'shared')!.seq).toBe(published.seq);

    await b.close();
    // Withdrawn by close(), not left to expire: the next read no longer has it.
    const after = await inspected(a);
    expect(after.replicas.map((r) => r.replica)).toEqual(['a']);
    expect(shares(after)).toEqual(['shared 2: a=2']);
  });

  it('should ignore a malformed report in Redis rather than fail', async () => {
    const prefix = 'insp-bad:';
    const server = await startServer({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, INSPECTOR_INTERVAL_MS: '100', REPLICA_ID: 'sane' });
    const keys = inspectorKeys(prefix);
    const now = Date.now();
    // Anything that can write to the Redis can write there: not JSON, the wrong shape, another's key.
    await redis.command('ZADD', keys.replicas, now, 'garbage', now, 'shapeless', now, 'impostor');
    await redis.command('SET', keys.report('garbage'), '{not json', 'PX', 60_000);
    await redis.command('SET', keys.report('shapeless'), JSON.stringify({ replica: 'x', rooms: 'many' }), 'PX', 60_000);
    const impostor = { replica: 'impostor', instance: 'someone-else', reportedAt: now, roomCount: 0, subscriptions: 0, rooms: [] };
    await redis.command('SET', keys.report('impostor'), JSON.stringify(impostor), 'PX', 60_000);
    const { status, body } = await inspect(server);
    expect(status).toBe(200);
    expect(body.data?.replicas.map((r) => r.replica)).toEqual(['sane']);
  });

  it('should drop a replica killed outright within 3 reporting intervals', { timeout: 60_000 }, async () => {
    const intervalMs = 300;
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'insp-kill:', INSPECTOR_INTERVAL_MS: String(intervalMs) };
    const survivor = await startServer({ ...env, REPLICA_ID: 'survivor' });
    const doomed = await startReplica({ ...env, REPLICA_ID: 'doomed' });
    try {
      const names = async () => (await inspected(survivor)).replicas.map((r) => r.replica).join();
      await waitFor('the doomed replica to report', async () => (await names()) === 'doomed,survivor', 10_000, 50);
      const killedAt = Date.now();
      await doomed.stop('SIGKILL');
      await waitFor('the killed replica to be gone', async () => (await names()) === 'survivor', 10_000, 50);
      // Its last report lives 3 intervals; a read made after that can no longer have it.
      expect(Date.now() - killedAt).toBeLessThan(3 * intervalMs + 2_000);
    } finally {
      await doomed.stop('SIGKILL');
    }
  });
});

describe('configuration', () => {
  it('should name each bad inspector variable', () => {
    const env = { INSPECTOR: 'maybe', INSPECTOR_INTERVAL_MS: '10', INSPECTOR_MAX_ROOMS: '0' };
    expect(() => loadConfig(env)).toThrow(/INSPECTOR must be on or off \(got "maybe"\)/);
    expect(() => loadConfig(env)).toThrow(/INSPECTOR_INTERVAL_MS must be an integer from 50 to 600000 \(got "10"\)/);
    expect(() => loadConfig(env)).toThrow(/INSPECTOR_MAX_ROOMS must be an integer from 1 to 10000 \(got "0"\)/);
  });
});

describe('INSPECTOR=off', () => {
  it('should serve no page and refuse the queries with FORBIDDEN', async () => {
    const server = await startServer({ INSPECTOR: 'off' });
    const origin = new URL(server.url).origin;
    for (const path of ['/inspect', '/inspect/', '/inspect/app.js']) {
      expect((await fetch(`${origin}${path}`)).status, path).toBe(404);
    }
    const { status, body } = await inspect(server);
    expect(status).toBe(403);
    expect(body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(body.errors?.[0]?.message).toContain('INSPECTOR=off');
  });
});

describe('with auth on', () => {
  it('should answer only a token with "@admin": ["inspect"]', async () => {
    const server = await startServer({ AUTH_JWT_SECRET: SECRET });
    const none = await inspect(server);
    expect([none.status, none.body.errors?.[0]?.extensions?.code]).toEqual([401, 'UNAUTHENTICATED']);
    const lacking: Record<string, string[]>[] = [{ '*': ['*'], '@broadcast': ['*'] }, { '@admin': ['revoke'] }];
    for (const capability of lacking) {
      const refused = await inspect(server, undefined, await token(capability));
      expect([refused.status, refused.body.errors?.[0]?.extensions?.code], JSON.stringify(capability)).toEqual([403, 'FORBIDDEN']);
      expect(refused.body.errors?.[0]?.message).toContain('inspect on "@admin"');
    }
    for (const capability of [{ '@admin': ['inspect'] }, { '@admin': ['*'] }]) {
      const allowed = await inspect(server, undefined, await token(capability));
      expect(allowed.status, JSON.stringify(capability)).toBe(200);
      expect(allowed.body.data?.replicas).toHaveLength(1);
    }
    // The page itself holds no data: it is served to anyone, and asks for a token.
    expect((await fetch(new URL('/inspect', server.url))).status).toBe(200);
  });
});

describe('the page', () => {
  it('should serve its three files with their types and a strict Content-Security-Policy', async () => {
    const server = await startServer();
    const at = (path: string, init?: RequestInit) => fetch(new URL(path, server.url), init);
    const page = await at('/inspect');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    const html = await page.text();
    // No inline script or style, and nothing from another origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\sstyle=|<style|https?:\/\//);
    expect(html).toContain('src="/inspect/app.js"');

    const js = await at('/inspect/app.js');
    expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
    expect(await js.text()).toContain('EventSource');
    const css = await at('/inspect/app.css');
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    expect((await at('/inspect/')).status).toBe(200);

    const head = await at('/inspect/app.js', { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    const post = await at('/inspect', { method: 'POST' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    expect((await at('/inspect/nothing.js')).status).toBe(404);
  });
});
