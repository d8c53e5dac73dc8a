/**
 * A rolling upgrade's mixed cluster: a replica of the previous release (built from git) and one of the
 * current code, both compiled, on one redis-server. Every promise must hold across the two: messages
 * published on either reach subscribers on both in one order, once; a cursor or position issued by one
 * resumes on the other with no gap or duplicate; idempotency keys and presence are shared.
 * Without the git history (an exported tree, a shallow clone) it is skipped with a warning, and fails in CI.
 */
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  PresenceDocument,
  PublishDocument,
  RoomMessagesDocument,
  RoomsMessagesDocument,
  type RoomMessagesSubscription,
  type RoomsMessagesSubscription,
} from '../generated/graphql.js';
import { postGraphQL, subscribeWs, wsClient, type Stream } from '../helpers/clients.js';
import { joinRoom } from '../helpers/presence.js';
import { RedisServer } from '../helpers/redis-server.js';
import { buildRelease, resolveCommit } from '../helpers/release.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor } from '../helpers/wait.js';

/** The last release; move it forward with each release (docs/deploy.md, "Rolling upgrades"). */
const PREVIOUS_RELEASE = 'caaeac0';

const commit = resolveCommit(PREVIOUS_RELEASE);
if ('missing' in commit) {
  if (process.env.CI) throw new Error(`rolling-upgrade.test.ts needs the git history in CI: ${commit.missing}`);
  console.warn(`rolling-upgrade.test.ts skipped: ${commit.missing}`);
}

let redis: RedisServer;
let previous: Replica;
let current: Replica;
const clients: Client[] = [];
const streams: Stream<unknown>[] = [];

type Message = { __typename: 'Message'; room: string; seq: number; data: unknown; cursor: string };
const message = (result: ExecutionResult<RoomMessagesSubscription>) => result.data!.messages as Message;
const messageIn = (result: ExecutionResult<RoomsMessagesSubscription>) => result.data!.messagesIn as Message;

