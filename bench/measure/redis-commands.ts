/**
 * What redis-server did over a step, command by command (`INFO commandstats`): calls and the
 * microseconds Redis itself counts for them. A script's commands count on their own as well as
 * inside its EVALSHA; what the figures miss is the event loop and the network (redis CPU minus usec).
 */
import { Redis } from 'ioredis';

interface CommandUse {
  readonly calls: number;
  readonly usec: number;
}

export type CommandStats = Record<string, CommandUse>;

export async function commandStats(url: string): Promise<CommandStats> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await redis.connect();
    const stats: CommandStats = {};
    for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      stats[match[1]!] = { calls: Number(match[2]), usec: Number(match[3]) };
    }
    return stats;
  } finally {
    redis.disconnect();
  }
}

/** Per command, what happened between two readings (the INFO calls themselves left out). */
export function commandsBetween(before: CommandStats, after: CommandStats): CommandStats {
  const used: CommandStats = {};
  for (const [name, { calls, usec }] of Object.entries(after)) {
    if (name === 'info' || name === 'client|setname' || name === 'hello') continue;
    const delta = { calls: calls - (before[name]?.calls ?? 0), usec: usec - (before[name]?.usec ?? 0) };
    if (delta.calls > 0) used[name] = delta;
  }
  return used;
}
