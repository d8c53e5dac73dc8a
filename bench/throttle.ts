/**
 * What `throttleMs` saves (issue 11, part 4): 1,000 WebSocket subscribers of one room receiving
 * 100 msg/s of one event name, each subscription unthrottled, then throttled to 200 ms, alternating
 * in the same run. Two replicas on one redis-server: the publisher's (HTTP publishes at a steady
 * rate) and the subscribers', whose CPU time (utime + stime from /proc) over a fixed window is the
 * figure, so the cost of the publishes' HTTP handling stays out of it. Prints medians and the ratio.
 *
 *   npm run bench:throttle                       # 3 rounds, 1,000 subscribers, 10 s windows
 *   npm run bench:throttle -- --every-rate=50    # the unthrottled variant at 50 msg/s instead of 20
 *   npm run bench:throttle -- --rounds=5 --subscribers=2000 --seconds=20
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { startReplica, type Replica } from '../test/helpers/replica.js';
import { cpuMs } from './measure/proc.js';
import { spreadOf } from './measure/stats.js';
import { cleanupAll, installCleanup, onCleanup, track } from './processes.js';
import { startRedis } from './targets/redis.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const ROUNDS = arg('rounds', 3);
const SUBSCRIBERS = arg('subscribers', 1_000);
const SECONDS = arg('seconds', 10);
const RATE = arg('rate', 100);
/**
 * Unthrottled, 100 msg/s to 1,000 subscribers is 100,000 deliveries/s, more than one client process
 * reads on a 2-core machine; and a client that falls behind makes the server's writes batch up
 * (several frames per syscall), which a deployment whose clients keep up never sees. So the
 * unthrottled variant runs at a rate the clients keep up with, and its CPU per delivery is taken
 * times 100,000.
 */
const EVERY_RATE = arg('every-rate', 20);
const THROTTLE_MS = arg('throttle-ms', 200);
const ROOM = 'bench-throttle';
/** --only=every or --only=throttled: one variant (with --profile, to see where its time goes). */
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.split('=')[1];
const VARIANTS = [
  ['every', 0],
  ['throttled', THROTTLE_MS],
] as const;

interface Figures {
  readonly cpuMsPerSecond: number;
  readonly framesPerSecond: number;
}

/** Opens `count` subscriptions of `messages(room, throttleMs)`; resolves once each is acknowledged. */
async function subscribe(url: string, count: number, throttleMs: number, onFrame: () => void): Promise<WebSocket[]> {
  const query = 'subscription($room: ID!, $t: Int) { messages(room: $room, throttleMs: $t) { ... on Message { seq } } }';
  const open = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
      ws.on('open', () => ws.send('{"type":"connection_init"}'));
      ws.on('error', reject);
      ws.on('message', (data: Buffer) => {
        if (data.includes('"next"')) return onFrame();
        const type = (JSON.parse(data.toString()) as { type: string }).type;
        if (type === 'ping') ws.send('{"type":"pong"}');
        if (type === 'connection_ack') {
          ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables: { room: ROOM, t: throttleMs } } }));
          resolve(ws);
        }
      });
    });
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i += 100) sockets.push(...(await Promise.all(Array.from({ length: Math.min(100, count - i) }, open))));
  return sockets;
}

/** Publishes `rate` messages per second (paced by the clock, not by timer counts) until stopped. */
function publishSteadily(publisher: Replica, rate: number): () => Promise<void> {
  let sent = 0;
  const started = Date.now();
  const inFlight = new Set<Promise<unknown>>();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) / 1000) * rate);
    for (; sent < due; sent++) {
      const body = JSON.stringify({
        query: 'mutation($d: JSON!) { publish(room: "bench-throttle", event: "tick", data: $d) { seq } }',
        variables: { d: { n: sent } },
      });
      const request = fetch(publisher.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) => r.text());
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    }
  }, 5);
  return async () => {
    clearInterval(timer);
    await Promise.allSettled(inFlight);
  };
}

/**
 * The subscribers live in a child process (this file with --clients), so that their CPU competes
 * with no figure's process but their own; it reports the frames it received when asked.
 */
async function clients(): Promise<void> {
  const [url, count, throttleMs] = [process.env.BENCH_URL!, Number(process.env.BENCH_COUNT), Number(process.env.BENCH_THROTTLE_MS)];
  let frames = 0;
  const sockets = await subscribe(url, count, throttleMs, () => frames++);
  process.send!({ ready: true });
  process.on('message', (message: { frames?: boolean; close?: boolean }) => {
    if (message.frames) process.send!({ frames });
    if (message.close) {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  });
}

function startClients(url: string, throttleMs: number) {
  const child = fork(fileURLToPath(import.meta.url), ['--clients'], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BENCH_URL: url, BENCH_COUNT: String(SUBSCRIBERS), BENCH_THROTTLE_MS: String(throttleMs) },
  });
  track(child);
  const reply = <T>(key: string) =>
    new Promise<T>((resolve) => child.on('message', (m: Record<string, unknown>) => key in m && resolve(m[key] as T)));
  const frames = () => {
    const answer = reply<number>('frames');
    child.send({ frames: true });
    return answer;
  };
  return { ready: reply<boolean>('ready'), frames, close: () => child.send({ close: true }) };
}

