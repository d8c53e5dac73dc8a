/**
 * `npm run cluster` end to end: the script starts its own redis-server and three replicas, a message
 * published over HTTP on one replica reaches a graphql-ws subscriber on another, and SIGTERM takes
 * everything down cleanly (exit 0, Redis gone, its temp data directory removed). Failover: a replica
 * killed with SIGKILL or stopped with SIGTERM comes back on its port while a subscriber on another
 * replica keeps receiving; the script's Redis killed with SIGKILL comes back with its data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { HistoryDocument, PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, wsClient } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor, within } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Cluster {
  readonly process: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every line the script printed so far, stdout and stderr. */
  readonly output: string[];
  readonly ports: number[];
  readonly redisPort: number;
  readonly binDir: string;
}

const clusters: Cluster[] = [];

afterAll(async () => {
  for (const cluster of clusters) {
    // Only when a test failed half-way: stop the cluster so no replica or Redis outlives the run.
    const child = cluster.process;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await within(cluster.exited, 20_000, 'the cluster to exit').catch(() => child.kill('SIGKILL'));
    }
    // Nor the script's Redis, should the script have failed to stop it.
    if (await accepts(cluster.redisPort)) {
      const redis = new Redis({ host: '127.0.0.1', port: cluster.redisPort, maxRetriesPerRequest: 0, retryStrategy: () => null });
      redis.on('error', () => {});
      await within(redis.call('SHUTDOWN', 'NOSAVE'), 5_000, 'Redis to shut down').catch(() => {});
      redis.disconnect();
    }
    // Nor a replica that outlived a killed script (its last printed pid, if that is still this replica).
    for (const port of cluster.ports) {
      const pid = lastPid(cluster, `replica-${port}`);
      if (pid !== undefined && environOf(pid).includes(`REPLICA_ID=replica-${port}\0`)) process.kill(pid, 'SIGKILL');
    }
    const dir = dataDir(cluster);
    if (dir?.includes('roomcast-cluster-redis-')) rmSync(dir, { recursive: true, force: true });
    rmSync(cluster.binDir, { recursive: true, force: true });
  }
});

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
function accepts(port: number): Promise<boolean> {
  return within(
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    }),
    5_000,
    `a connection attempt to port ${port}`,
  );
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Starts the script on free ports with its own Redis (the injected binary) and waits for its ready line. */
async function startCluster(): Promise<{ cluster: Cluster; urls: string[] }> {
  const [redisPort, ...ports] = (await distinctFreePorts(4)) as [number, ...number[]];
  // The injected binary, under the name the script looks for on PATH (it may be called otherwise).
  const binDir = mkdtempSync(join(tmpdir(), 'roomcast-cluster-bin-'));
  symlinkSync(inject('redisServerBin'), join(binDir, 'redis-server'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${binDir}${delimiter}${process.env.PATH ?? ''}`,
    CLUSTER_PORTS: ports.join(','),
    CLUSTER_REDIS_PORT: String(redisPort),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  };
  delete env.REDIS_URL;
  delete env.CLUSTER_REDIS_DIR;

  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cluster.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const cluster: Cluster = { process: child, exited, output: [], ports, redisPort, binDir };
  clusters.push(cluster);
  const readyLine = new Promise<string>((resolve, reject) => {
    // Lines are split per stream: a chunk may end in the middle of one.
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop()!;
        for (const line of lines.filter(Boolean)) {
          cluster.output.push(line);
          if (line.startsWith('[cluster] ready: ')) resolve(line);
        }
      });
    }
    child.once('exit', (code) => reject(new Error(`cluster exited with ${code}:\n${cluster.output.join('\n')}`)));
  });
  const line = await within(readyLine, 45_000, 'the cluster URL line');
  return { cluster, urls: line.slice('[cluster] ready: '.length).split(' ') };
}

/** The first line printed at or after index `from` that `match` accepts. */
function nextLine(cluster: Cluster, from: number, what: string, match: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
  return waitFor(
    what,
    () => {
      const line = cluster.output.slice(from).find(match);
      if (line === undefined && cluster.process.exitCode !== null) throw new Error('the cluster exited');
      return line;
    },
    timeoutMs,
  );
}

/** The pid the script printed last for a child (`[cluster] <name> pid <pid>`). */
function lastPid(cluster: Cluster, name: string): number | undefined {
  const prefix = `[cluster] ${name} pid `;
  const line = cluster.output.filter((l) => l.startsWith(prefix)).at(-1);
  return line === undefined ? undefined : Number(line.slice(prefix.length));
}

function pidOf(cluster: Cluster, name: string): number {
  const pid = lastPid(cluster, name);
  if (pid === undefined) throw new Error(`no pid printed for ${name}`);
  return pid;
}

/** A live process's environment block, or '' when it is gone. */
function environOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return '';
  }
}

/** The script's Redis data directory, as it printed it. */
function dataDir(cluster: Cluster): string | undefined {
  return cluster.output.map((l) => /^\[cluster\] redis-\d+ data in (.+) \(append-only/.exec(l)?.[1]).find(Boolean);
}

async function waitReady(url: string): Promise<void> {
  // "listening" comes before the Redis connections are up; /readyz says when publishes can be stored.
  await waitFor(`${url} to be ready`, async () => (await fetch(new URL('/readyz', url))).status === 200, 15_000);
}

async function publish(url: string, room: string, n: number) {
  const result = await postGraphQL(url, PublishDocument, { room, event: 'tick', data: { n } });
  expect(result.body.errors).toBeUndefined();
  return result.body.data!.publish;
}

/** SIGTERMs the script and checks that it exits 0 with its Redis, replicas and temp data directory gone. */
async function stopCleanly(cluster: Cluster): Promise<void> {
  const dir = dataDir(cluster);
  expect(dir).toBeDefined();
  expect(existsSync(dir!)).toBe(true);
  expect(await accepts(cluster.redisPort)).toBe(true);
  cluster.process.kill('SIGTERM');
  const result = await within(cluster.exited, 30_000, 'the cluster to exit after SIGTERM');
  expect(result, cluster.output.join('\n')).toEqual({ code: 0, signal: null });
  expect(await accepts(cluster.redisPort)).toBe(false);
  for (const port of cluster.ports) expect(await accepts(port)).toBe(false);
  expect(existsSync(dir!)).toBe(false);
}

describe('npm run cluster', () => {
  it('should deliver across replicas through its own Redis and stop cleanly on SIGTERM', { timeout: 90_000 }, async () => {
    const { cluster, urls } = await startCluster();
    const { ports, redisPort, output } = cluster;
    expect(urls).toEqual(ports.map((port) => `http://127.0.0.1:${port}/graphql`));
    for (const port of ports) {
      expect(output.some((l) => l.startsWith(`[replica-${port}] `) && l.includes('"roomcast listening"'))).toBe(true);
      expect(output).toContain(`[cluster] replica-${port} ready: http://127.0.0.1:${port}/graphql`);
    }
    expect(output.some((l) => l.startsWith(`[redis-${redisPort}] `))).toBe(true);
    const [first, , third] = urls as [string, string, string];
    for (const url of [first, third]) await waitReady(url);

    const room = `cluster-${Date.now()}`;
    const one = await publish(first, room, 1);
    // Subscribing after a cursor makes the test independent of when the subscription goes live:
    // what replica 3 has not seen live it reads from the shared history.
    const client = wsClient(third.replace(/^http/, 'ws'));
    try {
      const stream = subscribeWs(client, RoomMessagesDocument, { room, after: one.cursor });
      await publish(first, room, 2);
      expect((await stream.next(15_000)).data?.messages).toMatchObject({ __typename: 'Message', room, seq: 2, data: { n: 2 } });
      // Now the subscription is live on replica 3: this one travels through Redis pub/sub.
      await publish(first, room, 3);
      expect((await stream.next(15_000)).data?.messages).toMatchObject({ __typename: 'Message', room, seq: 3, data: { n: 3 } });

      await stopCleanly(cluster);
      await stream.ended(5_000);
    } finally {
      await client.dispose();
    }
  });

  describe('failover', () => {
    let cluster: Cluster;
    let urls: string[];

    beforeAll(async () => {
      ({ cluster, urls } = await startCluster());
      for (const url of urls) await waitReady(url);
    });

    /**
     * Signals one replica while a subscriber on another keeps receiving what a third publishes, then
     * checks that the signalled one is back on its port and serves: it publishes, and a subscriber
     * on it reads from history.
     */
    async function replicaFailover(victim: number, subscriberOn: number, publisherOn: number, signal: NodeJS.Signals, exit: string) {
      const port = cluster.ports[victim]!;
      const [victimUrl, subscriberUrl, publisherUrl] = [urls[victim]!, urls[subscriberOn]!, urls[publisherOn]!];
      const name = `replica-${port}`;
      const room = `failover-${signal}-${Date.now()}`;
      const one = await publish(publisherUrl, room, 1);
      const client = wsClient(subscriberUrl.replace(/^http/, 'ws'));
      const victimClient = wsClient(victimUrl.replace(/^http/, 'ws'));
      try {
        const stream = subscribeWs(client, RoomMessagesDocument, { room, after: one.cursor });
        await publish(publisherUrl, room, 2);
        expect((await stream.next(15_000)).data?.messages).toMatchObject({ seq: 2 });

        const mark = cluster.output.length;
        const pid = pidOf(cluster, name);
        process.kill(pid, signal);
        await nextLine(cluster, mark, `${name} to exit`, (l) => l === `[cluster] ${name} exited (${exit}); restarting in 1 s`);
        // The other replicas serve while it is away.
        const three = await publish(publisherUrl, room, 3);
        expect((await stream.next(15_000)).data?.messages).toMatchObject({ seq: 3, data: { n: 3 } });

        await nextLine(cluster, mark, `${name} to be ready again`, (l) => l === `[cluster] ${name} ready: ${victimUrl}`);
        expect(pidOf(cluster, name)).not.toBe(pid);
        await waitReady(victimUrl);
        // Back on its port: it publishes, the subscriber elsewhere receives, and a subscriber on it reads history.
        await publish(victimUrl, room, 4);
        expect((await stream.next(15_000)).data?.messages).toMatchObject({ seq: 4, data: { n: 4 } });
        const onVictim = subscribeWs(victimClient, RoomMessagesDocument, { room, after: three.cursor });
        expect((await onVictim.next(15_000)).data?.messages).toMatchObject({ __typename: 'Message', room, seq: 4 });
        expect(stream.error).toBeUndefined();
        expect(stream.completed).toBe(false);
      } finally {
        await Promise.all([client.dispose(), victimClient.dispose()]);
      }
      expect(cluster.process.exitCode).toBeNull();
    }

    it('should restart a replica killed with SIGKILL on its port while the others serve', { timeout: 60_000 }, async () => {
      await replicaFailover(1, 2, 0, 'SIGKILL', 'signal SIGKILL');
    });

    it('should restart a replica that exited 0 after SIGTERM, too', { timeout: 60_000 }, async () => {
      await replicaFailover(2, 0, 1, 'SIGTERM', 'code 0');
    });

    it('should restart its Redis killed with SIGKILL, with the data it had', { timeout: 60_000 }, async () => {
      const [first, second, third] = urls as [string, string, string];
      const name = `redis-${cluster.redisPort}`;
      const room = `redis-kill-${Date.now()}`;
      const one = await publish(first, room, 1);
      await publish(first, room, 2);
      await publish(first, room, 3);
      const client = wsClient(second.replace(/^http/, 'ws'));
      try {
        const stream = subscribeWs(client, RoomMessagesDocument, { room, after: one.cursor });
        expect((await stream.take(2, 15_000)).map((r) => r.data?.messages)).toMatchObject([{ seq: 2 }, { seq: 3 }]);

        // What the script promises to keep is what reached the append-only file; Redis writes it before
        // replying, so this normally holds at once (it guards against a postponed write on a slow disk).
        const aofDir = join(dataDir(cluster)!, 'appendonlydir');
        await waitFor('the publishes to reach the append-only file', () =>
          readdirSync(aofDir).some((file) => readFileSync(join(aofDir, file), 'latin1').includes(room)),
        );

        const mark = cluster.output.length;
        const pid = pidOf(cluster, name);
        process.kill(pid, 'SIGKILL');
        await nextLine(cluster, mark, `${name} to exit`, (l) => l === `[cluster] ${name} exited (signal SIGKILL); restarting in 1 s`);
        await nextLine(
          cluster,
          mark,
          `${name} to be ready again`,
          (l) => l === `[cluster] ${name} ready: redis://127.0.0.1:${cluster.redisPort}`,
        );
        expect(pidOf(cluster, name)).not.toBe(pid);
        for (const url of urls) await waitReady(url);

        const history = await postGraphQL(third, HistoryDocument, { room });
        expect(history.body.errors).toBeUndefined();
        expect(history.body.data!.history.map((m) => [m.seq, m.data])).toEqual([
          [1, { n: 1 }],
          [2, { n: 2 }],
          [3, { n: 3 }],
        ]);
        // The room's sequence survived too, and the subscriber's replica re-subscribed by itself.
        expect((await publish(first, room, 4)).seq).toBe(4);
        expect((await stream.next(15_000)).data?.messages).toMatchObject({ __typename: 'Message', seq: 4, data: { n: 4 } });
      } finally {
        await client.dispose();
      }
    });

    it('should still stop everything cleanly on SIGTERM after those restarts', { timeout: 60_000 }, async () => {
      await stopCleanly(cluster);
    });
  });
});
