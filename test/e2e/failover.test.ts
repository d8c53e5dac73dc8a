/**
 * Replicas going away, for real: one is SIGKILLed, another drained with SIGTERM, while messages are
 * published. Clients on @roomcast/client move to another replica and resume: nothing lost, nothing
 * repeated, and every publish that returned success reaches every subscriber.
 */
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRoomcastClient } from '@roomcast/client';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL } from '../helpers/clients.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

let redis: RedisServer;
const replicas: Replica[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  for (const replica of replicas) await replica.stop('SIGKILL');
  await redis?.stop();
});

async function replica(env: Record<string, string> = {}): Promise<Replica> {
  const started = await startReplica({ REDIS_URL: redis.url, ...env });
  replicas.push(started);
  return started;
}

/** Publishes over HTTP; resolves to the seq, or undefined when the publish did not succeed. */
async function tryPublish(target: Replica, room: string, n: number): Promise<number | undefined> {
  try {
    const { body } = await postGraphQL(target.url, PublishDocument, { room, event: 'e', data: { n } });
    return body.data?.publish.seq;
  } catch {
    return undefined;
  }
}

interface Watcher {
  readonly seqs: number[];
  readonly closeCodes: { code: number; at: number }[];
}

function watch(urls: string[], room: string, after: string): Watcher {
  const watcher: Watcher = { seqs: [], closeCodes: [] };
  const client = createRoomcastClient({
    url: urls,
    webSocketImpl: WebSocket,
    retryWait: () => new Promise((resolve) => setTimeout(resolve, 50)),
  });
  clients.push(client);
  client.on('closed', (event) => watcher.closeCodes.push({ code: (event as { code: number }).code, at: Date.now() }));
  client.subscribe(
    { query: print(RoomMessagesDocument), variables: { room, after } },
    {
      next: (result) => watcher.seqs.push((result.data?.messages as { seq?: number } | undefined)?.seq ?? -1),
      error: () => watcher.seqs.push(-2),
      complete: () => {},
    },
  );
  return watcher;
}

function expectExactly(watchers: Watcher[], from: number, succeeded: number[]): void {
  const last = Math.max(...succeeded);
  for (const watcher of watchers) {
    expect(watcher.seqs).toEqual(Array.from({ length: last - from }, (_, i) => from + 1 + i));
  }
}

describe('a replica killed while publishing', () => {
  it('should move its clients to another replica with nothing lost or repeated', async () => {
    const [a, b, c] = [await replica(), await replica(), await replica()];
    const room = 'killed';
    const start = (await postGraphQL(c.url, PublishDocument, { room, event: 'e', data: 0 })).body.data!.publish;
    const watchers = Array.from({ length: 10 }, () => watch([a.wsUrl, b.wsUrl, c.wsUrl], room, start.cursor));

    const succeeded: number[] = [];
    for (let n = 1; n <= 90; n++) {
      // Publish through every replica, the doomed one included, until it is gone.
      const target = [a, b, c][n % 3]!;
      const seq = await tryPublish(target, room, n);
      if (seq !== undefined) succeeded.push(seq);
      if (n === 30) await a.stop('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(succeeded.length).toBeGreaterThanOrEqual(60);
    await waitFor('every client to catch up', () => watchers.every((w) => w.seqs.length >= Math.max(...succeeded) - start.seq), 20_000);
    expectExactly(watchers, start.seq, succeeded);
  });
});

describe('graceful shutdown (SIGTERM)', () => {
  it('should report not ready at once, finish in-flight publishes, spread 1012 closes over DRAIN_MS and exit 0', async () => {
    const drainMs = 2_000;
    const draining = await replica({ DRAIN_MS: String(drainMs), SHUTDOWN_TIMEOUT_MS: '8000' });
    const other = await replica();
    const room = 'drained';
    const start = (await postGraphQL(other.url, PublishDocument, { room, event: 'e', data: 0 })).body.data!.publish;
    const watchers = Array.from({ length: 20 }, () => watch([draining.wsUrl, other.wsUrl], room, start.cursor));
    const warm = await tryPublish(other, room, -1);
    await waitFor('every client to receive a first message', () => watchers.every((w) => w.seqs.length === 1));

    // Publishes in flight on the draining replica when SIGTERM arrives.
    const inFlight = Array.from({ length: 10 }, (_, i) => tryPublish(draining, room, 1000 + i));
    const signalled = Date.now();
    const exited = draining.stop('SIGTERM');
    await waitFor(
      '/readyz to stop answering 200',
      async () => {
        const status = await fetch(new URL('/readyz', draining.url)).then(
          (r) => r.status,
          () => 0,
        );
        return status !== 200;
      },
      2_000,
      10,
    );
    const notReadyAfter = Date.now() - signalled;

    const succeeded = [start.seq, warm!, ...(await Promise.all(inFlight)).filter((seq): seq is number => seq !== undefined)];
    for (let n = 1; n <= 40; n++) {
      const seq = await tryPublish(other, room, n);
      if (seq !== undefined) succeeded.push(seq);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await within(exited, 10_000, 'the drained replica to exit')).toBe(0);
    expect(notReadyAfter).toBeLessThan(1_000);

    await waitFor('every client to catch up', () => watchers.every((w) => w.seqs.length >= Math.max(...succeeded) - start.seq), 20_000);
    expectExactly(watchers, start.seq, succeeded);
    const restarts = watchers.flatMap((w) => w.closeCodes.filter((c) => c.code === 1012).map((c) => c.at));
    expect(restarts).toHaveLength(20);
    // Spread over the window, not all at once.
    expect(Math.max(...restarts) - Math.min(...restarts)).toBeGreaterThan(drainMs * 0.6);
  });
});
