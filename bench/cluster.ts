/**
 * Publishing on a Redis Cluster of 1 shard against 3 shards (issue 13): roomcast/publisher running the
 * publish script, and the Redis backend's own sharded listener (one SSUBSCRIBE connection per master,
 * listening to every room: what one Roomcast replica costs each shard), both in this process, over 100
 * rooms spread over the shards. Masters only, no Redis replicas. The same load on both, in one run:
 *
 * - at a fixed rate (default 2,000 publishes/s): Redis CPU per publish (every master, summed) and this
 *   process's CPU per publish (publisher and listener);
 * - at saturation (64 publishes in flight for 5 s): publishes/s, and how busy each master and this
 *   process were (% of one core).
 *
 * Prints medians over the rounds (min–max), then what a held message costs Redis: MEMORY USAGE of a
 * room's history holding HISTORY_SIZE (1,000) messages of ~100 bytes of data, per message. On a 2-core
 * machine, read the saturation figures with the cores in mind: 3 masters and the publishing process
 * share 2 cores.
 *
 *   npm run bench:cluster
 *   npm run bench:cluster -- --rounds=3 --rate=2000 --publishes=10000 --seconds=5 --in-flight=64
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createBroker } from '../src/broker/broker.js';
import { createRedisBackend } from '../src/broker/redis.js';
import { createLogger } from '../src/log.js';
import { createPublisher, type Publisher } from '../src/publisher/index.js';
import { RedisCluster } from '../test/helpers/redis-cluster.js';
import { findRedisServerBinary, type RedisServer } from '../test/helpers/redis-server.js';
import { waitFor } from '../test/helpers/wait.js';
import { spreadOf } from './measure/stats.js';
import { cleanupAll, installCleanup, onCleanup } from './processes.js';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const ROUNDS = arg('rounds', 3);
const RATE = arg('rate', 2_000);
const PUBLISHES = arg('publishes', 10_000);
const SECONDS = arg('seconds', 5);
const IN_FLIGHT = arg('in-flight', 64);
const ROOMS = Array.from({ length: 100 }, (_, i) => `bench-${i}`);
const SHARDS = [1, 3] as const;

interface Figures {
  /** Fixed rate: µs of CPU per publish. */
  readonly redisCpuUs: number;
  readonly processCpuUs: number;
  /** Saturation. */
  readonly publishesPerSecond: number;
  /** % of one core, over the saturation window. */
  readonly busiestMasterPct: number;
  readonly allMastersPct: number;
  readonly processPct: number;
}

const cpuSeconds = async (servers: readonly RedisServer[]): Promise<number[]> =>
  Promise.all(
    servers.map(async (server) => {
      const info = String(await server.command('INFO', 'cpu'));
      const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
      return field('used_cpu_user') + field('used_cpu_sys');
    }),
  );
const processSeconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};

/** A deployment: the cluster, a publisher and a listener on every room. */
async function deployment(shards: number) {
  const cluster = await RedisCluster.start(await findRedisServerBinary(), { masters: shards, replicas: 0 });
  onCleanup(() => cluster.stop());
  const redis = { kind: 'cluster', nodes: cluster.addresses, tls: false } as const;
  const log = createLogger('silent');
  const backend = createRedisBackend({ redis, keyPrefix: 'roomcast:', historySize: 1000, historyTtlSeconds: 3600, timeoutMs: 2_000, log });
  const broker = createBroker(backend, log);
  let received = 0;
  const deliver = backend.onMessage;
  backend.onMessage = (message) => {
    received++;
    deliver(message);
  };
  await waitFor('the listener', () => broker.ready(), 20_000);
  for (const room of ROOMS) await backend.listen(room);
  const publisher = createPublisher({ redisClusterNodes: cluster.seeds });
  return {
    cluster,
    publisher,
    received: () => received,
    close: async () => {
      await publisher.close();
      await broker.close();
      await cluster.stop();
    },
  };
}

