/**
 * Roomcast from its sources (`node --import tsx src/main.ts`, as `npm run dev` runs it; `npm start`
 * runs the same code compiled), through the test suite's startReplica: one replica with the in-memory broker, or two replicas on one redis-server. Only limits that would
 * refuse the benchmark's own load are raised (MAX_CONNECTIONS for 10,000 subscribers on one replica);
 * everything on the delivery path keeps its defaults, slow-consumer budget included.
 */
import { startReplica, type Replica } from '../../test/helpers/replica.js';
import { onCleanup, track } from '../processes.js';
import { PROFILING_FLAGS, STOP_SIGNAL } from './profiling.js';
import { startRedis, type BenchRedis } from './redis.js';
import type { RunningTarget, Target, TargetName } from './target.js';

export const ENV = {
  MAX_CONNECTIONS: '1000000',
  // The benchmark kills replicas when it is done with them; no drain window to wait for.
  DRAIN_MS: '0',
  // startReplica waits for the info-level "roomcast listening" line.
  LOG_LEVEL: 'info',
};

/** `publishPath`: where the publisher posts, when not the GraphQL endpoint. */
export async function running(replicas: Replica[], redis: BenchRedis | undefined, publishPath?: string): Promise<RunningTarget> {
  for (const replica of replicas) track(replica.process);
  const stopAll = async () => {
    await Promise.all(replicas.map((replica) => replica.stop(STOP_SIGNAL)));
    await redis?.stop();
  };
  const unregister = onCleanup(stopAll);
  return {
    serverPids: replicas.map((replica) => replica.process.pid!),
    redisPid: redis?.pid,
    redisUrl: redis?.url,
    subscribeUrls: replicas.map((replica) => replica.wsUrl),
    publishUrls: replicas.map((replica) => (publishPath ? new URL(publishPath, replica.url).href : replica.url)),
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
    return running([await startReplica({ ...ENV, REDIS_URL: '' }, { nodeFlags: PROFILING_FLAGS })], undefined);
  },
};

interface RedisTargetSpec {
  readonly name: TargetName;
  readonly description: string;
  readonly env?: Record<string, string>;
  /** Replicas with the bare publish route (bare-publish-replica.ts), which the publisher posts to instead of the mutation. */
  readonly barePublish?: boolean;
}

function redisTarget({ name, description, env: extraEnv = {}, barePublish = false }: RedisTargetSpec): Target {
  const replicaOptions = { nodeFlags: PROFILING_FLAGS, script: barePublish ? 'bench/targets/bare-publish-replica.ts' : undefined };
  return {
    name,
    description,
    clientProtocol: 'graphql-ws',
    publishProtocol: barePublish ? 'rest' : 'graphql',
    async start() {
      const redis = await startRedis();
      try {
        const env = { ...ENV, ...extraEnv, REDIS_URL: redis.url };
        const replicas = await Promise.all([startReplica(env, replicaOptions), startReplica(env, replicaOptions)]);
        return running(replicas, redis, barePublish ? '/publish' : undefined);
      } catch (error) {
        await redis.stop();
        throw error;
      }
    },
  };
}

export const roomcastRedis = redisTarget({ name: 'roomcast-redis', description: 'Roomcast, 2 replicas + redis-server' });

/** The same server with DIRECT_DELIVERY=off: every subscriber's events go through graphql-ws and Yoga one by one. */
export const roomcastRedisPerSubscriber = redisTarget({
  name: 'roomcast-redis-per-subscriber',
  description: 'Roomcast, DIRECT_DELIVERY=off, 2 replicas + redis-server',
  env: { DIRECT_DELIVERY: 'off' },
});

/** The same server, publishing through a bare HTTP route instead of the mutation: the GraphQL layer's cost per publish. */
export const roomcastRedisBarePublish = redisTarget({
  name: 'roomcast-redis-bare-publish',
  description: 'Roomcast, publishes through a bare route (no GraphQL), 2 replicas + redis-server',
  barePublish: true,
});
