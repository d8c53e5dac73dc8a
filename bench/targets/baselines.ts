/**
 * The three baselines as targets: each two replicas of its server (bench/baselines/) on one
 * redis-server, like roomcast-redis.
 */
import type { ClientProtocol } from '../load/connections/connection.js';
import type { PublishProtocol } from '../load/publisher-api.js';
import { onCleanup } from '../processes.js';
import { startBaselineProcess } from './baseline-process.js';
import { startRedis } from './redis.js';
import type { RunningTarget, Target, TargetName } from './target.js';

const REPLICAS = 2;

interface BaselineSpec {
  readonly name: TargetName;
  readonly description: string;
  readonly script: string;
  readonly clientProtocol: ClientProtocol;
  readonly publishProtocol: PublishProtocol;
  /** Where clients connect and where the publisher posts, given a replica's port. */
  readonly subscribeUrl: (port: number) => string;
  readonly publishUrl: (port: number) => string;
}

function baseline(spec: BaselineSpec): Target {
  return {
    name: spec.name,
    description: spec.description,
    clientProtocol: spec.clientProtocol,
    publishProtocol: spec.publishProtocol,
    async start(): Promise<RunningTarget> {
      const redis = await startRedis();
      const replicas = await Promise.allSettled(
        Array.from({ length: REPLICAS }, () => startBaselineProcess(spec.script, { REDIS_URL: redis.url })),
      );
      const started = replicas.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const stopAll = async () => {
        await Promise.all(started.map((replica) => replica.stop()));
        await redis.stop();
      };
      const failure = replicas.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) {
        await stopAll();
        throw failure.reason;
      }
      const unregister = onCleanup(stopAll);
      return {
        serverPids: started.map((replica) => replica.process.pid!),
        redisPid: redis.pid,
        redisUrl: redis.url,
        subscribeUrls: started.map((replica) => spec.subscribeUrl(replica.port)),
        publishUrls: started.map((replica) => spec.publishUrl(replica.port)),
        warnings: () => started.flatMap((replica) => replica.output),
        async stop() {
          unregister();
          await stopAll();
        },
      };
    },
  };
}

export const floor = baseline({
  name: 'floor',
  description: 'raw ws + ioredis, 2 replicas + redis-server',
  script: 'bench/baselines/floor.ts',
  clientProtocol: 'raw-ws',
  publishProtocol: 'rest',
  subscribeUrl: (port) => `ws://127.0.0.1:${port}/`,
  publishUrl: (port) => `http://127.0.0.1:${port}/publish`,
});

export const textbook = baseline({
  name: 'textbook',
  description: 'ws + graphql-ws + graphql-js + graphql-redis-subscriptions, 2 replicas + redis-server',
  script: 'bench/baselines/textbook.ts',
  clientProtocol: 'graphql-ws',
  publishProtocol: 'graphql',
  subscribeUrl: (port) => `ws://127.0.0.1:${port}/graphql`,
  publishUrl: (port) => `http://127.0.0.1:${port}/graphql`,
});

export const socketio = baseline({
  name: 'socketio',
  description: 'Socket.IO 4 + @socket.io/redis-adapter, 2 replicas + redis-server',
  script: 'bench/baselines/socketio.ts',
  clientProtocol: 'socketio',
  publishProtocol: 'rest',
  subscribeUrl: (port) => `http://127.0.0.1:${port}`,
  publishUrl: (port) => `http://127.0.0.1:${port}/publish`,
});