async function measure(subscriber: Replica, publisher: Replica, throttleMs: number, rate: number): Promise<Figures> {
  const subscribers = startClients(subscriber.wsUrl, throttleMs);
  await subscribers.ready;
  const stop = publishSteadily(publisher, rate);
  await new Promise((resolve) => setTimeout(resolve, 2_000)); // warm-up, not measured
  const pid = subscriber.process.pid!;
  const [cpuBefore, framesBefore, started] = [cpuMs(pid)!, await subscribers.frames(), Date.now()];
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1_000));
  const [cpuAfter, framesAfter, seconds] = [cpuMs(pid)!, await subscribers.frames(), (Date.now() - started) / 1_000];
  await stop();
  subscribers.close();
  return { cpuMsPerSecond: (cpuAfter - cpuBefore) / seconds, framesPerSecond: (framesAfter - framesBefore) / seconds };
}

async function main(): Promise<void> {
  installCleanup();
  const redis = await startRedis();
  const env = { REDIS_URL: redis.url, LOG_LEVEL: 'warn' };
  const start = async (nodeFlags: string[] = []) => {
    const replica = await startReplica({ ...env, LOG_LEVEL: 'info' }, { nodeFlags });
    onCleanup(() => replica.stop('SIGKILL'));
    return replica;
  };
  // --profile=DIR: a V8 CPU profile of the subscribers' replica, written when it stops.
  const profile = process.argv.find((a) => a.startsWith('--profile='))?.split('=')[1];
  const [publisher, subscriber] = [await start(), await start(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [])];
  const results: Record<'every' | 'throttled', Figures[]> = { every: [], throttled: [] };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, ms] of VARIANTS.filter(([name]) => !ONLY || name === ONLY)) {
      const figures = await measure(subscriber, publisher, ms, ms === 0 ? EVERY_RATE : RATE);
      results[name].push(figures);
      console.log(
        `round ${round} ${name.padEnd(9)} ${ms === 0 ? EVERY_RATE : RATE} msg/s: ${figures.cpuMsPerSecond.toFixed(1)} ms CPU/s, ${Math.round(figures.framesPerSecond)} deliveries/s`,
      );
    }
  }
  await subscriber.stop('SIGTERM');
  if (ONLY) {
    await cleanupAll();
    return;
  }
  const cpu = (name: 'every' | 'throttled') => spreadOf(results[name].map((f) => f.cpuMsPerSecond))!.median;
  const frames = (name: 'every' | 'throttled') => spreadOf(results[name].map((f) => f.framesPerSecond))!.median;
  const perDelivery = spreadOf(results.every.map((f) => f.cpuMsPerSecond / f.framesPerSecond))!.median;
  const everyAtRate = perDelivery * RATE * SUBSCRIBERS;
  console.log(`\n${SUBSCRIBERS} subscribers, one event name, ${ROUNDS} rounds of ${SECONDS} s (medians):`);
  console.log(
    `  every message, ${EVERY_RATE} msg/s: ${cpu('every').toFixed(1)} ms CPU/s of the subscribers' replica at ${Math.round(frames('every'))} deliveries/s: ${(perDelivery * 1000).toFixed(2)} µs per delivery, so ${everyAtRate.toFixed(0)} ms/s at ${RATE * SUBSCRIBERS} deliveries/s`,
  );
  console.log(
    `  throttleMs=${THROTTLE_MS}, ${RATE} msg/s: ${cpu('throttled').toFixed(1)} ms CPU/s, ${Math.round(frames('throttled'))} deliveries/s`,
  );
  console.log(
    `  ratio         : ×${(cpu('throttled') / everyAtRate).toFixed(3)} of unthrottled delivery's CPU at ${RATE} msg/s (bar: ≤ ×0.1); ×${(cpu('throttled') / cpu('every')).toFixed(3)} of what the unthrottled run cost at ${EVERY_RATE} msg/s`,
  );
  await cleanupAll();
}

if (process.argv.includes('--clients')) {
  void clients();
} else {
  main().catch(async (error: unknown) => {
    console.error(error);
    await cleanupAll();
    process.exit(1);
  });
}
