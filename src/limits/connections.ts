/**
 * What one client may hold and start, per replica: MAX_CONNECTIONS_PER_IP open WebSocket connections
 * and event streams per client address, and SUBSCRIBE_RATE_LIMIT operations started per WebSocket
 * connection. Both unset: no limit (load tests from one host keep working).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { WebSocket } from 'ws';
import { RoomcastCloseCode } from '../close-codes.js';
import { ErrorCode, type RoomcastError } from '../errors.js';
import type { Logger, LogFields } from '../log.js';
import type { ClientIpOf } from './client-ip.js';
import { rateLimited } from './errors.js';
import { durationOf, type Rate } from './settings.js';

/** Open connections per client address; an address is forgotten when its last one closes. */
export class ConnectionsPerIp {
  private readonly open = new Map<string, number>();

  constructor(readonly max: number) {}

  /** A slot for `ip`, released by the function returned (once, however often called); undefined when full. */
  acquire(ip: string): (() => void) | undefined {
    const count = this.open.get(ip) ?? 0;
    if (count >= this.max) return undefined;
    this.open.set(ip, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(ip) ?? 1) - 1;
      if (left === 0) this.open.delete(ip);
      else this.open.set(ip, left);
    };
  }

  count(ip: string): number {
    return this.open.get(ip) ?? 0;
  }
}

/** At most `rate.points` in each fixed window of `rate.durationSeconds`, for one connection. */
export class FixedWindow {
  private windowEnd = 0;
  private used = 0;

  constructor(private readonly rate: Rate) {}

  /** Takes one; the ms until the window ends when none is left. */
  take(now = Date.now()): number | undefined {
    if (now >= this.windowEnd) {
      this.windowEnd = now + this.rate.durationSeconds * 1000;
      this.used = 0;
    }
    if (this.used >= this.rate.points) return this.windowEnd - now;
    this.used++;
    return undefined;
  }
}

/**
 * One line per kind of refusal at most every 10 s, with how many were not logged since, so that a
 * client hammering a limit cannot flood the logs.
 */
export function throttledLog(log: Logger, intervalMs = 10_000): (msg: string, fields: LogFields) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (msg, fields) => {
    const now = Date.now();
    const seen = last.get(msg);
    if (seen && now - seen.at < intervalMs) {
      seen.suppressed++;
      return;
    }
    log.info(msg, seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields);
    last.set(msg, { at: now, suppressed: 0 });
  };
}

export interface WebSocketLimits {
  /**
   * For each new connection: false, and the socket closed with 1013 (try again later), when its
   * address already holds MAX_CONNECTIONS_PER_IP connections; its slot is released when it closes.
   */
  admit(ws: WebSocket, request: IncomingMessage): boolean;
  /** The client's address of a connection, derived from its upgrade request when admitted. */
  clientIpOf(ws: WebSocket): string | undefined;
  /** For each operation a connection starts: RATE_LIMITED past SUBSCRIBE_RATE_LIMIT, else undefined. */
  refuseOperation(ws: WebSocket): RoomcastError | undefined;
}

export function webSocketLimits(
  perIp: ConnectionsPerIp | undefined,
  subscribeRate: Rate | undefined,
  clientIpOf: ClientIpOf,
  refused: (msg: string, fields: LogFields) => void,
): WebSocketLimits {
  const windows = new WeakMap<WebSocket, FixedWindow>();
  // The upgrade request is not kept for the connection's life (ws-adapter.ts): its address is, here.
  const addresses = new WeakMap<WebSocket, string>();
  return {
    admit(ws, request) {
      const clientIp = clientIpOf(request);
      addresses.set(ws, clientIp);
      if (!perIp) return true;
      const release = perIp.acquire(clientIp);
      if (!release) {
        refused('refused a WebSocket connection: MAX_CONNECTIONS_PER_IP reached', { clientIp, maxConnectionsPerIp: perIp.max });
        ws.close(RoomcastCloseCode.TryAgainLater, 'too many connections from this address');
        return false;
      }
      ws.once('close', release);
      return true;
    },
    clientIpOf: (ws) => addresses.get(ws),
    refuseOperation(ws) {
      if (!subscribeRate) return undefined;
      let window = windows.get(ws);
      if (!window) windows.set(ws, (window = new FixedWindow(subscribeRate)));
      const waitMs = window.take();
      if (waitMs === undefined) return undefined;
      return rateLimited(
        `a connection may start at most ${subscribeRate.points} operations per ${durationOf(subscribeRate)} (SUBSCRIBE_RATE_LIMIT)`,
        waitMs,
      );
    },
  };
}

/**
 * Event streams (requests that accept `text/event-stream`) count against MAX_CONNECTIONS_PER_IP
 * with WebSocket connections while they are open; past it: 429 RATE_LIMITED, `Retry-After: 1`.
 */
export function useEventStreamsPerIp(
  perIp: ConnectionsPerIp,
  clientIpOf: ClientIpOf,
  refused: (msg: string, fields: LogFields) => void,
): Plugin {
  return {
    onRequest({ request, serverContext, endResponse, fetchAPI }) {
      if (!request.headers.get('accept')?.includes('text/event-stream')) return;
      const { req, res } = serverContext as { req?: IncomingMessage; res?: ServerResponse };
      if (!req || !res) return;
      const clientIp = clientIpOf(req);
      const release = perIp.acquire(clientIp);
      if (release) {
        res.once('close', release);
        return;
      }
      refused('refused an event stream: MAX_CONNECTIONS_PER_IP reached', { clientIp, maxConnectionsPerIp: perIp.max });
      const error = rateLimited(`at most ${perIp.max} connections from one address (MAX_CONNECTIONS_PER_IP)`, 1_000);
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({ errors: [{ message: error.message, extensions: { code: ErrorCode.RATE_LIMITED, retryAfterMs: 1_000 } }] }),
          {
            status: 429,
            headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1' },
          },
        ),
      );
    },
  };
}
