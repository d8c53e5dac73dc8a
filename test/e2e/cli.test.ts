/**
 * The `roomcast` bin as a user runs it: the built dist/cli/main.js (the global setup rebuilds dist/
 * when a source is newer) in its own process, against real server processes on a redis-server of
 * this file. publish (over HTTP, and through roomcast/publisher with --redis), history, tail across a
 * killed and restarted server, serve, the server's error codes and exit codes, usage errors, and the
 * server process's handling of faults nobody caught (logged, closed, exit 1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { PublishDocument, RoomMessagesDocument, type RoomMessagesSubscription } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, untilLive, wsClient } from '../helpers/clients.js';
import { freePort } from '../helpers/free-port.js';
import { RedisServer } from '../helpers/redis-server.js';
import { startReplica, type Replica } from '../helpers/replica.js';
import { waitFor, within } from '../helpers/wait.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(root, 'dist/cli/main.js');
const SECRET = 'the-cli-test-secret-of-32-bytes-or-more';

/** The environment of every CLI process: the test's, without a URL or token the machine may set. */
const cliEnv = (env: Record<string, string>) => {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.ROOMCAST_URL;
  delete base.ROOMCAST_TOKEN;
  return { ...base, ...env };
};

interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `roomcast <args>` to its end. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: root, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Ran>((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
  return within(exited, 20_000, `roomcast ${args.join(' ')} to exit`);
}

/** `roomcast <args>` that succeeded; its stdout's JSON lines. */
async function cliLines(args: string[], env: Record<string, string> = {}): Promise<Line[]> {
  const { code, stdout, stderr } = await cli(args, env);
  expect(code, stderr).toBe(0);
  return parseLines(stdout);
}

type Line = {
  __typename: string;
  room: string;
  seq: number;
  event: string;
  data: unknown;
  cursor: string;
  publishedAt: string;
  sender: string | null;
  missed?: number | null;
};

const parseLines = (text: string): Line[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);

/** A CLI process that runs until stopped (tail, serve), its output read as it comes. */
interface Running {
  readonly process: ChildProcess;
  readonly lines: Line[];
  stderr(): string;
  stdout(): string;
  /** Its exit code, once it exited by itself. */
  exited(): Promise<number | null>;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

const running: Running[] = [];

function start(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): Running {
  const child = spawn(process.execPath, [...nodeFlags, BIN, ...args], { cwd: root, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const lines: Line[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    const complete = stdout.slice(0, stdout.lastIndexOf('\n') + 1);
    if (args[0] === 'tail') lines.splice(0, lines.length, ...parseLines(complete));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  const handle: Running = {
    process: child,
    lines,
    stderr: () => stderr,
    stdout: () => stdout,
    exited: () => within(exited, 15_000, `roomcast ${args[0]} to exit by itself`),
    async stop(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return within(exited, 15_000, `roomcast ${args[0]} to exit on ${signal}`);
    },
  };
  running.push(handle);
  return handle;
}

let redis: RedisServer;
const replicas: Replica[] = [];
const clients: Client[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'roomcast-cli-'));

beforeAll(async () => {
  redis = await RedisServer.start(inject('redisServerBin'));
});
afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  for (const handle of running.splice(0)) await handle.stop('SIGKILL');
});
afterAll(async () => {
  for (const replica of replicas.splice(0)) await replica.stop('SIGKILL');
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function replica(env: Record<string, string> = {}): Promise<Replica> {
  const started = await startReplica({ REDIS_URL: redis.url, ...env });
  replicas.push(started);
  return started;
}

async function mutate(target: Replica, room: string, data: unknown) {
  const { body } = await postGraphQL(target.url, PublishDocument, { room, event: 'e', data });
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.publish;
}

const token = (claims: Record<string, unknown>) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));

describe('usage', () => {
  it('should print the usage with --help, for the bin and each command, and the version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['serve', 'publish <room> <event> <json>', 'tail <room>', 'history <room>'])
      expect(help.stdout).toContain(command);
    for (const command of ['serve', 'publish', 'tail', 'history']) {
      const own = await cli([command, '--help']);
      expect(own.code).toBe(0);
      expect(own.stdout).toContain(`Usage: roomcast ${command}`);
    }
    const packageJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect((await cli(['--version'])).stdout).toBe(`${packageJson.version}\n`);
  });

  it.each([
    [[], 'no command given'],
    [['bogus'], 'unknown command "bogus"'],
    [['publish', 'lobby', 'e', '1', '--bogus'], "Unknown option '--bogus'"],
    [['publish', 'lobby', 'e'], 'missing <json>'],
    [['publish', 'lobby', 'e', '{x'], '<json> must be a JSON value'],
    [['publish', 'lobby', 'e', '1', '--sender', 'worker'], '--sender needs --redis'],
    [['publish', 'lobby', 'e', '1', '--redis', 'http://not-redis'], '--redis must look like redis://'],
    [['history', 'lobby', '--limit', 'ten'], '--limit must be a whole number'],
    [['history', 'lobby', '--limit', '5000'], '--limit must be a whole number from 1 to 1000'],
    [['history', 'lobby', '--limit', '0'], '--limit must be a whole number from 1 to 1000'],
    [['history', 'lobby', 'extra'], 'unexpected argument "extra"'],
    [['history', 'lobby', '--url', 'ftp://example.com/graphql'], '--url must be an http(s):// or ws(s):// URL'],
    [['tail'], 'missing <room>'],
    [['serve', '--port', '4000'], "Unknown option '--port'"],
  ])('should exit 2 with the usage for %j', async (args, message) => {
    const { code, stdout, stderr } = await cli(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^roomcast: USAGE: /);
    expect(stderr).toContain(message);
    expect(stderr).toContain('Usage: roomcast');
  });
});

describe('against replicas on Redis', () => {
  let server: Replica;
  let url: string;
  beforeAll(async () => {
    // A fixed port, so that the tail test can start a new replica where the old one was.
    server = await replica({ PORT: String(await freePort()) });
    url = server.url;
  });

  it('should publish over HTTP and print the stored message, once per idempotency key', async () => {
    const [first] = await cliLines(['publish', 'cli-publish', 'chat', '{"text":"hi"}', '--url', url]);
    expect(first).toMatchObject({ __typename: 'Message', room: 'cli-publish', seq: 1, event: 'chat', data: { text: 'hi' }, sender: null });
    const { body } = await postGraphQL(url, `{ history(room: "cli-publish") { seq cursor publishedAt } }`);
    expect(body.data).toEqual({ history: [{ seq: 1, cursor: first!.cursor, publishedAt: first!.publishedAt }] });

    const keyed = ['publish', 'cli-publish', 'order', '{"id":7}', '--idempotency-key', 'order-7', '--url', url];
    const [stored] = await cliLines(keyed);
    expect(await cliLines(keyed)).toEqual([stored]);
    expect(stored!.seq).toBe(2);
    // A ws:// URL is the same endpoint; "*" is the broadcast stream.
    expect((await cliLines(['publish', 'cli-publish', 'chat', '"again"', '--url', server.wsUrl]))[0]!.seq).toBe(3);
    expect((await cliLines(['publish', '*', 'notice', '{"all":true}', '--url', url]))[0]).toMatchObject({ room: '*', event: 'notice' });
  });

  it('should publish through roomcast/publisher with --redis, to the subscribers of a replica', async () => {
    const client = wsClient(server.wsUrl);
    clients.push(client);
    const stream = subscribeWs(client, RoomMessagesDocument, { room: 'cli-redis' });
    const eventOf = (result: ExecutionResult<RoomMessagesSubscription>) => result.data!.messages as Line;
    await untilLive(
      stream,
      (result) => eventOf(result).seq,
      () => mutate(server, 'cli-redis', 'probe'),
    );

    const [printed] = await cliLines(['publish', 'cli-redis', 'job.done', '{"job":42}', '--redis', redis.url, '--sender', 'worker']);
    expect(printed).toMatchObject({ __typename: 'Message', room: 'cli-redis', event: 'job.done', data: { job: 42 }, sender: 'worker' });
    const received = eventOf(await stream.next());
    expect(received).toMatchObject({
      seq: printed!.seq,
      cursor: printed!.cursor,
      data: { job: 42 },
      sender: 'worker',
      publishedAt: printed!.publishedAt,
    });
  });

  it('should print history as NDJSON, after a cursor and up to a limit', async () => {
    const published = [];
    for (let n = 1; n <= 5; n++) published.push(await mutate(server, 'cli-history', { n }));
    expect((await cliLines(['history', 'cli-history', '--url', url])).map((line) => line.seq)).toEqual([1, 2, 3, 4, 5]);
    const page = await cliLines(['history', 'cli-history', '--after', published[0]!.cursor, '--limit', '2', '--url', url]);
    expect(page.map((line) => [line.seq, line.data, line.cursor])).toEqual([
      [2, { n: 2 }, published[1]!.cursor],
      [3, { n: 3 }, published[2]!.cursor],
    ]);
    expect(await cliLines(['history', 'cli-history', '--after', published[4]!.cursor, '--url', url])).toEqual([]);
  });

  it('should tail a room across a killed and restarted server, with no gap or duplicate, and exit 0 on SIGINT', async () => {
    const room = 'cli-tail';
    const tail = start(['tail', room, '--url', url]);
    // No "subscribed" acknowledgement exists: probes until the tail prints one, then reads up to the last.
    let lastProbe = 0;
    await waitFor('the tail to print a probe', async () => {
      lastProbe = (await mutate(server, room, 'probe')).seq;
      return tail.lines.length > 0;
    });
    await waitFor('the tail to print the last probe', () => tail.lines.at(-1)!.seq === lastProbe);
    for (let n = 1; n <= 3; n++) await mutate(server, room, { n });

    const port = String(server.port);
    await server.stop('SIGKILL');
    await waitFor('the tail to notice', () => tail.stderr().includes('lost'));
    // Published while no server runs: straight into Redis.
    for (let n = 4; n <= 6; n++) await cliLines(['publish', room, 'e', JSON.stringify({ n }), '--redis', redis.url]);
    server = await replica({ PORT: port });
    for (let n = 7; n <= 8; n++) await mutate(server, room, { n });

    const last = lastProbe + 8;
    await waitFor('the tail to print every message', () => tail.lines.at(-1)?.seq === last, 20_000);
    expect(tail.lines.map((line) => line.seq)).toEqual(Array.from({ length: last }, (_, i) => i + 1).slice(last - tail.lines.length));
    expect(tail.lines.slice(-8).map((line) => line.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => ({ n })));
    expect(tail.lines.every((line) => line.__typename === 'Message' && line.room === room)).toBe(true);
    expect(await tail.stop('SIGINT')).toBe(0);
    expect(tail.stderr()).toContain('resuming');
  });

  it('should tail from --after: the held messages after the cursor, then live; exit 0 on SIGTERM', async () => {
    const room = 'cli-after';
    const published = [];
    for (let n = 1; n <= 3; n++) published.push(await mutate(server, room, { n }));
    const tail = start(['tail', room, '--after', published[0]!.cursor, '--url', server.wsUrl]);
    await waitFor('the replay', () => tail.lines.length === 2);
    const live = await mutate(server, room, { n: 4 });
    await waitFor('the live message', () => tail.lines.length === 3);
    expect(tail.lines.map((line) => [line.seq, line.cursor])).toEqual([
      [2, published[1]!.cursor],
      [3, published[2]!.cursor],
      [4, live.cursor],
    ]);
    expect(await tail.stop('SIGTERM')).toBe(0);
  });

  it('should tail and read the broadcast stream as room "*"', async () => {
    const [first] = await cliLines(['publish', '*', 'first', '1', '--url', url]);
    const tail = start(['tail', '*', '--after', first!.cursor, '--url', url]);
    const [second] = await cliLines(['publish', '*', 'second', '2', '--url', url]);
    await waitFor('the broadcast', () => tail.lines.length === 1);
    expect(tail.lines).toEqual([second]);
    expect(await cliLines(['history', '*', '--after', first!.cursor, '--url', url])).toEqual([second]);
    expect(await tail.stop('SIGINT')).toBe(0);
  });

  it('should keep trying a server that is not up yet, and start once it is', async () => {
    const port = await freePort();
    const tail = start(['tail', 'cli-later', '--url', `ws://127.0.0.1:${port}/graphql`]);
    await waitFor('the tail to say it cannot connect', () => tail.stderr().includes('retrying until interrupted'));
    const later = await replica({ PORT: String(port) });
    await waitFor('the tail to print a probe', async () => {
      await mutate(later, 'cli-later', 'probe');
      return tail.lines.length > 0;
    });
    expect(tail.lines[0]).toMatchObject({ room: 'cli-later', data: 'probe' });
    expect(tail.stderr().match(/cannot connect/g)).toHaveLength(1);
    expect(await tail.stop('SIGINT')).toBe(0);
    await later.stop();
  });

  it("should print the server's code and exit 1 when it refuses", async () => {
    const cases: [string[], string][] = [
      [['publish', 'bad room!', 'e', '1', '--url', url], 'BAD_USER_INPUT'],
      [['publish', 'lobby', 'e', 'null', '--url', url], 'BAD_USER_INPUT'],
      [['history', 'lobby', '--after', 'not-a-cursor', '--url', url], 'BAD_USER_INPUT'],
      [['tail', 'bad room!', '--url', url], 'BAD_USER_INPUT'],
      [['publish', 'bad room!', 'e', '1', '--redis', redis.url], 'BAD_USER_INPUT'],
    ];
    for (const [args, code] of cases) {
      const ran = await cli(args);
      expect(ran.code, args.join(' ')).toBe(1);
      expect(ran.stdout).toBe('');
      expect(ran.stderr).toMatch(new RegExp(`^roomcast: ${code}: \\S`));
    }
  });

  it('should exit 3 when the server cannot be reached, and 1 with UNAVAILABLE when Redis cannot', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}/graphql`;
    const ran = await cli(['publish', 'lobby', 'e', '1', '--url', nowhere]);
    expect(ran.code).toBe(3);
    expect(ran.stderr).toBe(`roomcast: UNREACHABLE: cannot reach ${nowhere}: connect ECONNREFUSED ${new URL(nowhere).host}\n`);
    expect((await cli(['history', 'lobby', '--url', nowhere])).code).toBe(3);

    const noRedis = await cli(['publish', 'lobby', 'e', '1', '--redis', `redis://127.0.0.1:${await freePort()}`], {
      BROKER_TIMEOUT_MS: '300',
    });
    expect(noRedis.code).toBe(1);
    expect(noRedis.stderr).toMatch(/^roomcast: UNAVAILABLE: .*ECONNREFUSED/);
  });
});

