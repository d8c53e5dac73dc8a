/**
 * roomcast/publisher as a backend uses it: the package built (`npm run build`, by the global setup), installed into a
 * project outside this repository (a link to it, as `npm install /path/to/roomcast` makes), and
 * imported by separate Node processes with no server in them (a plain ESM script, and the README's
 * worker example, type-checked against the installed types and run). Three replicas on one
 * redis-server: every replica's subscribers receive what those processes publish, in one seq order
 * with mutations, and a retried idempotent publish only once.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  BroadcastDocument,
  BroadcastsDocument,
  PublishDocument,
  RoomMessagesDocument,
  type BroadcastsSubscription,
  type RoomMessagesSubscription,
} from '../generated/graphql.js';
import { postGraphQL, subscribeWs, untilLive, wsClient, type Stream } from '../helpers/clients.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { within } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const app = mkdtempSync(join(tmpdir(), 'roomcast-backend-'));

let redis: RedisServer;
let replicas: Replica[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'backend', private: true, type: 'module' }));
  mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
  // roomcast as installed from a checkout; tsx and @types/node as the backend's own dev dependencies.
  symlinkSync(root, join(app, 'node_modules/roomcast'));
  symlinkSync(join(root, 'node_modules/tsx'), join(app, 'node_modules/tsx'));
  symlinkSync(join(root, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'));
  redis = await RedisServer.start(inject('redisServerBin'));
  const started = await Promise.allSettled(['a', 'b', 'c'].map((name) => startReplica({ REDIS_URL: redis.url, REPLICA_ID: name })));
  // Those that started are stopped after the file, also when another did not start.
  replicas = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}, 120_000);
afterAll(async () => {
  for (const client of clients) await client.dispose();
  // Everything stopped before anything is asserted, so that one failure leaves no process behind.
  const codes = await Promise.all(replicas.map((replica) => replica.stop()));
  await redis?.stop();
  rmSync(app, { recursive: true, force: true });
  expect(codes).toEqual(replicas.map(() => 0));
});

type Event = { __typename: string; seq: number; data: unknown; cursor: string; sender: string | null; event: string; publishedAt: string };
const eventOf = (result: ExecutionResult<RoomMessagesSubscription | BroadcastsSubscription>) =>
  ('messages' in result.data! ? result.data.messages : result.data!.broadcasts) as Event;

const mutate = async (replica: Replica, room: string, data: unknown) => {
  const { body } = await postGraphQL(replica.url, PublishDocument, { room, event: 'e', data });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
};

/** One live subscriber of `room` on every replica, read up to the last probe. */
async function subscribersOnEveryReplica(room: string): Promise<Stream<ExecutionResult<RoomMessagesSubscription>>[]> {
  const streams = replicas.map((replica) => {
    const client = wsClient(replica.wsUrl);
    clients.push(client);
    return subscribeWs(client, RoomMessagesDocument, { room });
  });
  for (const [i, stream] of streams.entries())
    await untilLive(
      stream,
      (r) => eventOf(r).seq,
      () => mutate(replicas[i]!, room, 'probe'),
    );
  const last = await mutate(replicas[0]!, room, 'probe');
  for (const stream of streams) while (eventOf(await stream.next()).seq < last.seq);
  return streams;
}

/** Runs a program of the backend project to its end; its stdout. */
async function runInApp(args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: app, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await within(new Promise<number | null>((resolve) => child.once('exit', resolve)), 20_000, `${args.join(' ')} to exit`);
  expect(code, stderr).toBe(0);
  return stdout;
}

describe('a backend process with roomcast/publisher and no server', () => {
  it('should reach the subscribers of every replica, in one seq order with mutations', async () => {
    const room = 'backend';
    const streams = await subscribersOnEveryReplica(room);
    const first = (await postGraphQL(replicas[0]!.url, BroadcastDocument, { event: 'start', data: 0 })).body.data!.broadcast;
    const broadcastStreams = replicas.map((replica) => {
      const client = wsClient(replica.wsUrl);
      clients.push(client);
      return subscribeWs(client, BroadcastsDocument, { after: first.cursor });
    });
    writeFileSync(
      join(app, 'publish.mjs'),
      `import { createPublisher } from 'roomcast/publisher';
const publisher = createPublisher({ redisUrl: process.env.REDIS_URL });
const room = process.env.ROOM;
const out = [];
for (let n = 1; n <= 3; n++) out.push(await publisher.publish(room, 'tick', { n }, { sender: 'worker' }));
out.push(await publisher.broadcast('all', { from: 'worker' }, { sender: 'worker' }));
await publisher.close();
console.log(JSON.stringify(out));
// Exits by itself once closed: nothing of the publisher keeps the process alive.
`,
    );
    const printed = JSON.parse(await runInApp(['publish.mjs'], { REDIS_URL: redis.url, ROOM: room })) as Omit<Event, '__typename'>[];
    const after = await mutate(replicas[1]!, room, 'after');
    const ticks = printed.slice(0, 3);
    expect(ticks.map((m) => m.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(after.seq).toBe(ticks[2]!.seq + 1);
    for (const stream of streams) {
      const got = (await stream.take(4)).map(eventOf);
      expect(got.slice(0, 3)).toEqual(ticks.map((m) => ({ __typename: 'Message', ...m })));
      expect(got[3]).toMatchObject({ seq: after.seq, data: 'after', sender: null });
      await stream.expectNothing(50);
    }
    for (const stream of broadcastStreams) {
      const got = eventOf(await stream.next());
      expect(got).toEqual({ __typename: 'Message', ...printed[3] });
      expect(got).toMatchObject({ room: '*', seq: first.seq + 1, event: 'all', sender: 'worker' });
    }
  });

  it('should type-check and run the README worker example, publishing once however often it runs', async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = (file: string) => new RegExp(`^\`\`\`\\w+ file=${file}\\n([\\s\\S]*?)^\`\`\`$`, 'm').exec(readme)?.[1];
    const example = block('worker/notify.ts');
    const tsconfig = JSON.parse(block('tsconfig.json')!) as { compilerOptions: object };
    expect(example).toBeDefined();
    mkdirSync(join(app, 'worker'), { recursive: true });
    writeFileSync(join(app, 'worker/notify.ts'), example!);
    // The README's tsconfig.json, for the worker's sources.
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ ...tsconfig, include: ['worker'] }));
    const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout }),
    );
    expect(tsc.stdout).toBe('');

    const streams = await subscribersOnEveryReplica('lobby');
    const first = await runInApp(['--import', 'tsx', 'worker/notify.ts'], { REDIS_URL: redis.url });
    const [seq, cursor] = first.trim().split(' ');
    for (const stream of streams) {
      expect(eventOf(await stream.next())).toMatchObject({
        seq: Number(seq),
        cursor,
        event: 'invoice.paid',
        data: { invoice: 1042 },
        sender: 'billing-worker',
      });
    }
    // A second run is a retry of the same invoice: the same message, delivered to nobody again.
    expect(await runInApp(['--import', 'tsx', 'worker/notify.ts'], { REDIS_URL: redis.url })).toBe(first);
    const next = await mutate(replicas[2]!, 'lobby', 'next');
    expect(next.seq).toBe(Number(seq) + 1);
    for (const stream of streams) expect(eventOf(await stream.next())).toMatchObject({ seq: next.seq, data: 'next' });
  });
});