describe.skipIf('missing' in commit)(`a rolling upgrade: ${PREVIOUS_RELEASE} and the current code on one Redis`, () => {
  beforeAll(async () => {
    const release = await buildRelease((commit as { hash: string }).hash);
    redis = await RedisServer.start(inject('redisServerBin'));
    const env = { REDIS_URL: redis.url, HISTORY_SIZE: '100', PRESENCE_LEAVE_GRACE_MS: '0' };
    [previous, current] = await Promise.all([
      startReplica({ ...env, REPLICA_ID: 'previous' }, { script: 'dist/main.js', cwd: release }),
      startReplica({ ...env, REPLICA_ID: 'current' }, { script: 'dist/main.js' }),
    ]);
  }, 240_000);
  afterAll(async () => {
    for (const stream of streams) stream.dispose();
    for (const client of clients) await client.dispose();
    await Promise.all([previous?.stop(), current?.stop()]);
    await redis?.stop();
  });

  const connect = (replica: Replica) => {
    const client = wsClient(replica.wsUrl);
    clients.push(client);
    return client;
  };
  const subscribe = (replica: Replica, room: string, after: string) => {
    const stream = subscribeWs(connect(replica), RoomMessagesDocument, { room, after });
    streams.push(stream);
    return stream;
  };
  const publish = async (replica: Replica, room: string, data: unknown, idempotencyKey?: string) => {
    const { body } = await postGraphQL(replica.url, PublishDocument, { room, event: 'e', data, idempotencyKey });
    if (!body.data) throw new Error(JSON.stringify(body.errors));
    return body.data.publish;
  };

  it('should deliver what either publishes to subscribers on both, in one order, once', async () => {
    const room = 'mixed';
    const start = await publish(previous, room, 'start');
    const [onPrevious, onCurrent] = [subscribe(previous, room, start.cursor), subscribe(current, room, start.cursor)];
    for (let n = 1; n <= 10; n++) await publish(n % 2 ? previous : current, room, { n });
    const expected = Array.from({ length: 10 }, (_, i) => ({ seq: start.seq + 1 + i, data: { n: i + 1 } }));
    for (const stream of [onPrevious, onCurrent]) {
      expect((await stream.take(10)).map(message).map(({ seq, data }) => ({ seq, data }))).toEqual(expected);
    }
    const cursors = onPrevious.items.map((r) => message(r).cursor);
    expect(onCurrent.items.map((r) => message(r).cursor)).toEqual(cursors);
    for (const stream of [onPrevious, onCurrent]) await stream.expectNothing(100);
  });

  it.each([
    ['previous', 'current'],
    ['current', 'previous'],
  ] as const)('should resume on the %s release from a cursor the %s one delivered', async (from, to) => {
    const replicas = { previous: () => previous, current: () => current };
    const room = `resume-${from}-${to}`;
    const first = await publish(replicas[to](), room, 0);
    const reader = subscribe(replicas[from](), room, first.cursor);
    await publish(replicas[to](), room, 1);
    const delivered = message(await reader.next());
    reader.dispose();
    for (let n = 2; n <= 4; n++) await publish(n % 2 ? previous : current, room, n);
    const resumed = subscribe(replicas[to](), room, delivered.cursor);
    expect((await resumed.take(3)).map((r) => message(r).data)).toEqual([2, 3, 4]);
    await publish(replicas[from](), room, 5);
    expect(message(await resumed.next()).data).toBe(5);
    await resumed.expectNothing(100);
  });

  it('should resume messagesIn on the current release from a position the previous one gave', async () => {
    const rooms = ['pos-a', 'pos-b'];
    const firsts = [await publish(previous, rooms[0]!, 'a0'), await publish(current, rooms[1]!, 'b0')];
    const before = subscribeWs(connect(previous), RoomsMessagesDocument, { rooms, after: firsts.map((m) => m.cursor) });
    streams.push(before);
    await publish(current, rooms[0]!, 'a1');
    const [delivered] = await before.take(1);
    const position = (delivered!.extensions as { position?: string } | undefined)?.position;
    expect(position).toMatch(/^p1,/);
    before.dispose();
    await publish(previous, rooms[1]!, 'b1');
    await publish(current, rooms[0]!, 'a2');
    const after = subscribeWs(connect(current), RoomsMessagesDocument, { rooms, after: [position!] });
    streams.push(after);
    const replayed = (await after.take(2)).map(messageIn).map(({ room, data }) => `${room}:${String(data)}`);
    expect(replayed.sort()).toEqual(['pos-a:a2', 'pos-b:b1']);
    await after.expectNothing(100);
  });

  it('should answer a repeated idempotency key on the other release with the stored message, sending nothing', async () => {
    const room = 'idempotent';
    const start = await publish(current, room, 'start');
    const watcher = subscribe(current, room, start.cursor);
    const stored = await publish(previous, room, { order: 1042 }, 'order-1042');
    const repeated = await publish(current, room, { order: 'other' }, 'order-1042');
    expect(repeated).toEqual(stored);
    expect((await watcher.take(1)).map(message).map((m) => m.seq)).toEqual([stored.seq]);
    await watcher.expectNothing(200);
  });

  it('should count members of both releases in one presence', async () => {
    const room = 'together';
    const members = [joinRoom(previous.wsUrl, room, 'on-previous'), joinRoom(current.wsUrl, room, 'on-current')];
    try {
      for (const replica of [previous, current]) {
        const presence = await waitFor(`both members seen from ${replica === previous ? 'previous' : 'current'}`, async () => {
          const { body } = await postGraphQL(replica.url, PresenceDocument, { room });
          return body.data?.presence.count === 2 && body.data.presence;
        });
        expect(presence.members.map((m) => m.clientId).sort()).toEqual(['on-current', 'on-previous']);
      }
    } finally {
      for (const member of members) await member.leave();
    }
  });
});
