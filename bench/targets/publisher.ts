/**
 * Roomcast with its publishes made by a backend process through roomcast/publisher: no HTTP, no
 * GraphQL, the replicas' own publish script run on Redis by the publishing process. That process is
 * the benchmark's publisher (load/publisher.ts in its `roomcast-publisher` mode), and its CPU counts
 * with the replicas' (publisherIsServer), so the per-publish figure is what a publish costs the
 * publishing process + the replicas, against the baselines' replicas handling an HTTP publish. It
 * also holds the load generator's own work (the rate keeping, the payload, request timings), which
 * the other targets leave out: the comparison is conservative.
 */
import { existsSync } from 'node:fs';
import { startReplica } from '../../test/helpers/replica.js';
import { PROFILING_FLAGS } from './profiling.js';
import { startRedis } from './redis.js';
import { ENV, running } from './roomcast.js';
import type { Target } from './target.js';

/** What `import 'roomcast/publisher'` loads: the build, as a backend would have it. */
const BUILT = new URL('../../dist/publisher/index.js', import.meta.url);

export const roomcastPublisher: Target = {
  name: 'roomcast-publisher',
  description: 'Roomcast, 2 replicas + redis-server, publishes by a backend process with roomcast/publisher (its CPU counted)',
  clientProtocol: 'graphql-ws',
  publishProtocol: 'roomcast-publisher',
  publisherIsServer: true,
  async start() {
    if (!existsSync(BUILT)) throw new Error('roomcast/publisher is not built: run `npm run build` first');
    const redis = await startRedis();
    try {
      const env = { ...ENV, REDIS_URL: redis.url };
      const options = { nodeFlags: PROFILING_FLAGS };
      const replicas = await Promise.all([startReplica(env, options), startReplica(env, options)]);
      // Where publishes go: the Redis itself, once per replica as the harness expects.
      return { ...(await running(replicas, redis)), publishUrls: replicas.map(() => redis.url) };
    } catch (error) {
      await redis.stop();
      throw error;
    }
  },
};
