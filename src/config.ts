/**
 * Configuration, parsed once at start-up from the environment into a frozen, typed object.
 * Every problem is reported at once, each naming its variable; nothing else reads process.env.
 */
import { hostname } from 'node:os';
import { parseAuthConfig, type AuthConfig } from './auth/keys.js';
import { parseRedisTarget, type RedisSettingNames, type RedisTarget } from './broker/redis-connection.js';
import type { LogLevel } from './log.js';
import { parseRate, parseTrustProxy, type Rate, type TrustProxy } from './limits/settings.js';

const REDIS_ENV: RedisSettingNames = {
  url: 'REDIS_URL',
  clusterNodes: 'REDIS_CLUSTER_NODES',
  sentinels: 'REDIS_SENTINELS',
  sentinelMaster: 'REDIS_SENTINEL_MASTER',
  username: 'REDIS_USERNAME',
  password: 'REDIS_PASSWORD',
};

export interface Config {
  /** TCP port of the HTTP and WebSocket server. `PORT`, default 4000 (0 picks a free port). */
  readonly port: number;
  /** Interface to listen on. `HOST`, default all interfaces. */
  readonly host: string | undefined;
  /**
   * Redis for more than one replica; unset means the embedded in-memory broker. `REDIS_URL`,
   * `REDIS_CLUSTER_NODES`, or `REDIS_SENTINELS` with `REDIS_SENTINEL_MASTER`; `REDIS_USERNAME`,
   * `REDIS_PASSWORD` (broker/redis-connection.ts).
   */
  readonly redis: RedisTarget | undefined;
  /**
   * A publish succeeds only once this many replicas of the Redis master hold it (WAIT), so that a
   * failover cannot lose it. `REDIS_WAIT_REPLICAS`, default 0 (as soon as the master stored it).
   */
  readonly redisWaitReplicas: number;
  /** Prefix of every Redis key and channel. `REDIS_KEY_PREFIX`, default `roomcast:`. */
  readonly redisKeyPrefix: string;
  /** Messages held per room, at least. `HISTORY_SIZE`, default 1000. */
  readonly historySize: number;
  /** A room's history is dropped this long after its last publish. `HISTORY_TTL_SECONDS`, default 86400. */
  readonly historyTtlSeconds: number;
  /**
   * A publish repeating an idempotency key (same room and sender) this long after the first returns
   * the first's message. `IDEMPOTENCY_TTL_SECONDS`, default 600.
   */
  readonly idempotencyTtlSeconds: number;
  /**
   * A client whose last subscription to a room ended stays a member this long: back within it (same
   * client id, any replica), it never left. `PRESENCE_LEAVE_GRACE_MS`, default 5000.
   */
  readonly presenceLeaveGraceMs: number;
  /** The members of a replica that stopped without closing are gone within this time. `PRESENCE_TTL_SECONDS`, default 30. */
  readonly presenceTtlSeconds: number;
  /** Largest `data`, as serialized JSON. `MAX_PAYLOAD_BYTES`, default 65536. */
  readonly maxPayloadBytes: number;
  /** A publish or history read that Redis has not answered by then fails with UNAVAILABLE. `BROKER_TIMEOUT_MS`, default 2000. */
  readonly brokerTimeoutMs: number;
  /** Undelivered bytes a connection may hold (socket buffer and queues) before it is closed as a slow consumer. `MAX_BUFFERED_BYTES`, default 1 MiB. */
  readonly maxBufferedBytes: number;
  /** Open WebSocket connections per replica. `MAX_CONNECTIONS`, default 10000. */
  readonly maxConnections: number;
  /** Operations one WebSocket connection may run at once. `MAX_SUBSCRIPTIONS_PER_CONNECTION`, default 100. */
  readonly maxSubscriptionsPerConnection: number;
  /** Rooms one `messagesIn` subscription may list. `MAX_ROOMS_PER_SUBSCRIPTION`, default 100. */
  readonly maxRoomsPerSubscription: number;
  /** Rooms the operations of one WebSocket connection may listen to at once. `MAX_ROOMS_PER_CONNECTION`, default 1000. */
  readonly maxRoomsPerConnection: number;
  /** Largest WebSocket message a client may send. `WS_MAX_PAYLOAD_BYTES`, default 1 MiB. */
  readonly wsMaxPayloadBytes: number;
  /** Largest HTTP request body; larger ones get 413. `HTTP_MAX_BODY_BYTES`, default 1 MiB. */
  readonly httpMaxBodyBytes: number;
  /** A WebSocket that sends no `connection_init` within this time is closed with 4408. `CONNECTION_INIT_TIMEOUT_MS`, default 3000. */
  readonly connectionInitTimeoutMs: number;
  /**
   * Interval of WebSocket pings that detect dead peers (a peer that misses a ping is cut off at the next
   * one). `KEEPALIVE_MS`, default 25000: Socket.IO's, below the 30 s idle timeout of the strictest
   * common proxies, and half as many pings as graphql-ws's 12 s (bench/README.md has what that saves).
   */
  readonly keepAliveMs: number;
  /** On shutdown, WebSocket closes (1012) are spread over this window. `DRAIN_MS`, default 5000. */
  readonly drainMs: number;
  /** The whole shutdown must end within this time, or the process exits 1. `SHUTDOWN_TIMEOUT_MS`, default 10000. */
  readonly shutdownTimeoutMs: number;
  /**
   * Write room events straight to WebSocket subscribers, rendered once per event per group of
   * identical operations (transports/ws-delivery.ts). Off: every subscriber's events go through
   * graphql-ws and Yoga's execution one by one, so plugins' per-result hooks see each of them.
   * `DIRECT_DELIVERY`, default on.
   */
  readonly directDelivery: boolean;
  /**
   * Token verification (auth/keys.ts): on when one of `AUTH_JWT_SECRET`, `AUTH_JWT_PUBLIC_KEY`,
   * `AUTH_JWT_PUBLIC_KEY_FILE`, `AUTH_JWKS_URL` is set; undefined (off) otherwise, and then everyone
   * may do everything.
   */
  readonly auth: AuthConfig | undefined;
  /**
   * Origins whose pages may call from a browser (`CORS_ORIGINS`, comma-separated); undefined: any
   * origin, never with credentials (transports/origins.ts).
   */
  readonly corsOrigins: readonly string[] | undefined;
  /** Serve GraphiQL at the endpoint. `GRAPHIQL`, default on. */
  readonly graphiql: boolean;
  /** Answer introspection and serve `/graphql/schema.graphql`. `INTROSPECTION`, default on. */
  readonly introspection: boolean;
  /** Publishes per identity (token `sub`, else client address) across replicas. `PUBLISH_RATE_LIMIT` (`20/1s`), default off. */
  readonly publishRateLimit: Rate | undefined;
  /** Operations one WebSocket connection may start. `SUBSCRIBE_RATE_LIMIT` (`10/1s`), default off. */
  readonly subscribeRateLimit: Rate | undefined;
  /** Open WebSocket connections and event streams per client address, per replica. `MAX_CONNECTIONS_PER_IP`, default off. */
  readonly maxConnectionsPerIp: number | undefined;
  /** Bytes of history messages one operation may read. `MAX_RESPONSE_BYTES`, default 16 MiB. */
  readonly maxResponseBytes: number;
  /** Proxies whose X-Forwarded-For gives the client address (limits/settings.ts). `TRUST_PROXY`, default nobody. */
  readonly trustProxy: TrustProxy | undefined;
  /** Serve Prometheus metrics (metrics/). `METRICS`, default on. */
  readonly metrics: boolean;
  /** Path of the metrics. `METRICS_PATH`, default `/metrics`. */
  readonly metricsPath: string;
  /**
   * A port of their own for the metrics (then the API port does not serve them); unset: the API port.
   * `METRICS_PORT`. Listens on `HOST`, like the API.
   */
  readonly metricsPort: number | undefined;
  /** Serve the room inspector at `/inspect` and answer its queries (inspector/). `INSPECTOR`, default on. */
  readonly inspector: boolean;
  /** How often each replica reports its rooms to the others; gone after 3 of these. `INSPECTOR_INTERVAL_MS`, default 5000. */
  readonly inspectorIntervalMs: number;
  /** Rooms each replica reports, those with the most subscribers. `INSPECTOR_MAX_ROOMS`, default 100. */
  readonly inspectorMaxRooms: number;
  /** `LOG_LEVEL`: debug, info, warn, error or silent. Default info. */
  readonly logLevel: LogLevel;
  /** Name of this process in logs. `REPLICA_ID`, default `<hostname>:<port>`. */
  readonly replicaId: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return Number(raw);
  };

  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name]?.trim().toLowerCase();
    if (raw === undefined || raw === '') return fallback;
    if (['1', 'true', 'on', 'yes'].includes(raw)) return true;
    if (['0', 'false', 'off', 'no'].includes(raw)) return false;
    problems.push(`${name} must be on or off (got ${JSON.stringify(env[name])})`);
    return fallback;
  };

  const port = int('PORT', 4000, 0, 65535);
  const config: Config = {
    port,
    host: nonEmpty(env.HOST),
    redis: parseRedisTarget(
      {
        url: nonEmpty(env.REDIS_URL),
        clusterNodes: nonEmpty(env.REDIS_CLUSTER_NODES),
        sentinels: nonEmpty(env.REDIS_SENTINELS),
        sentinelMaster: nonEmpty(env.REDIS_SENTINEL_MASTER),
        username: nonEmpty(env.REDIS_USERNAME),
        password: nonEmpty(env.REDIS_PASSWORD),
      },
      REDIS_ENV,
      problems,
    ),
    redisWaitReplicas: int('REDIS_WAIT_REPLICAS', 0, 0, 64),
    redisKeyPrefix: env.REDIS_KEY_PREFIX ?? 'roomcast:',
    historySize: int('HISTORY_SIZE', 1000, 1, 10_000_000),
    historyTtlSeconds: int('HISTORY_TTL_SECONDS', 86_400, 1),
    idempotencyTtlSeconds: int('IDEMPOTENCY_TTL_SECONDS', 600, 1, 86_400),
    presenceLeaveGraceMs: int('PRESENCE_LEAVE_GRACE_MS', 5_000, 0, 3_600_000),
    presenceTtlSeconds: int('PRESENCE_TTL_SECONDS', 30, 2, 86_400),
    maxPayloadBytes: int('MAX_PAYLOAD_BYTES', 65_536, 1, 64 * 1024 * 1024),
    brokerTimeoutMs: int('BROKER_TIMEOUT_MS', 2_000, 1, 600_000),
    maxBufferedBytes: int('MAX_BUFFERED_BYTES', 1_048_576, 1024),
    maxConnections: int('MAX_CONNECTIONS', 10_000, 1),
    maxSubscriptionsPerConnection: int('MAX_SUBSCRIPTIONS_PER_CONNECTION', 100, 1),
    maxRoomsPerSubscription: int('MAX_ROOMS_PER_SUBSCRIPTION', 100, 1, 10_000),
    maxRoomsPerConnection: int('MAX_ROOMS_PER_CONNECTION', 1_000, 1),
    wsMaxPayloadBytes: int('WS_MAX_PAYLOAD_BYTES', 1_048_576, 1024),
    httpMaxBodyBytes: int('HTTP_MAX_BODY_BYTES', 1_048_576, 1024),
    connectionInitTimeoutMs: int('CONNECTION_INIT_TIMEOUT_MS', 3_000, 1),
    keepAliveMs: int('KEEPALIVE_MS', 25_000, 0),
    drainMs: int('DRAIN_MS', 5_000, 0),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 1),
    directDelivery: bool('DIRECT_DELIVERY', true),
    auth: parseAuthConfig(env, problems),
    corsOrigins: parseOrigins(nonEmpty(env.CORS_ORIGINS), problems),
    graphiql: bool('GRAPHIQL', true),
    introspection: bool('INTROSPECTION', true),
    publishRateLimit: parseRate('PUBLISH_RATE_LIMIT', nonEmpty(env.PUBLISH_RATE_LIMIT), problems),
    subscribeRateLimit: parseRate('SUBSCRIBE_RATE_LIMIT', nonEmpty(env.SUBSCRIBE_RATE_LIMIT), problems),
    maxConnectionsPerIp: nonEmpty(env.MAX_CONNECTIONS_PER_IP) === undefined ? undefined : int('MAX_CONNECTIONS_PER_IP', 0, 1),
    maxResponseBytes: int('MAX_RESPONSE_BYTES', 16 * 1024 * 1024, 1024),
    trustProxy: parseTrustProxy(nonEmpty(env.TRUST_PROXY), problems),
    metrics: bool('METRICS', true),
    metricsPath: parseMetricsPath(nonEmpty(env.METRICS_PATH), problems),
    metricsPort: nonEmpty(env.METRICS_PORT) === undefined ? undefined : int('METRICS_PORT', 0, 0, 65535),
    inspector: bool('INSPECTOR', true),
    inspectorIntervalMs: int('INSPECTOR_INTERVAL_MS', 5_000, 50, 600_000),
    inspectorMaxRooms: int('INSPECTOR_MAX_ROOMS', 100, 1, 10_000),
    logLevel: parseLogLevel(nonEmpty(env.LOG_LEVEL), problems),
    replicaId: nonEmpty(env.REPLICA_ID) ?? `${hostname()}:${port}`,
  };
  if (config.shutdownTimeoutMs <= config.drainMs) {
    problems.push(`SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs}) must be longer than DRAIN_MS (${config.drainMs})`);
  }
  if (config.metricsPort !== undefined && config.metricsPort !== 0 && config.metricsPort === config.port) {
    problems.push(`METRICS_PORT (${config.metricsPort}) must differ from PORT: unset it to serve the metrics on the API port`);
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  return Object.freeze(config);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseOrigins(raw: string | undefined, problems: string[]): readonly string[] | undefined {
  if (raw === undefined) return undefined;
  const origins = raw
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of origins) {
    let canonical: string | undefined;
    try {
      canonical = new URL(origin).origin;
    } catch {
      canonical = undefined;
    }
    if (canonical !== origin) {
      problems.push(
        `CORS_ORIGINS must list origins like https://app.example.com (scheme, host, optional port; no path or trailing slash), got ${JSON.stringify(origin)}`,
      );
    }
  }
  return Object.freeze(origins);
}

/** An absolute path that is none of the server's own (the GraphQL endpoint, under it, the probes). */
function parseMetricsPath(raw: string | undefined, problems: string[]): string {
  if (raw === undefined) return '/metrics';
  if (!/^\/[A-Za-z0-9._~\-/]*$/.test(raw) || ['/', '/graphql', '/healthz', '/readyz'].includes(raw) || /^\/(graphql|readyz)\//.test(raw)) {
    problems.push(
      `METRICS_PATH must be a path like /metrics, other than /, /graphql, /healthz, /readyz and /readyz/replica (got ${JSON.stringify(raw)})`,
    );
    return '/metrics';
  }
  return raw;
}

const levels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

function parseLogLevel(raw: string | undefined, problems: string[]): LogLevel {
  if (raw === undefined) return 'info';
  if ((levels as readonly string[]).includes(raw)) return raw as LogLevel;
  problems.push(`LOG_LEVEL must be one of ${levels.join(', ')} (got ${JSON.stringify(raw)})`);
  return 'info';
}
