/**
 * Redis behind Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER) with an ACL user (REDIS_USERNAME,
 * REDIS_PASSWORD): a master, its replica and a sentinel, all started here, and two Roomcast replicas.
 * The master is killed: publishes fail with UNAVAILABLE only until the sentinel has promoted the
 * replica, then succeed again by themselves; subscribers and history carry on on the new master with
 * nothing lost or repeated; a manual failover moves every connection. roomcast/publisher and the CLI
 * reach the master the same way. REDIS_WAIT_REPLICAS=1 acknowledges only what a replica holds.
 */
import { spawn } from 'node:child_process';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRoomcastClient } from '@roomcast/client';
import { createPublisher } from '../../src/publisher/index.js';
import { HistoryDocument, PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL } from '../helpers/clients.js';
import { RedisSentinel, RedisServer, type RedisAuth } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

const MASTER = 'roomcast-main';
const AUTH: RedisAuth = { username: 'app', password: 'sentinel-test-secret' };
/** The default user off, `app` allowed everything: every connection must log in as `app`. */
const ACL = ['--user', 'default', 'off', '--user', AUTH.username, 'on', `>${AUTH.password}`, '~*', '&*', '+@all'];
/** How either server logs in to the other once it is a replica (the sentinel may turn the master into one). */
const REPLICATION = ['--masteruser', AUTH.username, '--masterauth', AUTH.password];

let master: RedisServer;
let standby: RedisServer;
let sentinel: RedisSentinel;
const replicas: Replica[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  const bin = inject('redisServerBin');
  master = await RedisServer.start(bin, { args: [...ACL, ...REPLICATION], auth: AUTH });
  standby = await RedisServer.start(bin, {
    args: [...ACL, ...REPLICATION, '--replicaof', '127.0.0.1', String(master.port)],
    auth: AUTH,
  });
  await waitFor('the replica to sync', async () => String(await standby.command('INFO', 'replication')).includes('master_link_status:up'));
  sentinel = await RedisSentinel.start(bin, { name: MASTER, port: master.port, auth: AUTH });
  await waitFor('the sentinel to know the replica', async () => {
    const known = (await sentinel.command('SENTINEL', 'REPLICAS', MASTER)) as string[][];
    return known.length === 1;
  });
  for (let i = 0; i < 2; i++) replicas.push(await startReplica(SENTINEL_ENV));
}, 60_000);

afterAll(async () => {
  for (const client of clients) await client.dispose();
  for (const started of replicas) await started.stop('SIGKILL');
  await sentinel?.stop();
  await standby?.stop();
  await master?.stop();
});

const SENTINEL_ENV = {
  get REDIS_SENTINELS() {
    return `127.0.0.1:${sentinel.port}`;
  },
  REDIS_SENTINEL_MASTER: MASTER,
  REDIS_USERNAME: AUTH.username,
  REDIS_PASSWORD: AUTH.password,
};

/** A publish over HTTP: its seq, or its error code. */
async function publish(target: Replica, room: string, n: number): Promise<{ seq?: number; code?: string }> {
  const { body } = await postGraphQL(target.url, PublishDocument, { room, event: 'e', data: { n } });
  return { seq: body.data?.publish.seq, code: body.errors?.[0]?.extensions?.code as string | undefined };
}

function subscribe(urls: string[], room: string): { n: number[]; seqs: number[] } {
  const seen = { n: [] as number[], seqs: [] as number[] };
  const client = createRoomcastClient({ url: urls, webSocketImpl: WebSocket, retryWait: () => new Promise((r) => setTimeout(r, 50)) });
  clients.push(client);
  client.subscribe(
    { query: print(RoomMessagesDocument), variables: { room } },
    {
      next: (result) => {
        const message = result.data?.messages as { seq?: number; data?: { n: number } } | undefined;
        seen.seqs.push(message?.seq ?? -1);
        seen.n.push(message?.data?.n ?? -1);
      },
      error: () => seen.seqs.push(-2),
      complete: () => {},
    },
  );
  return seen;
}

