/**
 * graphql-ws's protocol server (`makeServer`) on `ws` sockets: our own thin adapter in place of
 * graphql-ws/use/ws, for three reasons. One heartbeat timer pings every socket, where use/ws keeps
 * an interval and a timeout per socket; the upgrade request is not held for the connection's life,
 * only its headers; and problems are logged through our logger at their real level (a client's
 * broken frame is not a server error) instead of console.error.
 */
import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { closeReason } from '../close-codes.js';
import type { Logger } from '../log.js';
import type { DeliveryTally } from '../metrics/tally.js';
import { Heartbeat } from './heartbeat.js';

/** What each graphql-ws context carries in `extra`. */
export interface SocketExtra {
  readonly socket: WebSocket;
  /** The upgrade request's headers, for plugins that authenticate (the request itself is not kept). */
  readonly request: { readonly headers: IncomingMessage['headers'] };
}

/** What the transport decides for its sockets, asked by the protocol server. */
export interface SocketGuard {
  /**
   * Whether a socket holding `bufferedBytes` is over its budget (and now being closed as a slow
   * consumer). Asked before each message a client sends is handled: one that keeps sending (pings,
   * operations that fail) but never reads what they are answered with cannot make the server buffer
   * without bound. Room events ask before each write (ws-delivery.ts, the broker's budget).
   */
  overBudget(socket: WebSocket, bufferedBytes: number): boolean;
  /**
   * The client completed operation `id` (graphql-ws handles the message too). graphql-ws forgets an
   * operation completed while it is being set up, and keeps what the setup returns only if the id is
   * taken again meanwhile: the transport ends it then.
   */
  completed(socket: WebSocket, id: string): void;
}

export interface ProtocolServer {
  /** Starts the protocol on an accepted socket. */
  accept(socket: WebSocket, request: IncomingMessage): void;
  /** Closes every socket with 1001 and stops the heartbeat. */
  dispose(): void;
}

/** graphql-ws throws this for a message type only the server may send; that is the client's fault. */
const UNEXPECTED_TYPE = /^Unexpected message of type/;
/** A client message that may be a `complete` (client messages are few: parsed twice only then). */
const COMPLETE = /"complete"/;
/** A `next` message as graphql-ws serializes it (id, type, payload): a result of an operation. */
const NEXT = /^\{"id":"(?:[^"\\]|\\.)*","type":"next"/;

export function serveProtocol(
  wss: WebSocketServer,
  options: ServerOptions<Record<string, unknown>, SocketExtra>,
  keepAliveMs: number,
  log: Logger,
  guard: SocketGuard,
  /** Counts the `next` frames graphql-ws writes (metrics): events delivered without direct delivery. */
  tally?: DeliveryTally,
): ProtocolServer {
  const server = makeServer(options);
  wss.options.handleProtocols = handleProtocols;
  const heartbeat = new Heartbeat(keepAliveMs);

  return {
    accept(socket, request) {
      heartbeat.add(socket);
      const closed = server.opened(
        {
          protocol: socket.protocol,
          send: (data) =>
            new Promise<void>((resolve, reject) => {
              if (socket.readyState !== socket.OPEN) return resolve();
              if (tally && NEXT.test(data)) countFrame(tally, data);
              // A write that fails because the client went is no server error: graphql-ws is done with it.
              socket.send(data, (error) => (error && socket.readyState === socket.OPEN ? reject(error) : resolve()));
            }),
          close: (code, reason) => socket.close(code, reason && closeReason(reason)),
          onMessage: (handle) =>
            socket.on('message', (data) => {
              if (guard.overBudget(socket, socket.bufferedAmount)) return;
              const text = (data as Buffer).toString();
              if (COMPLETE.test(text)) noteComplete(guard, socket, text);
              handle(text).catch((error: unknown) => {
                const message = error instanceof Error ? error.message : String(error);
                if (UNEXPECTED_TYPE.test(message)) {
                  socket.close(CloseCode.BadRequest, closeReason(message));
                  return;
                }
                log.error('websocket message handling failed', { error });
                socket.close(CloseCode.InternalServerError, 'Internal server error');
              });
            }),
        },
        { socket, request: { headers: request.headers } },
      );
      socket.once('close', (code, reason) => {
        heartbeat.delete(socket);
        void closed(code, String(reason));
      });
    },
    dispose() {
      heartbeat.stop();
      for (const socket of wss.clients) socket.close(1001, 'Going away');
    },
  };
}

/** One text frame of `data`: its UTF-8 bytes and the frame header ws adds (server frames are unmasked). */
function countFrame(tally: DeliveryTally, data: string): void {
  const length = Buffer.byteLength(data);
  tally.frames++;
  tally.bytes += length + (length < 126 ? 2 : length < 65_536 ? 4 : 10);
}

function noteComplete(guard: SocketGuard, socket: WebSocket, text: string): void {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return; // graphql-ws answers the malformed message itself
  }
  const { type, id } = (message ?? {}) as { type?: unknown; id?: unknown };
  if (type === 'complete' && typeof id === 'string') guard.completed(socket, id);
}
