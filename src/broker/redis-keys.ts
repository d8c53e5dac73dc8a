/**
 * Every Redis key and channel name, from one prefix. A room's keys share a hash tag, so the publish
 * script's keys live in one slot should Roomcast move to Redis Cluster.
 */
import { createHash } from 'node:crypto';
import { idempotencyScope } from '../rooms/idempotency.js';

export interface RedisKeys {
  meta(room: string): string;
  log(room: string): string;
  channel(room: string): string;
  /**
   * The message published to `room` under an idempotency key by `sender` (null: anonymous). Sender and
   * key are arbitrary text, so the name holds the SHA-256 (hex) of both, never the text itself.
   */
  idempotency(room: string, sender: string | null, key: string): string;
}

export function redisKeys(prefix: string): RedisKeys {
  return {
    meta: (room) => `${prefix}{${room}}:meta`,
    log: (room) => `${prefix}{${room}}:log`,
    channel: (room) => `${prefix}{${room}}`,
    idempotency: (room, sender, key) =>
      `${prefix}{${room}}:idem:${createHash('sha256').update(idempotencyScope(sender, key)).digest('hex')}`,
  };
}