describe('with auth on', () => {
  let server: Replica;
  beforeAll(async () => {
    server = await replica({ AUTH_JWT_SECRET: SECRET, ANONYMOUS_CAPABILITY: '{"open":["history"]}' });
  });

  it('should send --token or ROOMCAST_TOKEN, and print UNAUTHENTICATED and FORBIDDEN refusals', async () => {
    const alice = await token({ sub: 'alice', roomcast: { lobby: ['publish', 'history', 'subscribe'] } });
    const reader = await token({ sub: 'bob', roomcast: { lobby: ['history'] } });
    const [mine] = await cliLines(['publish', 'lobby', 'e', '1', '--url', server.url, '--token', alice]);
    expect(mine).toMatchObject({ seq: 1, sender: 'alice' });
    expect(await cliLines(['history', 'lobby', '--url', server.url], { ROOMCAST_TOKEN: reader })).toEqual([mine]);
    expect(await cliLines(['history', 'open'], { ROOMCAST_URL: server.url })).toEqual([]);

    const refusals: [string[], Record<string, string>, string][] = [
      [['publish', 'lobby', 'e', '2'], {}, 'UNAUTHENTICATED'],
      [['publish', 'lobby', 'e', '2', '--token', reader], {}, 'FORBIDDEN'],
      [['publish', 'lobby', 'e', '2', '--token', 'not-a-token'], {}, 'UNAUTHENTICATED'],
      [['history', 'lobby'], {}, 'UNAUTHENTICATED'],
      [['tail', 'lobby', '--token', reader], {}, 'FORBIDDEN'],
      [['tail', 'lobby'], {}, 'UNAUTHENTICATED'],
    ];
    for (const [args, env, code] of refusals) {
      const ran = await cli([...args, '--url', server.url], env);
      expect(ran.code, args.join(' ')).toBe(1);
      expect(ran.stderr).toMatch(new RegExp(`^roomcast: ${code}: \\S`));
    }
  });

  it('should end a tail whose token is refused at connection_init with the close code', async () => {
    const expired = await new SignJWT({ sub: 'carol' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .sign(new TextEncoder().encode(SECRET));
    const ran = await cli(['tail', 'lobby', '--url', server.wsUrl, '--token', expired]);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^roomcast: 4403: invalid token: .*expired/m);
    expect(ran.stderr).not.toContain(expired);
  });
});

describe('serve', () => {
  /** Starts `roomcast serve` (or another entry) and waits for its "listening" line; its URL. */
  async function serve(env: Record<string, string>, nodeFlags: string[] = []): Promise<{ process: Running; url: string }> {
    const server = start(['serve'], { PORT: '0', HOST: '127.0.0.1', ...env }, nodeFlags);
    const line = await waitFor(
      'roomcast serve to listen',
      () => {
        if (server.process.exitCode !== null) throw new Error(`exited ${server.process.exitCode}: ${server.stderr()}`);
        return server
          .stdout()
          .split('\n')
          .find((candidate) => candidate.includes('"roomcast listening"'));
      },
      20_000,
    );
    return { process: server, url: (JSON.parse(line) as { url: string }).url };
  }

  it('should run the server as npm start does, answer, and stop on SIGTERM with 0', async () => {
    const { process: server, url } = await serve({ REDIS_URL: redis.url });
    const health = await fetch(new URL('/healthz', url));
    expect(health.status).toBe(200);
    expect((await cliLines(['publish', 'served', 'e', '1', '--url', url]))[0]).toMatchObject({ room: 'served', seq: 1 });
    expect(await server.stop('SIGTERM')).toBe(0);
    expect(server.stdout()).toContain('"roomcast stopped"');
  });

  // Faults are raised from outside the product's code: a module preloaded into the process throws (or
  // rejects) when it receives SIGUSR2. The message carries a token, which must not reach the log.
  const preload = join(tmp, 'fault.mjs');
  const leaked = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLWJ5dGVz';
  writeFileSync(
    preload,
    `process.on('SIGUSR2', () => {
  if (process.env.FAULT === 'reject') void Promise.reject(new TypeError('refused Bearer ${leaked}'));
  else throw new RangeError('boom near ${leaked}');
});
`,
  );

  it.each([
    ['throw', 'uncaught exception; shutting down', 'RangeError', 'boom near [redacted]'],
    ['reject', 'unhandled rejection; shutting down', 'TypeError', 'refused Bearer [redacted]'],
  ])('should log a fault nobody handled (%s) with its stack, close, and exit 1', async (fault, msg, name, message) => {
    const { process: server } = await serve({ FAULT: fault }, ['--import', preload]);
    server.process.kill('SIGUSR2');
    expect(await server.exited()).toBe(1);
    const logged = server
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; msg: string; error?: { name: string; message: string; stack: string } })
      .find((line) => line.msg === msg);
    expect(logged).toMatchObject({ level: 'error', error: { name, message } });
    expect(logged!.error!.stack).toContain(preload);
    expect(server.stdout()).toContain('"roomcast stopped"');
    expect(server.stderr() + server.stdout()).not.toContain(leaked);
  });

  it('should still start as `node dist/main.js` (npm start)', async () => {
    const child = spawn(process.execPath, [join(root, 'dist/main.js')], {
      cwd: root,
      env: cliEnv({ PORT: '0', HOST: '127.0.0.1' }),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      await waitFor('npm start to listen', () => stdout.includes('"roomcast listening"'), 20_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await within(exited, 15_000, 'npm start to exit')).toBe(0);
  });
});
