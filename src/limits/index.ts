/**
 * What one client can make the server do, with or without auth (README, Security: Rate limits):
 *
 * - PUBLISH_RATE_LIMIT: publishes per identity (the token's `sub`, else the client's address) across
 *   all replicas (publish-limiter.ts), checked by the publish resolvers once a publish is valid and
 *   allowed, before the broker.
 * - MAX_CONNECTIONS_PER_IP and SUBSCRIBE_RATE_LIMIT: per replica, per address and per WebSocket
 *   connection (connections.ts).
 * - MAX_RESPONSE_BYTES: the history one operation may read (history-budget.ts).
 * - The client's address, from the socket or X-Forwarded-For per TRUST_PROXY (client-ip.ts).
 *
 * Per operation, the context gets `clientIp` and `limits` (forOperation). Everything started here
 * is stopped by close().
 */
import type { IncomingMessage } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Message } from '../rooms/message.js';
import { clientIpResolver, UNKNOWN_IP, type ClientIpOf } from './client-ip.js';
import { ConnectionsPerIp, throttledLog, useEventStreamsPerIp, webSocketLimits, type WebSocketLimits } from './connections.js';
import { HistoryBudget } from './history-budget.js';
import { createPublishLimiter, type PublishLimiter } from './publish-limiter.js';

export type { WebSocketLimits } from './connections.js';

/** The limits of one operation, in its context. */
export interface OperationLimits {
  /** Counts a publish that passed validation and authorization; RATE_LIMITED past PUBLISH_RATE_LIMIT. */
  admitPublish(user: string | null): Promise<void>;
  /** Runs a history read within the operation's MAX_RESPONSE_BYTES; RESPONSE_TOO_LARGE past it. */
  readHistory(read: (maxBytes: number) => Promise<Message[]>): Promise<Message[]>;
}

/** The part of Yoga's initial context the limits look at: the Node request over HTTP, the WebSocket over one. */
export interface LimitSource {
  readonly req?: IncomingMessage;
  readonly socket?: WebSocket;
}

export interface Limits {
  readonly clientIpOf: ClientIpOf;
  /** The context fields of one operation. */
  forOperation(source: LimitSource): { clientIp: string; limits: OperationLimits };
  readonly webSocket: WebSocketLimits;
  /** Yoga plugins: event streams count against MAX_CONNECTIONS_PER_IP. */
  readonly plugins: readonly Plugin[];
  /** Waits (at most `timeoutMs`) for the publish limiter's Redis connection. */
  ready(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export type LimitsConfig = Pick<
  Config,
  | 'publishRateLimit'
  | 'subscribeRateLimit'
  | 'maxConnectionsPerIp'
  | 'maxResponseBytes'
  | 'trustProxy'
  | 'redis'
  | 'redisKeyPrefix'
  | 'brokerTimeoutMs'
>;

/** A count the limiter's Redis has not answered by then lets the publish through, so a stalled Redis costs a publish little more than it does today. */
const MAX_LIMITER_TIMEOUT_MS = 500;

export function createLimits(config: LimitsConfig, log: Logger): Limits {
  const clientIpOf = clientIpResolver(config.trustProxy);
  const publishLimiter: PublishLimiter | undefined =
    config.publishRateLimit &&
    createPublishLimiter({
      rate: config.publishRateLimit,
      redis: config.redis,
      redisKeyPrefix: config.redisKeyPrefix,
      timeoutMs: Math.min(config.brokerTimeoutMs, MAX_LIMITER_TIMEOUT_MS),
      log,
    });
  const refused = throttledLog(log);
  const perIp = config.maxConnectionsPerIp === undefined ? undefined : new ConnectionsPerIp(config.maxConnectionsPerIp);
  const { maxResponseBytes } = config;
  const webSocket = webSocketLimits(perIp, config.subscribeRateLimit, clientIpOf, refused);

  return {
    clientIpOf,
    forOperation({ req, socket }) {
      const clientIp = (socket ? webSocket.clientIpOf(socket) : req && clientIpOf(req)) ?? UNKNOWN_IP;
      let budget: HistoryBudget | undefined;
      const limits: OperationLimits = {
        admitPublish: publishLimiter ? (user) => publishLimiter.consume(user === null ? `ip:${clientIp}` : `sub:${user}`) : async () => {},
        readHistory: (read) => (budget ??= new HistoryBudget(maxResponseBytes)).read(read),
      };
      return { clientIp, limits };
    },
    webSocket,
    plugins: perIp ? [useEventStreamsPerIp(perIp, clientIpOf, refused)] : [],
    ready: async (timeoutMs) => publishLimiter?.ready(timeoutMs),
    close: async () => publishLimiter?.close(),
  };
}
