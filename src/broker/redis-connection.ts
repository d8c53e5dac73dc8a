/**
 * Where Redis is, and the one place a connection to it is made, for every part of Roomcast that uses
 * Redis (the broker, presence, revocations, rate limits, the inspector, `roomcast/publisher`):
 *
 * - one server: `REDIS_URL` (`redis://host:port`, `rediss://` for TLS);
 * - a master that Sentinel names and follows across failovers: `REDIS_SENTINELS` (the sentinels,
 *   `host:port,...`, each may be `rediss://host:port` for TLS to the sentinels and the master) with
 *   `REDIS_SENTINEL_MASTER` (the master's name in the sentinels' configuration);
 *
 * - a Redis Cluster: `REDIS_CLUSTER_NODES` (some of its nodes, `host:port,...`, or all as
 *   `rediss://host:port` for TLS): each room's keys and channel on the shard of the room's hash tag,
 *   followed across resharding and failovers by ioredis's `Cluster`;
 *
 * and in all, `REDIS_USERNAME` / `REDIS_PASSWORD` for an ACL user (they win over a URL's own).
 * Exactly one place is named, or the configuration is refused, naming the variables.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { withDeadline } from '../deadline.js';

interface Credentials {
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

interface Address {
  readonly host: string;
  readonly port: number;
}

export type RedisTarget =
  | (Credentials & { readonly kind: 'server'; readonly url: string })
  | (Credentials & { readonly kind: 'sentinel'; readonly sentinels: readonly Address[]; readonly master: string; readonly tls: boolean })
  | (Credentials & { readonly kind: 'cluster'; readonly nodes: readonly Address[]; readonly tls: boolean });

/** A connection to any target: commands on a cluster go to the shard of their keys' slot. */
export type RedisClient = Redis | Cluster;

/** The settings as given (environment variables, or a publisher's options), before parsing. */
export interface RedisSettings {
  readonly url?: string | undefined;
  readonly clusterNodes?: string | undefined;
  readonly sentinels?: string | undefined;
  readonly sentinelMaster?: string | undefined;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
}

/** The names the settings go by where they were given: `REDIS_URL`, or `redisUrl`. */
export type RedisSettingNames = Readonly<Record<keyof RedisSettings, string>>;

const SENTINEL_PORT = 26379;
const REDIS_PORT = 6379;
/** The three ways to name a Redis: exactly one is set. */
const PLACES = ['url', 'clusterNodes', 'sentinels'] as const;

/** The target the settings name; undefined when they name none. Problems are pushed, each naming its setting. */
export function parseRedisTarget(settings: RedisSettings, names: RedisSettingNames, problems: string[]): RedisTarget | undefined {
  const { url, clusterNodes, sentinels, sentinelMaster, username, password } = settings;
  const credentials = { username, password };
  const places = `${names.url}, ${names.clusterNodes} or ${names.sentinels}`;
  const given = PLACES.filter((place) => settings[place] !== undefined);
  if (given.length > 1) {
    problems.push(`set one of ${places}, not ${given.map((place) => names[place]).join(' and ')}`);
    return undefined;
  }
  if (sentinels === undefined && sentinelMaster !== undefined) problems.push(`${names.sentinelMaster} needs ${names.sentinels}`);
  if (url !== undefined) return parseUrl(url, names.url, problems) ? { kind: 'server', url, ...credentials } : undefined;
  if (clusterNodes !== undefined) {
    const nodes = parseNodes(clusterNodes, names.clusterNodes, 'cluster nodes', REDIS_PORT, problems);
    return nodes && { kind: 'cluster', nodes: nodes.addresses, tls: nodes.tls, ...credentials };
  }
  if (sentinels !== undefined) {
    if (sentinelMaster === undefined)
      problems.push(`${names.sentinels} needs ${names.sentinelMaster} (the master's name the sentinels monitor)`);
    const nodes = parseNodes(sentinels, names.sentinels, 'sentinels', SENTINEL_PORT, problems);
    if (!nodes || sentinelMaster === undefined) return undefined;
    return { kind: 'sentinel', sentinels: nodes.addresses, master: sentinelMaster, tls: nodes.tls, ...credentials };
  }
  for (const key of ['username', 'password'] as const) {
    if (settings[key] !== undefined) problems.push(`${names[key]} needs ${places}`);
  }
  return undefined;
}

function parseUrl(raw: string, name: string, problems: string[]): boolean {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url && isRedisUrl(url)) return true;
  problems.push(`${name} must look like redis://host:port or rediss://host:port (got ${JSON.stringify(raw)})`);
  return false;
}

