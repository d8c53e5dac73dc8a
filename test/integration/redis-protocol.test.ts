/**
 * docs/redis-protocol.md, held to what the code does: its version is the script's and the publisher's,
 * its example (redis-cli EVALSHA) run as written against a real redis-server reaches the subscribers of
 * two servers on it, once even when run twice, its idempotency key names and cursor are the ones the
 * code makes, and the script refuses each malformed argument without writing anything.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { redisKeys } from '../../src/broker/redis-keys.js';
import { PROTOCOL_VERSION, PUBLISH_SCRIPT_URL } from '../../src/broker/redis-publish.js';
import { encodeCursor } from '../../src/rooms/cursor.js';
import { PublishDocument, RoomMessagesDocument, type RoomMessagesSubscription } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, untilLive, wsClient } from '../helpers/clients.js';
import { serversOfThisFile, type TestServer } from '../helpers/in-process.js';
import { findRedisCli } from '../helpers/redis-cluster.js';
import { RedisServer } from '../helpers/redis-server.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(root, 'docs/redis-protocol.md'), 'utf8');
const script = readFileSync(PUBLISH_SCRIPT_URL, 'utf8');
const run = promisify(execFile);
const keys = redisKeys('roomcast:');
/** What the script writes as `v` into each room's meta hash. */
const LAYOUT_VERSION = /^local LAYOUT = '(\d+)'$/m.exec(script)![1]!;

