/**
 * compose.yaml's balancer for real: HAProxy with deploy/haproxy/haproxy.cfg (only its port and server
 * addresses replaced) in front of three replicas and one redis-server. A graphql-ws subscription, an
 * event stream and publishes all go through it, and its least-connections balancing spreads WebSockets.
 * Skipped with a warning where haproxy is not installed; CI installs it (.ci/run), and fails without.
 */
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument, RoomMessagesDocument, type RoomMessagesSubscription } from '../generated/graphql.js';
import { postGraphQL, subscribeSse, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { findHaproxyBinary, startHaproxy, type Haproxy } from '../helpers/haproxy.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

const bin = findHaproxyBinary();
if (!bin) {
  if (process.env.CI) throw new Error('haproxy is not installed: CI must install it (apt-get install haproxy, see .ci/run)');
  console.warn('deploy-haproxy.test.ts skipped: no haproxy binary (apt-get install haproxy to run it)');
}

let redis: RedisServer;
let replicas: Replica[] = [];
let balancer: Haproxy | undefined;
const clients: Client[] = [];
const streams: Stream<unknown>[] = [];

describe.skipIf(!bin)('HAProxy from deploy/haproxy/haproxy.cfg in front of three replicas', () => {
  beforeAll(async () => {
    redis = await RedisServer.start(inject('redisServerBin'));
    replicas = await Promise.all(
      ['a', 'b', 'c'].map((name) => startReplica({ REDIS_URL: redis.url, REPLICA_ID: name, TRUST_PROXY: '1', DRAIN_MS: '1000' })),
    );
    balancer = await startHaproxy(
      bin!,
      replicas.map((replica) => `127.0.0.1:${replica.port}`),
    );
  });
  afterAll(async () => {
    for (const stream of streams) stream.dispose();
    for (const client of clients) await client.dispose();
    await balancer?.stop();
    await Promise.all(replicas.map((replica) => replica.stop()));
    await redis?.stop();
  });

  const graphqlUrl = () => `${balancer!.url}/graphql`;
  const publish = async (room: string, data: unknown) => {
    const { body } = await postGraphQL(graphqlUrl(), PublishDocument, { room, event: 'e', data });
    if (!body.data) throw new Error(JSON.stringify(body.errors));
    return body.data.publish;
  };
  const payloads = (results: ExecutionResult<RoomMessagesSubscription>[]) =>
    results.map((result) => result.data!.messages as { seq: number; data: unknown });

  it('should carry a WebSocket subscription, an event stream and publishes, in order', async () => {
    const room = 'through-haproxy';
    // Subscribing after a published message's cursor: whatever follows it arrives, with no race
    // against the subscription's start.
    const first = await publish(room, 'first');
    const client = wsClient(graphqlUrl().replace(/^http/, 'ws'));
    clients.push(client);
    const ws = subscribeWs(client, RoomMessagesDocument, { room, after: first.cursor });
    const sse = subscribeSse(graphqlUrl(), RoomMessagesDocument, { room, after: first.cursor });
    streams.push(ws, sse);
    expect((await sse.opened).headers.get('content-type')).toMatch(/^text\/event-stream/);
    for (let n = 1; n <= 5; n++) await publish(room, { n });
    const expected = [1, 2, 3, 4, 5].map((n) => ({ seq: first.seq + n, data: { n } }));
    expect(payloads(await ws.take(5)).map(({ seq, data }) => ({ seq, data }))).toEqual(expected);
    expect(payloads(await sse.take(5)).map(({ seq, data }) => ({ seq, data }))).toEqual(expected);
  });

  it('should open each new connection on the replica holding the fewest (balance leastconn)', async () => {
    const before = await Promise.all(replicas.map(connectionCount));
    // One connection at a time, each acknowledged (and so counted by its replica) before the next.
    for (let i = 0; i < 3; i++) {
      const client = wsClient(graphqlUrl().replace(/^http/, 'ws'));
      clients.push(client);
      const acknowledged = new Promise((resolve) => client.on('connected', resolve));
      streams.push(subscribeWs(client, RoomMessagesDocument, { room: 'idle' }));
      await within(acknowledged, 5_000, `WebSocket ${i + 1} through haproxy`);
    }
    const sum = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
    const after = await waitFor('the replicas to count the new connections', async () => {
      const counts = await Promise.all(replicas.map(connectionCount));
      return sum(counts) === sum(before) + 3 && counts;
    });
    // The first test's WebSocket and event stream are open: three more, each on a least loaded
    // replica, leave the replicas at most one connection apart (round robin could leave them two).
    expect(Math.max(...after) - Math.min(...after)).toBeLessThanOrEqual(1);
  });

  // Last: it stops Redis and one replica. HAProxy reports each server going down on stderr.
  it('should keep every replica in rotation while Redis is away, and take out a draining one', async () => {
    await redis.kill();
    for (const replica of replicas) {
      await waitFor('/readyz to answer 503 without Redis', async () => (await fetch(new URL('/readyz', replica.url))).status === 503);
    }
    // Two failed checks 2 s apart would take a server out (fall 2, inter 2s): give them time to fail.
    await expectNoLine(balancer!.output, /is DOWN/, 5_000);
    expect((await fetch(`${balancer!.url}/healthz`)).status).toBe(200);
    await replicas[2]!.stop();
    await waitFor('haproxy to take the stopped replica out', () =>
      balancer!.output.some((line) => /replicas\/replica3 is DOWN/.test(line)),
    );
    // (Each change comes twice: on stderr, and in the log on stdout.)
    const down = new Set(balancer!.output.flatMap((line) => /Server replicas\/(\S+) is DOWN/.exec(line)?.slice(1) ?? []));
    expect([...down]).toEqual(['replica3']);
  });
});

/** Fails if a line matching `pattern` appears within `ms` (a bounded "nothing happens" check). */
async function expectNoLine(lines: string[], pattern: RegExp, ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  expect(lines.filter((line) => pattern.test(line))).toEqual([]);
}

/** Long-lived connections of one replica (WebSockets and event streams), from its /metrics. */
async function connectionCount(replica: Replica): Promise<number> {
  const text = await (await fetch(new URL('/metrics', replica.url))).text();
  return ['roomcast_websocket_connections', 'roomcast_sse_streams'].reduce((total, gauge) => {
    const line = new RegExp(`^${gauge} (\\d+)$`, 'm').exec(text);
    if (!line) throw new Error(`no ${gauge} in /metrics`);
    return total + Number(line[1]);
  }, 0);
}
