/**
 * The settings of an embedded server: every environment variable of config.ts, in camelCase
 * (`PORT` -> `port`, `KEEPALIVE_MS` -> `keepaliveMs`), as values instead of strings. They go through
 * loadConfig itself, so defaults and validation are the environment's, one source of truth; a bad
 * one is a ConfigError naming the option. Nothing is read from process.env.
 */
import { ConfigError, loadConfig, type Config } from '../config.js';
import type { LogLevel } from '../log.js';

/** Each setting is its environment variable's; see the README's Configuration table for defaults. */
export interface RoomcastSettings {
  port?: number;
  host?: string;
  redisUrl?: string;
  /** `host:port` entries: a list, or a comma-separated string. */
  redisClusterNodes?: readonly string[] | string;
  /** `host:port` entries: a list, or a comma-separated string. */
  redisSentinels?: readonly string[] | string;
  redisSentinelMaster?: string;
  redisUsername?: string;
  redisPassword?: string;
  redisWaitReplicas?: number;
  redisKeyPrefix?: string;
  historySize?: number;
  historyTtlSeconds?: number;
  idempotencyTtlSeconds?: number;
  presenceLeaveGraceMs?: number;
  presenceTtlSeconds?: number;
  maxPayloadBytes?: number;
  brokerTimeoutMs?: number;
  maxBufferedBytes?: number;
  maxConnections?: number;
  maxSubscriptionsPerConnection?: number;
  maxRoomsPerSubscription?: number;
  maxRoomsPerConnection?: number;
  wsMaxPayloadBytes?: number;
  httpMaxBodyBytes?: number;
  connectionInitTimeoutMs?: number;
  keepaliveMs?: number;
  drainMs?: number;
  shutdownTimeoutMs?: number;
  directDelivery?: boolean;
  authJwtSecret?: string;
  authJwtPublicKey?: string;
  authJwtPublicKeyFile?: string;
  authJwksUrl?: string;
  authJwtIssuer?: string;
  authJwtAudience?: string;
  authClockToleranceSeconds?: number;
  authMaxTokenLifetimeSeconds?: number;
  /** An object (`{ lobby: ['subscribe'] }`) or its JSON. */
  anonymousCapability?: Readonly<Record<string, readonly string[]>> | string;
  /** A list of origins, or a comma-separated string. */
  corsOrigins?: readonly string[] | string;
  graphiql?: boolean;
  introspection?: boolean;
  /** `20/1s`, `600/60s`, `1000/1h`. */
  publishRateLimit?: string;
  subscribeRateLimit?: string;
  maxConnectionsPerIp?: number;
  maxResponseBytes?: number;
  /** How many proxies are in front, or their addresses and CIDR ranges. */
  trustProxy?: number | string | readonly string[];
  metrics?: boolean;
  metricsPath?: string;
  metricsPort?: number;
  inspector?: boolean;
  inspectorIntervalMs?: number;
  inspectorMaxRooms?: number;
  logLevel?: LogLevel;
  replicaId?: string;
}

/** `KEEPALIVE_MS` -> `keepaliveMs`. */
export const optionName = (envName: string): string =>
  envName.toLowerCase().replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());

/** `keepaliveMs` -> `KEEPALIVE_MS`. */
const envName = (option: string): string => option.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase();

let known: readonly string[] | undefined;

/** The environment variables loadConfig reads, learnt from loadConfig itself. */
export function settingEnvNames(): readonly string[] {
  if (!known) {
    const seen = new Set<string>();
    const recorder = new Proxy<Record<string, string | undefined>>(
      {},
      {
        get: (_target, name) => {
          if (typeof name === 'string') seen.add(name);
          return undefined;
        },
      },
    );
    loadConfig(recorder);
    known = [...seen];
  }
  return known;
}

/** The Config of `settings`; ConfigError names each bad or unknown option. */
export function configFromSettings(settings: Readonly<Record<string, unknown>>): Config {
  const names = settingEnvNames();
  const problems: string[] = [];
  const env: Record<string, string> = {};
  for (const [option, value] of Object.entries(settings)) {
    const name = envName(option);
    if (!names.includes(name) || optionName(name) !== option) {
      const near = names.map(optionName).find((known) => known.toLowerCase() === option.toLowerCase());
      const hint = near
        ? `did you mean ${near}?`
        : 'the options are the environment variables in camelCase, such as port, redisUrl, authJwtSecret';
      problems.push(`unknown option ${JSON.stringify(option)} (${hint})`);
      continue;
    }
    const text = envText(value);
    if (text === null) problems.push(`${option} must be a string, a number, a boolean, a list or an object (got ${typeof value})`);
    else if (text !== undefined) env[name] = text;
  }
  if (problems.length > 0) throw new ConfigError(`invalid options: ${problems.join('; ')}`);
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(withOptionNames(error.message, names));
    throw error;
  }
}

/** A setting as its variable's text: undefined for unset, null for a value no variable can hold. */
function envText(value: unknown): string | undefined | null {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  if (typeof value === 'number' || typeof value === 'string') return String(value);
  if (Array.isArray(value)) return value.map(String).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return null;
}

/**
 * loadConfig's message with each variable named as its option (`PORT must be…` -> `port must be…`),
 * except inside the quoted values it cites, which are the caller's own text.
 */
function withOptionNames(message: string, names: readonly string[]): string {
  const variable = new RegExp(`\\b(${[...names].sort((a, b) => b.length - a.length).join('|')})\\b`, 'g');
  return message
    .replace(/^invalid configuration:/, 'invalid options:')
    .split(/("(?:[^"\\]|\\.)*")/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(variable, (name) => optionName(name))))
    .join('');
}
