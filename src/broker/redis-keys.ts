/**
 * Every Redis key and channel name, from one prefix. A room's keys share a hash tag, so the publish
 * script's keys live in one slot should Roomcast move to Redis Cluster.
 */
export interface RedisKeys {
  meta(room: string): string;
  log(room: string): string;
  channel(room: string): string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    meta: (room) => `${prefix}{${room}}:meta`,
    log: (room) => `${prefix}{${room}}:log`,
    channel: (room) => `${prefix}{${room}}`,
  };
}
