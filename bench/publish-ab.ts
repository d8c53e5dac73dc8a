/**
 * What one publish costs a replica, this tree against another commit, alternating in one run (issue
 * 14): one replica on its own redis-server, WebSocket subscribers spread over rooms, publishes through
 * the `publish` mutation over HTTP keep-alive at a steady rate. The figure is the replica's CPU time
 * (utime + stime from /proc, and utime alone) per publish. A change of a few percent drowns in this
 * VM's noise between invocations of `npm run bench`; here both trees run side by side, rounds
 * alternate, and the medians and their ratio are printed.
 *
 *   npm run bench:publish-ab -- --base=HEAD~3                # 3 rounds, 500 subscribers over 100 rooms, 100 msg/s, 15 s
 *   npm run bench:publish-ab -- --base=main --rounds=5 --rooms=1000 --subscribers=3000 --rate=200
 *
 * The base is checked out (git worktree) under .cache/publish-ab/, with this tree's node_modules, and
 * both run from their sources (node --import tsx src/main.ts), as the bench's targets do.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startReplica, type Replica } from '../test/helpers/replica.js';
import { spreadOf } from './measure/stats.js';
import { cleanupAll, installCleanup, onCleanup } from './processes.js';
import { startRedis } from './targets/redis.js';

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const number = (name: string, fallback: number) => Number(option(name) ?? fallback);
const BASE = option('base');
const ROUNDS = number('rounds', 3);
const SUBSCRIBERS = number('subscribers', 500);
const ROOMS = number('rooms', 100);
const RATE = number('rate', 100);
const SECONDS = number('seconds', 15);
const WARM_SECONDS = 3;
const root = fileURLToPath(new URL('../', import.meta.url));

interface Figures {
  readonly cpuUs: number;
  readonly userUs: number;
}

/** The base commit's tree, checked out once and reused; node_modules is this tree's. */
function checkout(rev: string): string {
  const commit = execFileSync('git', ['rev-parse', '--short', rev], { cwd: root, encoding: 'utf8' }).trim();
  const dir = `${root}.cache/publish-ab/${commit}`;
  if (!existsSync(dir)) {
    execFileSync('git', ['worktree', 'add', '--detach', dir, commit], { cwd: root, stdio: 'ignore' });
    symlinkSync(`${root}node_modules`, `${dir}/node_modules`);
  }
  return dir;
}

/** utime and stime of a process, in µs. */
function cpuOf(pid: number): { total: number; user: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const [user, system] = [Number(fields[11]), Number(fields[12])].map((ticks) => ticks * 10_000) as [number, number];
  return { total: user + system, user };
}

/** SUBSCRIBERS subscriptions of the bench's operation, room k % ROOMS each; resolves once all are acknowledged. */
async function subscribe(url: string): Promise<WebSocket[]> {
  const query = 'subscription Bench($room: ID!) { messages(room: $room) { ... on Message { seq data } } }';
  const open = (k: number): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
      ws.on('open', () => ws.send('{"type":"connection_init"}'));
      ws.on('error', reject);
      ws.on('message', (data: Buffer) => {
        if (data.includes('"next"')) return;
        const type = (JSON.parse(data.toString()) as { type: string }).type;
        if (type === 'ping') ws.send('{"type":"pong"}');
        if (type === 'connection_ack') {
          ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { room: `room-${k % ROOMS}` } } }));
          resolve(ws);
        }
      });
    });
  const sockets: WebSocket[] = [];
  for (let i = 0; i < SUBSCRIBERS; i += 100)
    sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, SUBSCRIBERS - i) }, (_, j) => open(i + j)))));
  return sockets;
}

/** `seconds` of publishes at RATE (paced by the clock), round-robin over the rooms; resolves with how many succeeded. */
async function publishFor(replica: Replica, agent: Agent, seconds: number): Promise<number> {
  const total = Math.round(RATE * seconds);
  const started = Date.now();
  let ok = 0;
  const sent: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = started + (i * 1000) / RATE - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const body = JSON.stringify({
      query: 'mutation($room: ID!, $data: JSON!) { publish(room: $room, event: "bench", data: $data) { seq } }',
      variables: { room: `room-${i % ROOMS}`, data: { n: i, t: Date.now() } },
    });
    sent.push(
      new Promise((resolve) => {
        const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
        const req = request({ host: '127.0.0.1', port: replica.port, path: '/graphql', method: 'POST', agent, headers }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => {
            if (res.statusCode === 200 && !text.includes('"errors"')) ok++;
            resolve();
          });
        });
        req.on('error', () => resolve());
        req.end(body);
      }),
    );
  }
  await Promise.all(sent);
  return ok;
}

async function measure(cwd: string, redisUrl: string): Promise<Figures> {
  const replica = await startReplica({ REDIS_URL: redisUrl, MAX_CONNECTIONS: '100000', DRAIN_MS: '0' }, { cwd });
  const stopReplica = onCleanup(() => replica.stop('SIGKILL'));
  const sockets = await subscribe(replica.wsUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  await publishFor(replica, agent, WARM_SECONDS);
  const pid = replica.process.pid!;
  const before = cpuOf(pid);
  const published = await publishFor(replica, agent, SECONDS);
  const after = cpuOf(pid);
  agent.destroy();
  for (const ws of sockets) ws.terminate();
  stopReplica();
  await replica.stop('SIGKILL');
  if (published === 0) throw new Error('no publish succeeded');
  return { cpuUs: (after.total - before.total) / published, userUs: (after.user - before.user) / published };
}

async function main(): Promise<void> {
  if (!BASE)
    throw new Error(
      'usage: npm run bench:publish-ab -- --base=<commit> [--rounds=3] [--subscribers=500] [--rooms=100] [--rate=100] [--seconds=15]',
    );
  installCleanup();
  const trees = { base: checkout(BASE), current: root };
  const results: Record<keyof typeof trees, Figures[]> = { base: [], current: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of ['base', 'current'] as const) {
      // A fresh Redis each time: neither tree inherits the other's rooms.
      const redis = await startRedis();
      const figures = await measure(trees[name], redis.url);
      await redis.stop();
      results[name].push(figures);
      console.log(
        `round ${round} ${name.padEnd(7)}: ${figures.cpuUs.toFixed(0)} µs CPU per publish (${figures.userUs.toFixed(0)} µs user)`,
      );
    }
  }
  const median = (name: keyof typeof trees, key: keyof Figures) => spreadOf(results[name].map((f) => f[key]))!.median;
  console.log(`\n${SUBSCRIBERS} subscribers over ${ROOMS} rooms, ${RATE} msg/s, ${ROUNDS} rounds of ${SECONDS} s, medians:`);
  console.log(`  base ${BASE}: ${median('base', 'cpuUs').toFixed(0)} µs per publish (${median('base', 'userUs').toFixed(0)} user)`);
  console.log(`  current     : ${median('current', 'cpuUs').toFixed(0)} µs per publish (${median('current', 'userUs').toFixed(0)} user)`);
  const ratios = results.current.map((f, i) => f.cpuUs / results.base[i]!.cpuUs);
  const spread = spreadOf(ratios)!;
  console.log(`  current ÷ base: ×${spread.median.toFixed(3)} (rounds ${spread.min.toFixed(3)}–${spread.max.toFixed(3)})`);
  await cleanupAll();
}

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanupAll();
  process.exit(1);
});