/** The doc's one shell block: the example. */
const example = (() => {
  const blocks = [...doc.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  expect(blocks).toHaveLength(1);
  return blocks[0]!;
})();

describe('the version', () => {
  it('should be the same in the doc, the script and PROTOCOL_VERSION, and the layout version in the doc and the script', () => {
    expect(/^\*\*Protocol version: (\d+)\*\* \(stored layout version (\d+)\)$/m.exec(doc)?.slice(1)).toEqual([
      String(PROTOCOL_VERSION),
      LAYOUT_VERSION,
    ]);
    expect(/^local VERSION = '(\d+)'$/m.exec(script)?.[1]).toBe(String(PROTOCOL_VERSION));
    expect(/^- \*\*(\d+)\*\*: the layout and script above/m.exec(doc)?.[1]).toBe(String(PROTOCOL_VERSION));
  });
});

describe('the names and encodings it states', () => {
  it('should name idempotency keys as the code does', () => {
    for (const [sender, key, text] of [
      ['billing-worker', 'invoice-1042', '["billing-worker","invoice-1042"]'],
      [null, 'invoice-1042', '[null,"invoice-1042"]'],
    ] as const) {
      expect(doc).toContain(`\`${text}\``);
      const hash = createHash('sha256').update(text).digest('hex');
      expect(keys.idempotency('lobby', sender, key)).toBe(`roomcast:{lobby}:idem:${hash}`);
    }
    // "as JSON.stringify writes it": control characters as \u00XX in lower-case hex, non-ASCII as it is.
    expect(JSON.stringify(['\u001f\n', 'é😀'])).toBe('["\\u001f\\n","é😀"]');
  });

  it('should give the cursor of its sample reply', () => {
    const reply = /^```\n(\{"room".*)\n```$/m.exec(doc)![1]!;
    const message = JSON.parse(reply) as { room: string; epoch: string; seq: number };
    expect(doc).toContain(`(for the reply above: \`${encodeCursor(message)}\`)`);
  });
});

describe('the example, run as written', () => {
  let redis: RedisServer;
  let servers: TestServer[];
  const clients: Client[] = [];
  // Registered before the servers' own afterAll, so it runs after it (hooks run as a stack): Redis
  // outlives the servers' connections to it.
  afterAll(async () => {
    await redis?.stop();
  });
  const server = serversOfThisFile();
  beforeAll(async () => {
    redis = await RedisServer.start(inject('redisServerBin'));
    servers = [await server({ REDIS_URL: redis.url }), await server({ REDIS_URL: redis.url })];
  });
  afterAll(async () => {
    for (const client of clients) await client.dispose();
  });

  const runExample = async () => {
    const env = {
      ...process.env,
      REDIS_URL: redis.url,
      PATH: `${dirname(findRedisCli(inject('redisServerBin')))}${delimiter}${process.env.PATH ?? ''}`,
    };
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', example], { cwd: root, env });
    return stdout.trim();
  };

  it('should publish to the subscribers of every server, once however often it runs', async () => {
    const room = 'lobby';
    const streams = servers.map((target) => {
      const client = wsClient(target.wsUrl);
      clients.push(client);
      return subscribeWs(client, RoomMessagesDocument, { room });
    });
    type Result = ExecutionResult<RoomMessagesSubscription>;
    const seqOf = (result: Result) => (result.data!.messages as { seq: number }).seq;
    const probe = async () => (await postGraphQL(servers[0]!.url, PublishDocument, { room, event: 'probe', data: 0 })).body.data!.publish;
    for (const stream of streams) await untilLive(stream, seqOf, probe);
    const last = await probe();
    for (const stream of streams) while (seqOf(await stream.next()) < last.seq);

    const printed = await runExample();
    const reply = JSON.parse(printed) as { room: string; seq: number; epoch: string; publishedAt: number };
    const shown = JSON.parse(/^# (\{.*\})$/m.exec(example)![1]!) as Record<string, unknown>;
    expect(Object.keys(reply)).toEqual(Object.keys(shown));
    expect(reply).toMatchObject({ room, seq: last.seq + 1, event: 'invoice.paid', sender: 'billing-worker', data: { invoice: 1042 } });
    for (const stream of streams) {
      expect((await stream.next()).data!.messages).toEqual({
        __typename: 'Message',
        cursor: encodeCursor(reply),
        room,
        seq: reply.seq,
        event: 'invoice.paid',
        data: { invoice: 1042 },
        publishedAt: new Date(reply.publishedAt).toISOString(),
        sender: 'billing-worker',
      });
    }
    // Again: the idempotency key answers with the same message, and nobody gets it twice.
    expect(await runExample()).toBe(printed);
    const next = await probe();
    expect(next.seq).toBe(reply.seq + 1);
    for (const stream of streams) expect(seqOf(await stream.next())).toBe(next.seq);
    expect(await redis.command('HGET', keys.meta(room), 'v')).toBe(LAYOUT_VERSION);
  });

  it('should have the script refuse each malformed argument, writing nothing', async () => {
    const client = redis.client();
    try {
      const room = 'checked';
      const good = ['epochAbc', 'PUBLISH', room, 'e', '{"n":1}', '1000', '86400000', 'null', '600000', ''];
      const scriptKeys = [keys.meta(room), keys.log(room), keys.channel(room)];
      const call = (args: string[], idem = false) =>
        client.eval(script, idem ? 4 : 3, ...scriptKeys, ...(idem ? [keys.idempotency(room, null, 'k')] : []), ...args);
      const malformed: [number, string][] = [
        [0, ''],
        [0, 'a'.repeat(33)],
        [0, 'a:b'],
        [1, 'publish'],
        [1, 'XADD'],
        [2, 'two words'],
        [2, 'r'.repeat(129)],
        [2, 'a"b'],
        [2, ''],
        [3, ''],
        [3, 'e'.repeat(65)],
        [3, 'é'],
        [4, ''],
        [4, 'null'],
        [5, '0'],
        [5, '-1'],
        [5, '1.5'],
        [6, 'soon'],
        [7, 'worker'],
        [7, '"'],
        [7, ''],
        [9, '"party"'],
        [9, ',"exclude":'],
      ];
      for (const [index, value] of malformed) {
        const args = good.map((arg, i) => (i === index ? value : arg));
        await expect(call(args), `ARGV[${index + 1}] = ${value}`).rejects.toThrow(
          new RegExp(`^ROOMCAST_BAD_ARGUMENT .*ARGV\\[${index + 1}\\]`),
        );
      }
      await expect(
        call(
          good.map((arg, i) => (i === 8 ? 'never' : arg)),
          true,
        ),
      ).rejects.toThrow(/^ROOMCAST_BAD_ARGUMENT .*ARGV\[9\]/);
      expect(await redis.command('EXISTS', keys.meta(room), keys.log(room))).toBe(0);
      // The same arguments, well formed, publish.
      expect(JSON.parse((await call(good)) as string)).toMatchObject({ room, seq: 1, epoch: 'epochAbc', sender: null, data: { n: 1 } });
      const excluded = good.map((arg, i) => (i === 9 ? ',"exclude":"tab-1"' : arg));
      expect(JSON.parse((await call(excluded)) as string)).toMatchObject({ seq: 2, exclude: 'tab-1' });
    } finally {
      client.disconnect();
    }
  });
});
