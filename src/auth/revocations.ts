/**
 * Revocations: `revoke(user)` refuses, on every replica, the tokens of that user issued at or before
 * that second (their `iat`), and ends the user's live sessions everywhere within a second. Held for
 * AUTH_MAX_TOKEN_LIFETIME_SECONDS, the longest a token may live. In Redis (a key per user, and a
 * channel that tells every replica: on a Redis Cluster a classic one, which every node forwards, as
 * revocations are rare) or, with the embedded broker, in this process.
 */
import type { Logger } from '../log.js';
import type { RevocationCheck } from './authenticator.js';
import { redisClient, type RedisTarget } from '../broker/redis-connection.js';

export interface Revocations extends RevocationCheck {
  /** Revokes the user's tokens issued up to now; resolves to that instant, in seconds since the epoch. */
  revoke(user: string): Promise<number>;
  /** `listener` is called on this replica for every revocation, made here or on another replica. */
  onRevoke(listener: (user: string, atSeconds: number) => void): void;
  close(): Promise<void>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function memoryRevocations(lifetimeSeconds: number): Revocations {
  const revoked = new Map<string, { at: number; until: number }>();
  const listeners: ((user: string, at: number) => void)[] = [];
  return {
    async revoke(user) {
      const at = nowSeconds();
      revoked.set(user, { at, until: at + lifetimeSeconds });
      for (const listener of listeners) listener(user, at);
      return at;
    },
    async revokedUntil(user) {
      const entry = revoked.get(user);
      if (entry && entry.until < nowSeconds()) revoked.delete(user);
      return entry && entry.until >= nowSeconds() ? entry.at : undefined;
    },
    onRevoke: (listener) => void listeners.push(listener),
    close: async () => {},
  };
}

/** How long a replica trusts what it read of a user's revocation; the channel updates it sooner. */
const CACHE_MS = 1_000;

export interface RedisRevocationOptions {
  readonly redis: RedisTarget;
  readonly keyPrefix: string;
  readonly lifetimeSeconds: number;
  readonly timeoutMs: number;
  readonly log: Logger;
}

export function redisRevocations({ redis, keyPrefix, lifetimeSeconds, timeoutMs, log }: RedisRevocationOptions): Revocations {
  const key = (user: string) => `${keyPrefix}revoked:${user}`;
  const channel = `${keyPrefix}revocations`;
  const client = redisClient(redis, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectionName: 'roomcast:revocations',
  });
  // enableReadyCheck: false avoids ioredis 5's race between its INFO ready check and SUBSCRIBE (#2037).
  const subscriber = redisClient(redis, { enableReadyCheck: false, connectionName: 'roomcast:revocations-subscriber' });
  for (const connection of [client, subscriber]) connection.on('error', (error) => log.debug('revocations: redis error', { error }));
  const cache = new Map<string, { at: number | undefined; readAt: number }>();
  const listeners: ((user: string, at: number) => void)[] = [];
  void subscriber.subscribe(channel).catch((error: unknown) => log.warn('revocations: could not subscribe', { error }));
  // After a reconnect, what was cached may have missed revocations: read again.
  subscriber.on('ready', () => cache.clear());
  subscriber.on('message', (_channel: string, text: string) => {
    let message: { user?: unknown; at?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (typeof message.user !== 'string' || typeof message.at !== 'number') return;
    cache.set(message.user, { at: message.at, readAt: Date.now() });
    for (const listener of listeners) listener(message.user, message.at);
  });

  return {
    async revoke(user) {
      const at = nowSeconds();
      await client.set(key(user), String(at), 'EX', lifetimeSeconds);
      await client.publish(channel, JSON.stringify({ user, at }));
      return at;
    },
    async revokedUntil(user) {
      const cached = cache.get(user);
      if (cached && Date.now() - cached.readAt < CACHE_MS) return cached.at;
      try {
        const value = await client.get(key(user));
        const at = value === null ? undefined : Number(value);
        cache.set(user, { at, readAt: Date.now() });
        return at;
      } catch (error) {
        // Redis unreachable: go by what was last known rather than refuse every token.
        log.warn('revocations: could not read a revocation; using the last known', { error });
        return cached?.at;
      }
    },
    onRevoke: (listener) => void listeners.push(listener),
    async close() {
      client.disconnect();
      subscriber.disconnect();
    },
  };
}
