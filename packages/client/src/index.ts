/**
 * @roomcast/client: a graphql-ws client that resumes by itself and never gives up on a server.
 *
 * It remembers the cursor of the newest message each active subscription delivered (from the
 * result's `extensions.cursor`, whatever the selection; for a subscription to several rooms, its
 * position in all of them, from `extensions.position` and each later cursor), and sends those cursors in
 * `connectionParams` on every (re)connect, so the server continues each resubscribed operation
 * right after what the application already has: nothing is missed, nothing repeated. It retries
 * forever (refused connections included) and notices a server that went silent. It is a plain
 * graphql-ws `Client`, so it works unchanged under Apollo's `GraphQLWsLink` and urql's
 * `subscriptionExchange`, and with typed documents from codegen. It runs in browsers and in Node
 * (pass `webSocketImpl: WebSocket` from `ws` on Node 20, which has no global WebSocket).
 */
import {
  createClient,
  type Client,
  type ClientOptions,
  type FormattedExecutionResult,
  type Sink,
  type SubscribePayload,
} from 'graphql-ws/client';
import { iterate } from './iterate.js';
import { watchLiveness } from './liveness.js';
import {
  CURSORS_PARAM,
  cursorOf,
  decodeCursor,
  decodePosition,
  encodeCursor,
  encodePosition,
  historyGapOf,
  positionOf,
  type HistoryGapInfo,
  type RoomPosition,
} from './protocol.js';
import { backOff, isCode, isRetryable } from './retry.js';
import { tokenKeeper, type GetToken, type TokenKeeper } from './token.js';

export type { HistoryGapInfo } from './protocol.js';
export { FATAL_CLOSE_CODES, isRetryable } from './retry.js';

export interface RoomcastClientOptions extends Omit<ClientOptions, 'url'> {
  /**
   * The server's WebSocket URL, or several: the first connection goes to the first, and each later
   * attempt to the next one, so a client whose replica went away reconnects to another and resumes
   * there. (Shuffle the list per client to spread clients over replicas.)
   */
  readonly url: string | readonly string[];
  /**
   * Called when a subscription could not be resumed completely (the event is also delivered).
   * Reload the application's state for that room.
   */
  readonly onGap?: (gap: HistoryGapInfo, operation: SubscribePayload) => void;
  /**
   * A connection attempt (TCP, WebSocket handshake and `connection_ack`) not complete in this time is
   * abandoned and retried, on the next URL. `0`: wait as long as the platform does.
   * @default 10_000
   */
  readonly connectTimeoutMs?: number;
  /**
   * For a server with auth on: called for a token on every connect (sent as
   * `connectionParams.authToken`) and before the token expires, to refresh it in-band. With it, a
   * 4403 close after the connection was established (token expired, revoked) reconnects with a fresh
   * token and resumes; a token refused at connection_init ends the subscriptions (no endless loop).
   * Without it, every 4403 is final.
   */
  readonly getToken?: GetToken;
  /**
   * A `ping` (sent every `keepAlive` ms, graphql-ws's option, 20 s here) not answered in this time
   * means the server is gone: the socket is dropped and the client reconnects. `0`: never.
   * @default 10_000
   */
  readonly pongTimeoutMs?: number;
  /**
   * Who this client is to the server, sent as `connectionParams.clientId` on every (re)connect: a
   * publish with `excludeSelf` is then kept from this client's own subscriptions, on every connection
   * it makes, and from their resumes. 1 to 64 characters of `A-Z a-z 0-9 _ . : -` (else the server
   * closes the connection with 4400). Default: a random id made once per client. Read it back as
   * `client.clientId`, to send it as `X-Roomcast-Client-Id` with publishes over HTTP.
   */
  readonly clientId?: string;
}

/** A graphql-ws `Client`, plus the client id it sends on every connect. */
export interface RoomcastClient extends Client {
  readonly clientId: string;
}

interface Tracked {
  id: string | undefined;
  /** Where the operation stands in each room it delivered from; from a position, in all its rooms. */
  rooms: Map<string, RoomPosition>;
  /** Whether the server sent a position: the operation spans several rooms and resumes from all of them. */
  positioned: boolean;
}

/**
 * A graphql-ws `Client` that resumes every subscription after a reconnect. Defaults that differ from
 * graphql-ws's: retries forever (ending only on the close codes in {@link FATAL_CLOSE_CODES} and
 * graphql-ws's own protocol faults), 125 ms to 10 s apart with jitter; pings every 20 s.
 */
