/**
 * A redis-server for one target, through the test suite's RedisServer (free port, no persistence,
 * never the machine's own Redis), with its pid for the CPU figures and a cleanup registration.
 */
import { findRedisServerBinary, RedisServer } from '../../test/helpers/redis-server.js';
import { onCleanup } from '../processes.js';

export interface BenchRedis {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<BenchRedis> {
  const server = await RedisServer.start(await findRedisServerBinary());
  const unregister = onCleanup(() => server.stop());
  // RedisServer keeps its child to itself; the server tells its pid.
  const info = String(await server.command('INFO', 'server'));
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  if (!Number.isInteger(pid)) throw new Error('redis-server did not tell its process_id');
  return {
    url: server.url,
    pid,
    async stop() {
      unregister();
      await server.stop();
    },
  };
}