describe('Redis behind Sentinel', () => {
  it('should log in as the ACL user, and reach the master through the sentinel', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const watcher = subscribe([a.wsUrl], 'hello');
    // The subscription is live once a publish after it arrives.
    await waitFor('the subscription to be live', async () => {
      await publish(b, 'hello', 0);
      return watcher.seqs.length > 0;
    });
    expect(watcher.n.every((n) => n === 0)).toBe(true);
    const clientsOfApp = String(await master.command('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => line.includes('user=app'));
    expect(clientsOfApp.some((line) => line.includes('name=roomcast:publisher'))).toBe(true);
    expect(clientsOfApp.some((line) => line.includes('name=roomcast:subscriber'))).toBe(true);
  });

  it('should fail publishes with UNAVAILABLE only until the replica is promoted, then lose nothing', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const room = 'failover';
    const watcher = subscribe([a.wsUrl], room);
    await waitFor('the subscription to be live', async () => {
      const { seq } = await publish(b, room, 0);
      return seq !== undefined && watcher.seqs.includes(seq);
    });
    const acknowledged: number[] = [];
    for (let n = 1; n <= 10; n++) if ((await publish(b, room, n)).seq !== undefined) acknowledged.push(n);
    expect(acknowledged).toHaveLength(10);
    // Replication is asynchronous: kill the master only once the replica holds all it acknowledged.
    const offset = (info: unknown, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(String(info))?.[1]);
    const written = offset(await master.command('INFO', 'replication'), 'master_repl_offset');
    await waitFor(
      'the replica to catch up',
      async () => offset(await standby.command('INFO', 'replication'), 'slave_repl_offset') >= written,
    );

    await master.kill();
    const killedAt = Date.now();
    const codes = new Set<string>();
    let recoveredAt: number | undefined;
    for (let n = 11; acknowledged.length < 20; n++) {
      const { seq, code } = await publish(b, room, n);
      if (seq !== undefined) {
        recoveredAt ??= Date.now();
        acknowledged.push(n);
      } else codes.add(code ?? 'none');
      expect(Date.now() - killedAt, 'publishes to succeed again').toBeLessThan(30_000);
      if (seq === undefined) await new Promise((resolve) => setTimeout(resolve, 50)); // pacing, not waiting
    }
    const windowMs = recoveredAt! - killedAt;
    console.log(`sentinel failover: publishes failed for ${windowMs} ms after the master was killed (down-after 1000 ms)`);
    expect([...codes]).toEqual(['UNAVAILABLE']);
    expect(await sentinel.masterPort(MASTER)).toBe(standby.port);

    await waitFor('the subscriber to receive every acknowledged message', () => watcher.n.filter((n) => n > 0).length >= 20, 20_000);
    expect(watcher.n.filter((n) => n > 0)).toEqual(acknowledged);
    const seqs = watcher.seqs.filter((_seq, i) => watcher.n[i]! > 0);
    expect(seqs).toEqual(seqs.map((_seq, i) => seqs[0]! + i)); // one seq after the other, none twice
    // The promoted replica holds the history from before the failover.
    const history = await postGraphQL(a.url, HistoryDocument, { room, limit: 100 });
    expect((history.body.data?.history as { data: { n: number } }[]).map((m) => m.data.n).filter((n) => n > 0)).toEqual(acknowledged);
  });

  it('should follow a manual failover (SENTINEL FAILOVER): every connection moves to the new master by itself', async () => {
    const [a, b] = replicas as [Replica, Replica];
    // The killed master comes back empty; the sentinel makes it a replica of the new master.
    await master.start();
    await waitFor(
      'the old master to become a synced replica',
      async () => {
        const info = String(await master.command('INFO', 'replication').catch(() => ''));
        return info.includes('role:slave') && info.includes('master_link_status:up');
      },
      30_000,
    );
    await waitFor(
      'the sentinel to know it as a replica',
      async () => {
        const known = (await sentinel.command('SENTINEL', 'REPLICAS', MASTER)) as string[][];
        return known.some((fields) => fields.includes(String(master.port)) && !fields.join(',').includes('s_down'));
      },
      30_000,
    );
    const room = 'switched';
    const watcher = subscribe([a.wsUrl], room);
    await waitFor('the subscription to be live', async () => {
      const { seq } = await publish(b, room, 0);
      return seq !== undefined && watcher.seqs.includes(seq);
    });
    await sentinel.command('SENTINEL', 'FAILOVER', MASTER);
    const acknowledged: number[] = [];
    const codes = new Set<string>();
    const started = Date.now();
    for (let n = 1; (await sentinel.masterPort(MASTER)) !== master.port || acknowledged.length < 10; n++) {
      const { seq, code } = await publish(b, room, n);
      if (seq !== undefined) acknowledged.push(n);
      else codes.add(code ?? 'none');
      expect(Date.now() - started, 'the failover to end').toBeLessThan(30_000);
      await new Promise((resolve) => setTimeout(resolve, 20)); // pacing
    }
    expect([...codes].filter((code) => code !== 'UNAVAILABLE')).toEqual([]);
    await waitFor(
      'the subscriber to receive every acknowledged message',
      () => watcher.n.filter((n) => n > 0).length >= acknowledged.length,
      20_000,
    );
    expect(watcher.n.filter((n) => n > 0)).toEqual(acknowledged);
  }, 90_000);

  it('should let roomcast/publisher and the CLI publish through the sentinel', async () => {
    const [a] = replicas as [Replica];
    const publisher = createPublisher({
      redisSentinels: [`127.0.0.1:${sentinel.port}`],
      redisSentinelMaster: MASTER,
      redisUsername: AUTH.username,
      redisPassword: AUTH.password,
    });
    try {
      const first = await publisher.publish('backend', 'e', { from: 'publisher' });
      const cli = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'publish',
          'backend',
          'e',
          '{"from":"cli"}',
          '--redis-sentinels',
          SENTINEL_ENV.REDIS_SENTINELS,
          '--redis-sentinel-master',
          MASTER,
        ],
        { env: { ...process.env, REDIS_USERNAME: AUTH.username, REDIS_PASSWORD: AUTH.password }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      cli.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const code = await within(new Promise((resolve) => cli.once('exit', resolve)), 20_000, 'the CLI to exit');
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ room: 'backend', seq: first.seq + 1, data: { from: 'cli' } });
      const history = await postGraphQL(a.url, HistoryDocument, { room: 'backend', limit: 10 });
      expect((history.body.data?.history as { data: unknown }[]).map((m) => m.data)).toEqual([{ from: 'publisher' }, { from: 'cli' }]);
    } finally {
      await publisher.close();
    }
  });

  it("should let a worker's process end by itself once its publisher is closed (no sentinel connection left open)", async () => {
    const publisherModule = new URL('../../dist/publisher/index.js', import.meta.url).href;
    const options = {
      redisSentinels: SENTINEL_ENV.REDIS_SENTINELS,
      redisSentinelMaster: MASTER,
      redisUsername: AUTH.username,
      redisPassword: AUTH.password,
    };
    const script = `const { createPublisher } = await import(${JSON.stringify(publisherModule)});
      const publisher = createPublisher(${JSON.stringify(options)});
      console.log(JSON.stringify(await publisher.publish('worker', 'e', 1)));
      await publisher.close();`;
    const worker = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    worker.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    worker.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const code = await within(
      new Promise((resolve) => worker.once('exit', resolve)),
      10_000,
      'the worker to exit by itself after close()',
    ).finally(() => worker.kill('SIGKILL'));
    expect(code, out).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ room: 'worker', seq: 1 });
  });

  it('should acknowledge a publish only once a replica holds it with REDIS_WAIT_REPLICAS=1, and fail it UNAVAILABLE when none confirms', async () => {
    const waiting = await startReplica({ ...SENTINEL_ENV, REDIS_WAIT_REPLICAS: '1', BROKER_TIMEOUT_MS: '1000' });
    replicas.push(waiting);
    const publisher = createPublisher({
      redisSentinels: SENTINEL_ENV.REDIS_SENTINELS,
      redisSentinelMaster: MASTER,
      redisUsername: AUTH.username,
      redisPassword: AUTH.password,
      waitReplicas: 1,
      timeoutMs: 1000,
    });
    // Whichever server the sentinel names master now, the other is its replica.
    const masterPort = await sentinel.masterPort(MASTER);
    const standbyNow = masterPort === master.port ? standby : master;
    // The master a manual failover demoted waits a while for the sentinel to make it a replica: done here at once.
    await standbyNow.command('REPLICAOF', '127.0.0.1', masterPort);
    await waitFor('the replica to be in sync', async () =>
      String(await standbyNow.command('INFO', 'replication')).includes('master_link_status:up'),
    );
    try {
      expect(await publish(waiting, 'waited', 1)).toEqual({ seq: 1, code: undefined });
      expect((await publisher.publish('waited', 'e', 2)).seq).toBe(2);
      standbyNow.pause();
      try {
        const refused = await postGraphQL(waiting.url, PublishDocument, { room: 'waited', event: 'e', data: 3, idempotencyKey: 'three' });
        expect(refused.status).toBe(503);
        expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAVAILABLE');
        expect(refused.body.errors?.[0]?.message).toMatch(/stored, but 0 of the 1 Redis replicas .* confirmed it within 500 ms/);
        await expect(publisher.publish('waited', 'e', 4)).rejects.toMatchObject({
          code: 'UNAVAILABLE',
          message: /0 of the 1 Redis replicas/,
        });
      } finally {
        standbyNow.resume();
      }
      // The retry with its idempotency key answers with the message stored then, once a replica holds it.
      const retried = await postGraphQL(waiting.url, PublishDocument, { room: 'waited', event: 'e', data: 3, idempotencyKey: 'three' });
      expect(retried.body.data?.publish).toMatchObject({ seq: 3 });
    } finally {
      await publisher.close();
    }
  });
});
