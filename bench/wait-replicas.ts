/**
 * What REDIS_WAIT_REPLICAS=1 costs a publish (issue 13): roomcast/publisher against a Redis master with
 * one replica (two redis-servers on this machine), publishing at a steady rate, with `waitReplicas` 0
 * and 1 alternately in the same run. Figures per publish: latency (median and p99), the publishing
 * process's CPU, the master's and the replica's CPU (INFO's used_cpu_user + used_cpu_sys). Prints
 * medians over the rounds and the ratios.
 *
 *   npm run bench:wait                                   # 3 rounds of 2,000 publishes at 200/s
 *   npm run bench:wait -- --rounds=5 --publishes=4000 --rate=500
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { findRedisServerBinary, RedisServer } from '../test/helpers/redis-server.js';
import { createPublisher } from '../src/publisher/index.js';
import { spreadOf } from './measure/stats.js';
import { cleanupAll, installCleanup, onCleanup } from './processes.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const ROUNDS = arg('rounds', 3);
const PUBLISHES = arg('publishes', 2_000);
const RATE = arg('rate', 200);
const VARIANTS = [0, 1] as const;

interface Figures {
  readonly latencyMedianUs: number;
  readonly latencyP99Us: number;
  readonly publisherCpuUs: number;
  readonly masterCpuUs: number;
  readonly replicaCpuUs: number;
}

const cpuSeconds = async (server: RedisServer): Promise<number> => {
  const info = String(await server.command('INFO', 'cpu'));
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
};

async function round(master: RedisServer, replica: RedisServer, waitReplicas: number): Promise<Figures> {
  const publisher = createPublisher({ redisUrl: master.url, waitReplicas });
  try {
    for (let i = 0; i < 200; i++) await publisher.publish('bench-wait', 'e', { i }); // warm-up
    const latencies: number[] = [];
    const [masterBefore, replicaBefore] = [await cpuSeconds(master), await cpuSeconds(replica)];
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < PUBLISHES; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait); // pacing to the rate, not waiting for an event
      const sent = performance.now();
      await publisher.publish('bench-wait', 'e', { i });
      latencies.push((performance.now() - sent) * 1000);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const [masterAfter, replicaAfter] = [await cpuSeconds(master), await cpuSeconds(replica)];
    latencies.sort((a, b) => a - b);
    return {
      latencyMedianUs: latencies[Math.floor(latencies.length / 2)]!,
      latencyP99Us: latencies[Math.floor(latencies.length * 0.99)]!,
      publisherCpuUs: (cpu.user + cpu.system) / PUBLISHES,
      masterCpuUs: ((masterAfter - masterBefore) * 1e6) / PUBLISHES,
      replicaCpuUs: ((replicaAfter - replicaBefore) * 1e6) / PUBLISHES,
    };
  } finally {
    await publisher.close();
  }
}

async function main(): Promise<void> {
  installCleanup();
  const bin = await findRedisServerBinary();
  const master = await RedisServer.start(bin);
  onCleanup(() => master.stop());
  const replica = await RedisServer.start(bin, { args: ['--replicaof', '127.0.0.1', String(master.port)] });
  onCleanup(() => replica.stop());
  const results = new Map<number, Figures[]>(VARIANTS.map((variant) => [variant, []]));
  for (let r = 1; r <= ROUNDS; r++) {
    for (const waitReplicas of VARIANTS) {
      const figures = await round(master, replica, waitReplicas);
      results.get(waitReplicas)!.push(figures);
      console.log(
        `round ${r}, waitReplicas ${waitReplicas}: ${JSON.stringify(figures, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
      );
    }
  }
  console.log(`\n${PUBLISHES} publishes at ${RATE}/s per round, ${ROUNDS} rounds; medians (min–max), µs per publish:`);
  const names = Object.keys(results.get(0)![0]!) as (keyof Figures)[];
  for (const name of names) {
    const [without, withWait] = VARIANTS.map((variant) => spreadOf(results.get(variant)!.map((f) => f[name]))!);
    const show = (s: NonNullable<typeof without>) => `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})`;
    console.log(
      `  ${name.padEnd(16)} waitReplicas 0: ${show(without!).padEnd(20)} 1: ${show(withWait!).padEnd(20)} ×${(withWait!.median / without!.median).toFixed(2)}`,
    );
  }
  await cleanupAll();
}

await main();