async function atRate(publisher: Publisher, masters: readonly RedisServer[]) {
  const [redisBefore, processBefore] = [await cpuSeconds(masters), processSeconds()];
  const start = performance.now();
  for (let i = 0; i < PUBLISHES; i++) {
    const wait = start + (i * 1000) / RATE - performance.now();
    if (wait > 0) await sleep(wait); // pacing to the rate, not waiting for an event
    void publisher.publish(ROOMS[i % ROOMS.length]!, 'e', { i });
  }
  await publisher.publish(ROOMS[0]!, 'e', 'last'); // after every one before it on its connection
  const redis = (await cpuSeconds(masters)).reduce((sum, after, i) => sum + after - redisBefore[i]!, 0);
  return { redisCpuUs: (redis * 1e6) / PUBLISHES, processCpuUs: ((processSeconds() - processBefore) * 1e6) / PUBLISHES };
}

async function saturated(publisher: Publisher, masters: readonly RedisServer[]) {
  const [redisBefore, processBefore] = [await cpuSeconds(masters), processSeconds()];
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, worker) => {
      for (let i = worker; performance.now() < end; i += IN_FLIGHT) {
        await publisher.publish(ROOMS[i % ROOMS.length]!, 'e', { i });
        done++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const masterPct = (await cpuSeconds(masters)).map((after, i) => ((after - redisBefore[i]!) / seconds) * 100);
  return {
    publishesPerSecond: done / seconds,
    busiestMasterPct: Math.max(...masterPct),
    allMastersPct: masterPct.reduce((sum, pct) => sum + pct, 0),
    processPct: ((processSeconds() - processBefore) / seconds) * 100,
  };
}

async function main(): Promise<void> {
  installCleanup();
  const results = new Map<number, Figures[]>(SHARDS.map((shards) => [shards, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const shards of SHARDS) {
      const deployed = await deployment(shards);
      try {
        const masters = deployed.cluster.nodes;
        for (let i = 0; i < 2_000; i++) await deployed.publisher.publish(ROOMS[i % ROOMS.length]!, 'e', { i }); // warm-up
        const figures = { ...(await atRate(deployed.publisher, masters)), ...(await saturated(deployed.publisher, masters)) };
        await waitFor('every message heard', () => deployed.received() > 0, 10_000);
        results.get(shards)!.push(figures);
        console.log(
          `round ${round}, ${shards} shard(s): ${JSON.stringify(figures, (_k, v: unknown) => (typeof v === 'number' ? Math.round(v) : v))}`,
        );
      } finally {
        await deployed.close();
      }
    }
  }
  console.log(
    `\n${ROOMS.length} rooms; fixed rate ${RATE}/s (${PUBLISHES} publishes), saturation ${IN_FLIGHT} in flight for ${SECONDS} s; ${ROUNDS} rounds, medians (min–max):`,
  );
  const names = Object.keys(results.get(1)![0]!) as (keyof Figures)[];
  for (const name of names) {
    const [one, three] = SHARDS.map((shards) => spreadOf(results.get(shards)!.map((f) => f[name]))!);
    const show = (s: NonNullable<typeof one>) => `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})`;
    console.log(
      `  ${name.padEnd(18)} 1 shard: ${show(one!).padEnd(22)} 3 shards: ${show(three!).padEnd(22)} ×${(three!.median / one!.median).toFixed(2)}`,
    );
  }
  console.log(`  bytes of Redis memory per held message (~100 bytes of data): ${await heldMessageBytes()}`);
  await cleanupAll();
}

/** MEMORY USAGE of a room's meta and history once it holds 1,000 messages of ~100 bytes of data, per message. */
async function heldMessageBytes(): Promise<number> {
  const deployed = await deployment(1);
  try {
    const pad = 'x'.repeat(80);
    for (let i = 0; i < 1_100; i++) await deployed.publisher.publish('held', 'chat.message', { i, pad });
    const [master] = deployed.cluster.nodes;
    const usage = async (key: string) => Number(await master!.command('MEMORY', 'USAGE', key, 'SAMPLES', 0));
    return Math.round(((await usage('roomcast:{held}:log')) + (await usage('roomcast:{held}:meta'))) / 1_000);
  } finally {
    await deployed.close();
  }
}

await main();
