/**
 * What a publish costs the process that makes it through roomcast/publisher (issue 11: the publishing
 * process + Redis + replicas against Socket.IO's replicas handling an HTTP publish), against the least
 * any Node process pays to send one Redis command at the same rate: the same script by EVALSHA straight
 * through ioredis (no validation, no reply decoding), and a bare PUBLISH. This process's own CPU time
 * (process.cpuUsage) per publish, variants alternating round by round, medians and ratios printed.
 *
 *   npm run build && npm run bench:publisher-cost            # 100 publishes/s over 100 rooms, 3 rounds of 10 s
 *   npm run bench:publisher-cost -- --rate=500 --rounds=5
 *
 * Runs the build (dist/publisher), as a backend imports it. One redis-server of its own, with two
 * pattern subscribers standing for the replicas.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type * as PublisherModule from '../src/publisher/index.js';
import { PUBLISH_SCRIPT_URL } from '../src/broker/redis-publish.js';
import { spreadOf } from './measure/stats.js';
import { cleanupAll, installCleanup } from './processes.js';
import { startRedis } from './targets/redis.js';

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const RATE = Number(option('rate') ?? 100);
const ROUNDS = Number(option('rounds') ?? 3);
const SECONDS = Number(option('seconds') ?? 10);
const ROOMS = 100;
const BUILT = new URL('../dist/publisher/index.js', import.meta.url);

async function main(): Promise<void> {
  if (!existsSync(BUILT)) throw new Error('roomcast/publisher is not built: run `npm run build` first');
  installCleanup();
  const redis = await startRedis();
  const subscribers = [new Redis(redis.url), new Redis(redis.url)];
  for (const subscriber of subscribers) await subscriber.psubscribe('roomcast:*');
  const { createPublisher } = (await import(BUILT.href)) as typeof PublisherModule;
  const publisher = createPublisher({ redisUrl: redis.url });
  const raw = new Redis(redis.url);
  const sha = String(await raw.script('LOAD', readFileSync(PUBLISH_SCRIPT_URL, 'utf8')));
  const data = (i: number) => ({ sentAt: Date.now(), i, text: 'a chat message of an ordinary length' });
  const variants: Record<string, (room: string, i: number) => Promise<unknown>> = {
    'roomcast/publisher publish()': (room, i) => publisher.publish(room, 'bench', data(i)),
    'EVALSHA by ioredis': (room, i) =>
      raw.evalsha(
        sha,
        3,
        `roomcast:{${room}}:meta`,
        `roomcast:{${room}}:log`,
        `roomcast:{${room}}`,
        'AbCdEfGh',
        'PUBLISH',
        room,
        'bench',
        JSON.stringify(data(i)),
        100,
        3_600_000,
        'null',
        86_400_000,
        '',
      ),
    'PUBLISH by ioredis': (room, i) => raw.publish(`roomcast:{${room}}`, JSON.stringify(data(i))),
  };

  const results = new Map<string, number[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [name, send] of Object.entries(variants)) {
      const perPublish = await measure(send);
      results.set(name, [...(results.get(name) ?? []), perPublish]);
      console.log(`round ${round} ${name.padEnd(30)} ${perPublish.toFixed(0)} µs of this process's CPU per publish`);
    }
  }
  const floor = spreadOf(results.get('PUBLISH by ioredis') ?? [])!.median;
  console.log(`\nthe publishing process's CPU per publish, ${RATE}/s over ${ROOMS} rooms, ${ROUNDS} rounds of ${SECONDS} s, medians:`);
  for (const [name, values] of results) {
    const { median, min, max } = spreadOf(values)!;
    console.log(
      `  ${name.padEnd(30)} ${median.toFixed(0).padStart(5)} µs (${min.toFixed(0)}–${max.toFixed(0)})  ×${(median / floor).toFixed(2)} a bare PUBLISH`,
    );
  }
  await publisher.close();
  raw.disconnect();
  for (const subscriber of subscribers) subscriber.disconnect();
  await cleanupAll();
}

/** Publishes at RATE for SECONDS, one timer tick per due publish as a backend would; CPU µs per publish. */
async function measure(send: (room: string, i: number) => Promise<unknown>): Promise<number> {
  const pending: Promise<unknown>[] = [];
  const before = process.cpuUsage();
  const start = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - start;
      if (elapsed >= SECONDS * 1000) return resolve();
      for (const due = Math.floor((elapsed / 1000) * RATE); sent < due; sent++) pending.push(send(`room-${sent % ROOMS}`, sent));
      setTimeout(tick, Math.max(0, ((sent + 1) * 1000) / RATE - (performance.now() - start)));
    };
    tick();
  });
  await Promise.all(pending);
  const { user, system } = process.cpuUsage(before);
  return (user + system) / sent;
}

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanupAll();
  process.exit(1);
});
