/**
 * `npm run cluster` end to end: the script starts its own redis-server and three replicas, a message
 * published over HTTP on one replica reaches a graphql-ws subscriber on another, and SIGTERM takes
 * everything down cleanly (exit 0, Redis gone).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, wsClient } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor, within } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

let cluster: ChildProcess | undefined;
let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
let binDir: string | undefined;
let redisPort: number | undefined;

afterAll(async () => {
  // Only when the test failed half-way: stop the cluster so no replica or Redis outlives the run.
  if (cluster && exited && cluster.exitCode === null && cluster.signalCode === null) {
    cluster.kill('SIGTERM');
    await within(exited, 20_000, 'the cluster to exit').catch(() => cluster?.kill('SIGKILL'));
  }
  // Nor the script's Redis, should the script have failed to stop it.
  if (redisPort && (await accepts(redisPort))) {
    const redis = new Redis({ host: '127.0.0.1', port: redisPort, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => {});
    await within(redis.call('SHUTDOWN', 'NOSAVE'), 5_000, 'Redis to shut down').catch(() => {});
    redis.disconnect();
  }
  if (binDir) rmSync(binDir, { recursive: true, force: true });
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

describe('npm run cluster', () => {
  it('should deliver across replicas through its own Redis and stop cleanly on SIGTERM', { timeout: 90_000 }, async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    redisPort = await freePort();
    expect(new Set([...ports, redisPort]).size).toBe(4);

    // The injected binary, under the name the script looks for on PATH (it may be called otherwise).
    binDir = mkdtempSync(join(tmpdir(), 'roomcast-cluster-bin-'));
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

    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/cluster.ts'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cluster = child;
    exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const output: string[] = [];
    const readyLine = new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n').filter(Boolean)) {
          output.push(line);
          if (line.startsWith('[cluster] ready: ')) resolve(line);
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`cluster exited with ${code}:\n${output.join('\n')}`)));
    });

    const line = await within(readyLine, 45_000, 'the cluster URL line');
    const urls = line.slice('[cluster] ready: '.length).split(' ');
    expect(urls).toEqual(ports.map((port) => `http://127.0.0.1:${port}/graphql`));
    for (const port of ports) {
      expect(output.some((l) => l.startsWith(`[replica-${port}] `) && l.includes('"roomcast listening"'))).toBe(true);
    }
    expect(output.some((l) => l.startsWith(`[redis-${redisPort}] `))).toBe(true);
    const [first, , third] = urls as [string, string, string];

    // "listening" comes before the Redis connections are up; /readyz says when publishes can be stored.
    for (const url of [first, third]) {
      await waitFor(`${url} to be ready`, async () => (await fetch(new URL('/readyz', url))).status === 200, 15_000);
    }

    const room = `cluster-${Date.now()}`;
    const publish = async (n: number) => {
      const result = await postGraphQL(first, PublishDocument, { room, event: 'tick', data: { n } });
      expect(result.body.errors).toBeUndefined();
      return result.body.data!.publish;
    };
    const one = await publish(1);
    // Subscribing after a cursor makes the test independent of when the subscription goes live:
    // what replica 3 has not seen live it reads from the shared history.
    const client = wsClient(third.replace(/^http/, 'ws'));
    try {
      const stream = subscribeWs(client, RoomMessagesDocument, { room, after: one.cursor });
      await publish(2);
      expect((await stream.next(15_000)).data?.messages).toMatchObject({ __typename: 'Message', room, seq: 2, data: { n: 2 } });
      // Now the subscription is live on replica 3: this one travels through Redis pub/sub.
      await publish(3);
      expect((await stream.next(15_000)).data?.messages).toMatchObject({ __typename: 'Message', room, seq: 3, data: { n: 3 } });

      expect(await accepts(redisPort)).toBe(true);
      child.kill('SIGTERM');
      const result = await within(exited, 30_000, 'the cluster to exit after SIGTERM');
      expect(result, output.join('\n')).toEqual({ code: 0, signal: null });
      await stream.ended(5_000);
    } finally {
      await client.dispose();
    }
    expect(await accepts(redisPort)).toBe(false);
    for (const port of ports) expect(await accepts(port)).toBe(false);
  });
});
