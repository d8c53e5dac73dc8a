/**
 * The routing check of balancers and Kubernetes, /readyz/replica, on a real process: it answers for this
 * replica only, so a Redis outage (which fails /readyz on every replica at once) leaves it 200, and it
 * turns 503 from the moment the replica drains (SIGTERM).
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { acknowledged } from '../helpers/raw-ws.js';
import { RedisServer } from '../helpers/redis-server.js';
import { runToExit, startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

let redis: RedisServer;
let replica: Replica;
const sockets: WebSocket[] = [];

beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
  replica = await startReplica({
    REDIS_URL: redis.url,
    BROKER_TIMEOUT_MS: '500',
    // Two WebSockets closed over 4 s keep the drain open long enough to probe it.
    DRAIN_MS: '4000',
    SHUTDOWN_TIMEOUT_MS: '8000',
    CONNECTION_INIT_TIMEOUT_MS: '60000',
  });
});
afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  await replica?.stop('SIGKILL');
  await redis?.stop();
});

const status = async (path: string) => (await fetch(new URL(path, replica.url))).status;

describe('/readyz/replica', () => {
  it('should stay 200 while Redis is down and /readyz answers 503', async () => {
    expect([await status('/readyz'), await status('/readyz/replica')]).toEqual([200, 200]);
    await redis.kill();
    await waitFor('/readyz to answer 503 without Redis', async () => (await status('/readyz')) === 503);
    expect(await status('/readyz/replica')).toBe(200);
    expect(await status('/healthz')).toBe(200);
    await redis.start();
    await waitFor('/readyz to answer 200 with Redis back', async () => (await status('/readyz')) === 200);
  });

  it('should answer 503 once the replica drains, while it still serves its WebSockets', async () => {
    for (let i = 0; i < 2; i++) {
      const ws = new WebSocket(replica.wsUrl, 'graphql-transport-ws');
      sockets.push(ws);
      await acknowledged(ws);
    }
    // A probe whose request has begun (its head not yet complete) before SIGTERM: the server stops
    // accepting connections at once, so only a request already on its way can show the answer.
    const probe = await openSocket(replica.port);
    probe.write('GET /readyz/replica HTTP/1.1\r\nHost: roomcast\r\n');
    replica.process.kill('SIGTERM');
    await waitFor('the replica to start draining', () => replica.output.some((line) => line.includes('"draining"')));
    const answer = responseOf(probe);
    probe.write('\r\n');
    expect((await answer).split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
    expect(sockets.some((ws) => ws.readyState === WebSocket.OPEN)).toBe(true);
    await expect(fetch(new URL('/readyz/replica', replica.url))).rejects.toThrow();
    expect(await exitCode(replica)).toBe(0);
  });

  it('should not be taken by METRICS_PATH', async () => {
    const { code, stderr } = await runToExit({ METRICS_PATH: '/readyz/replica' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^roomcast: invalid configuration: METRICS_PATH must be .*"\/readyz\/replica"/);
  });
});

/** Waits for the process to exit by itself (a second SIGTERM would kill it outright). */
function exitCode({ process: child }: Replica): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return within(new Promise((resolve) => child.once('exit', (code) => resolve(code))), 15_000, 'the replica to exit');
}

function openSocket(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  return within(
    new Promise((resolve, reject) => socket.once('connect', () => resolve(socket)).once('error', reject)),
    5_000,
    'a TCP connection',
  );
}

/** Everything the server writes until it has sent a whole response head. */
function responseOf(socket: Socket): Promise<string> {
  let text = '';
  return within(
    new Promise<string>((resolve, reject) => {
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`connection closed after ${JSON.stringify(text)}`)));
    }),
    5_000,
    'the probe answer',
  );
}