const isRedisUrl = (url: URL): boolean => (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';

/** A list of nodes (sentinels, or a cluster's seeds): all with TLS or none. */
function parseNodes(raw: string, name: string, what: string, defaultPort: number, problems: string[]) {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const parsed = entries.map((entry) => parseNode(entry, defaultPort));
  const schemes = new Set(parsed.map((entry) => entry?.tls));
  if (entries.length === 0 || parsed.includes(undefined) || schemes.size > 1) {
    problems.push(`${name} must list ${what} as host:port,host:port (or all as rediss://host:port for TLS) (got ${JSON.stringify(raw)})`);
    return undefined;
  }
  const addresses = parsed.map((entry) => ({ host: entry!.host, port: entry!.port }));
  return { addresses, tls: parsed[0]!.tls };
}

/** `host:port`, `host` (the default port) or `redis[s]://host:port`, with nothing else (no user, no path). */
function parseNode(entry: string, defaultPort: number) {
  const text = /^\w+:\/\//.test(entry) ? entry : `redis://${entry}`;
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || !isRedisUrl(url) || url.pathname !== '' || url.username) return undefined;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : defaultPort, tls: url.protocol === 'rediss:' };
}

/**
 * Options of a connection whose commands reach Redis now or fail: no offline queue, no retries, nothing
 * re-sent after a reconnect behind the caller's back.
 */
export const FAIL_FAST = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
} as const satisfies RedisOptions;

const credentials = (target: Credentials): RedisOptions => ({
  ...(target.username !== undefined && { username: target.username }),
  ...(target.password !== undefined && { password: target.password }),
});

/** How often a cluster client re-reads the slot map, besides when a MOVED reply or a lost node says it changed. */
const SLOTS_REFRESH_MS = 2_000;

/**
 * A client of the target: one connection to a Redis server (`redisConnection`), or a cluster client
 * that routes each command to the master of its keys' slot, follows MOVED and ASK, and retries
 * TRYAGAIN (a slot being migrated) and CLUSTERDOWN (a failover) within its redirection limit.
 */
export function redisClient(target: RedisTarget, options: RedisOptions): RedisClient {
  if (target.kind !== 'cluster') return redisConnection(target, options);
  const { enableOfflineQueue, enableReadyCheck, ...nodeOptions } = options;
  return new Cluster(
    target.nodes.map(({ host, port }) => ({ host, port })),
    {
      redisOptions: { ...nodeOptions, ...credentials(target), ...(target.tls && { tls: {} }) },
      ...(enableOfflineQueue !== undefined && { enableOfflineQueue }),
      ...(enableReadyCheck !== undefined && { enableReadyCheck }),
      slotsRefreshInterval: SLOTS_REFRESH_MS,
    },
  );
}

/** A connection to one node of a cluster target, as `redisClient` makes them (credentials, TLS). */
export function nodeConnection(target: RedisTarget & { kind: 'cluster' }, node: Address, options: RedisOptions): Redis {
  return new Redis({ ...options, ...credentials(target), ...(target.tls && { tls: {} }), host: node.host, port: node.port });
}

/** A connection to the target's Redis (to the master Sentinel names, followed across failovers). */
export function redisConnection(target: RedisTarget, options: RedisOptions): Redis {
  if (target.kind === 'cluster') throw new Error('a Redis Cluster has no single connection: use redisClient');
  if (target.kind === 'server') return new Redis(target.url, { ...options, ...credentials(target) });
  return new Redis({
    ...options,
    ...credentials(target),
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.master,
    role: 'master',
    // Leaves a master the sentinels have replaced at once (+switch-master), not when it fails.
    failoverDetector: true,
    ...(target.tls && { tls: {}, enableTLSForSentinelMode: true }),
    // A master demoted under an open connection refuses writes: reconnect, through the sentinels.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  });
}

/**
 * Why a connection failed, in words: a cluster client's own error ("Failed to refresh slots cache.")
 * says nothing of why, which the last node's error does (refused, no cluster support, NOAUTH).
 */
export function redisFailure(error: Error): string {
  const cause = (error as { lastNodeError?: unknown }).lastNodeError;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}

/** Where the target is, for a log line: never its password. */
export function describeRedisTarget(target: RedisTarget): string {
  const list = (nodes: readonly Address[]) => nodes.map(({ host, port }) => `${host}:${port}`).join(',');
  if (target.kind === 'sentinel') return `sentinel master ${target.master} via ${list(target.sentinels)}`;
  if (target.kind === 'cluster') return `cluster via ${list(target.nodes)}`;
  const url = new URL(target.url);
  url.password = url.password && '***';
  return url.toString();
}

/**
 * Closes a connection politely (QUIT, after the replies still due), or cuts it after `timeoutMs`, and
 * returns once it has ended: the commands still due have been settled by then. Then disconnects, which
 * a connection through Sentinel needs: QUIT leaves its connections to the sentinels (the failover
 * detector's) open, and they would keep the process alive.
 */
export async function quit(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status !== 'end') {
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    try {
      await withDeadline(client.quit(), timeoutMs, () => client.disconnect());
    } catch {
      client.disconnect();
    }
    await withDeadline(ended, timeoutMs, () => undefined);
  }
  client.disconnect();
}