export function createRoomcastClient(options: RoomcastClientOptions): RoomcastClient {
  const {
    url,
    onGap,
    connectionParams,
    generateID,
    connectTimeoutMs = 10_000,
    pongTimeoutMs = 10_000,
    getToken,
    clientId = globalThis.crypto.randomUUID(),
    retryAttempts = Number.POSITIVE_INFINITY,
    retryWait = backOff,
    shouldRetry = (error: unknown): boolean => isRetryable(error) || (tokens !== undefined && isCode(error, 4403) && closedAfterAck),
    keepAlive = 20_000,
    webSocketImpl,
    ...rest
  } = options;
  const urls = typeof url === 'string' ? [url] : [...url];
  if (urls.length === 0) throw new Error('createRoomcastClient: url must name at least one server');
  let next = 0;
  /** The operations that delivered something, by id: each resumes from where it stands. */
  const cursors = new Map<string, Tracked>();
  let registering: Tracked | undefined;
  let acknowledged = false;
  /** Whether the last close ended an established connection (a 4403 then means expired or revoked). */
  let closedAfterAck = false;
  const tokens: TokenKeeper | undefined = getToken && tokenKeeper(getToken, () => client);
  let markDisposed = () => {};
  const disposed = new Promise<void>((resolve) => (markDisposed = resolve));

  const client: Client = createClient({
    ...rest,
    webSocketImpl: webSocketImpl && quietAbort(webSocketImpl),
    retryAttempts,
    // A wait between attempts ends early on dispose, so the subscriptions end at once, not after it.
    retryWait: (retries) => Promise.race([retryWait(retries), disposed]),
    shouldRetry,
    keepAlive,
    url: () => urls[next++ % urls.length]!,
    // graphql-ws calls generateID synchronously inside subscribe(), which is how the id reaches `registering`.
    generateID: (payload) => {
      const id = generateID ? generateID(payload) : globalThis.crypto.randomUUID();
      if (registering) registering.id = id;
      return id;
    },
    connectionParams: async () => {
      const own = typeof connectionParams === 'function' ? await connectionParams() : connectionParams;
      const auth = tokens ? { authToken: await tokens.connectToken() } : {};
      return {
        ...own,
        clientId,
        ...auth,
        [CURSORS_PARAM]: Object.fromEntries([...cursors].map(([id, tracked]) => [id, resumeText(tracked)])),
      };
    },
  });
  const stopWatching = watchLiveness(client, { connectTimeoutMs, pongTimeoutMs });
  client.on('connected', () => {
    acknowledged = true;
    tokens?.connected();
  });
  client.on('closed', () => {
    closedAfterAck = acknowledged;
    acknowledged = false;
    tokens?.closed();
  });

  const subscribe = <Data = Record<string, unknown>, Extensions = unknown>(
    payload: SubscribePayload,
    sink: Sink<FormattedExecutionResult<Data, Extensions>>,
  ): (() => void) => {
    const tracked: Tracked = { id: undefined, rooms: new Map(), positioned: false };
    const forget = () => {
      if (tracked.id !== undefined) cursors.delete(tracked.id);
    };
    registering = tracked;
    let unsubscribe: () => void;
    try {
      unsubscribe = client.subscribe<Data, Extensions>(payload, {
        next: (result) => {
          if (!advance(tracked, result.extensions)) return;
          if (tracked.rooms.size > 0 && tracked.id !== undefined) cursors.set(tracked.id, tracked);
          const gap = historyGapOf(result.extensions);
          if (gap) onGap?.(gap, payload);
          sink.next(result);
        },
        error: (error) => {
          forget();
          sink.error(error);
        },
        complete: () => {
          forget();
          sink.complete();
        },
      });
    } finally {
      registering = undefined;
    }
    return () => {
      forget();
      unsubscribe();
    };
  };

  return {
    ...client,
    clientId,
    subscribe,
    iterate: (payload) => iterate(subscribe, payload),
    on: client.on,
    // graphql-ws's dispose waits for a connection attempt in progress to open, which never happens
    // when the server is frozen: an attempt not yet acknowledged is cut instead.
    dispose: async () => {
      markDisposed();
      if (!acknowledged) client.terminate();
      stopWatching();
      tokens?.closed();
      // graphql-ws's dispose rejects when the attempt it waits for fails: disposed either way.
      await Promise.resolve(client.dispose()).catch(() => {});
    },
    terminate: client.terminate,
  };
}

/**
 * Moves the operation to where the result leaves it: its position when it carries one (a subscription
 * to several rooms), else its message's room to its cursor. False, moving nothing, when the result
 * repeats a message already delivered (same room and epoch, seq not newer).
 */
function advance(tracked: Tracked, extensions: unknown): boolean {
  const text = cursorOf(extensions);
  const cursor = text === undefined ? undefined : decodeCursor(text);
  const last = cursor && tracked.rooms.get(cursor.room);
  if (cursor && last && last.epoch === cursor.epoch && cursor.seq <= last.seq) return false;
  const position = positionOf(extensions);
  const rooms = position === undefined ? undefined : decodePosition(position);
  if (rooms) {
    tracked.rooms = new Map(rooms.map((room) => [room.room, room]));
    tracked.positioned = true;
  } else if (cursor) {
    tracked.rooms.set(cursor.room, cursor);
  }
  return true;
}

/** What the operation resumes from: its position in all its rooms, or its one room's cursor. */
function resumeText(tracked: Tracked): string {
  if (tracked.positioned) return encodePosition(tracked.rooms.values());
  const [only] = tracked.rooms.values();
  return encodeCursor({ room: only!.room, epoch: only!.epoch ?? '', seq: only!.seq });
}

/**
 * Node's `ws` emits 'error' when a socket is closed before its handshake completed, which is what
 * graphql-ws's terminate() does to a stuck attempt, after removing its own handler: with no listener
 * left, Node would throw it. (Browsers' WebSocket has no such event emitter and needs nothing.)
 */
function quietAbort(impl: unknown): unknown {
  const base = impl as { prototype?: { on?: unknown } } & (new (...args: never[]) => { on(event: 'error', listener: () => void): void });
  if (typeof base.prototype?.on !== 'function') return impl;
  return class extends base {
    constructor(...args: never[]) {
      super(...args);
      this.on('error', () => {});
    }
  };
}
