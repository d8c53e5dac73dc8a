/**
 * Roomcast as users run it (`node --import tsx src/main.ts`, through the test suite's startReplica):
 * one replica with the in-memory broker, or two replicas on one redis-server. Only limits that would
 * refuse the benchmark's own load are raised (MAX_CONNECTIONS for 10,000 subscribers on one replica);
 * everything on the delivery path keeps its defaults, slow-consumer budget included.
 */
import { fileURLToPath } from 'node:url';
import { startReplica, type Replica } from '../../test/helpers/replica.js';
import { onCleanup, track } from '../processes.js';
import { startRedis, type BenchRedis } from './redis.js';
import type { RunningTarget, Target } from './target.js';

/**
 * BENCH_CPU_PROF=1: every Roomcast replica runs with `node --cpu-prof`, writing one profile per process
 * under bench/results/profiles/ when it stops (with SIGTERM then, since SIGKILL would lose it).
 * Read them with `npm run bench:profile -- <file>`.
 */
const PROFILING = process.env.BENCH_CPU_PROF !== undefined && process.env.BENCH_CPU_PROF !== '' && process.env.BENCH_CPU_PROF !== '0';

function profilingEnv(): Record<string, string> {
  if (!PROFILING) return {};
  const dir = fileURLToPath(new URL('../results/profiles/', import.meta.url));
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${dir}`.trim() };
}

const ENV = {
  MAX_CONNECTIONS: '1000000',
  // The benchmark kills replicas when it is done with them; no drain window to wait for.
  DRAIN_MS: '0',
  // startReplica waits for the info-level "roomcast listening" line.
  LOG_LEVEL: 'info',
  ...profilingEnv(),
};

async function running(replicas: Replica[], redis: BenchRedis | undefined): Promise<RunningTarget> {
  for (const replica of replicas) track(replica.process);
  const stopAll = async () => {
    await Promise.all(replicas.map((replica) => replica.stop(PROFILING ? 'SIGTERM' : 'SIGKILL')));
    await redis?.stop();
  };
  const unregister = onCleanup(stopAll);
  return {
    serverPids: replicas.map((replica) => replica.process.pid!),
    redisPid: redis?.pid,
    subscribeUrls: replicas.map((replica) => replica.wsUrl),
    publishUrls: replicas.map((replica) => replica.url),
    warnings: () => replicas.flatMap((replica) => replica.output.filter((line) => /"level":"(warn|error)"/.test(line))),
    async stop() {
      unregister();
      await stopAll();
    },
  };
}

export const roomcastMemory: Target = {
  name: 'roomcast-memory',
  description: 'Roomcast, 1 replica, in-memory broker',
  clientProtocol: 'graphql-ws',
  publishProtocol: 'graphql',
  async start() {
    // REDIS_URL emptied: a REDIS_URL in the caller's environment must not turn this into a Redis target.
    return running([await startReplica({ ...ENV, REDIS_URL: '' })], undefined);
  },
};

function redisTarget(name: Target['name'], description: string, extraEnv: Record<string, string>): Target {
  return {
    name,
    description,
    clientProtocol: 'graphql-ws',
    publishProtocol: 'graphql',
    async start() {
      const redis = await startRedis();
      try {
        const env = { ...ENV, ...extraEnv, REDIS_URL: redis.url };
        return running(await Promise.all([startReplica(env), startReplica(env)]), redis);
      } catch (error) {
        await redis.stop();
        throw error;
      }
    },
  };
}

export const roomcastRedis = redisTarget('roomcast-redis', 'Roomcast, 2 replicas + redis-server', {});

/** The same server with DIRECT_DELIVERY=off: every subscriber's events go through graphql-ws and Yoga one by one. */
export const roomcastRedisPerSubscriber = redisTarget(
  'roomcast-redis-per-subscriber',
  'Roomcast, DIRECT_DELIVERY=off, 2 replicas + redis-server',
  { DIRECT_DELIVERY: 'off' },
);
