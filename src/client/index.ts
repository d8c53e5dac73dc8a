/**
 * roomcast/client: a graphql-ws client that resumes by itself.
 *
 * It remembers the cursor of the newest message each active subscription delivered (from the
 * result's `extensions.cursor`, whatever the selection), and sends those cursors in
 * `connectionParams` on every (re)connect, so the server continues each resubscribed operation
 * right after what the application already has: nothing is missed, nothing repeated. It is a plain
 * graphql-ws `Client`, so it works unchanged under Apollo's `GraphQLWsLink` and urql's
 * `subscriptionExchange`, and with typed documents from codegen. It runs in browsers and in Node.
 */
import {
  createClient,
  type Client,
  type ClientOptions,
  type FormattedExecutionResult,
  type Sink,
  type SubscribePayload,
} from 'graphql-ws';
import { decodeCursor, type Cursor } from '../rooms/cursor.js';

export interface HistoryGapInfo {
  readonly room: string;
  /** The cursor the subscription resumed after. */
  readonly after: string;
  /** Messages that cannot be replayed; null when the room's history was reset. */
  readonly missed: number | null;
}

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
}

/** Reconnect soon after a drop, backing off to 10 s, with jitter so clients do not return in step. */
async function retryWait(retries: number): Promise<void> {
  const base = Math.min(10_000, 250 * 2 ** retries);
  await new Promise((resolve) => setTimeout(resolve, base / 2 + Math.random() * (base / 2)));
}

interface Tracked {
  id: string | undefined;
  last: Cursor | undefined;
}

export function createRoomcastClient(options: RoomcastClientOptions): Client {
  const { url, onGap, connectionParams, generateID, ...rest } = options;
  const urls = typeof url === 'string' ? [url] : [...url];
  if (urls.length === 0) throw new Error('createRoomcastClient: url must name at least one server');
  let next = 0;
  const cursors = new Map<string, string>();
  let registering: Tracked | undefined;

  const client = createClient({
    retryAttempts: Number.POSITIVE_INFINITY,
    retryWait,
    ...rest,
    url: () => urls[next++ % urls.length]!,
    generateID: (payload) => {
      const id = generateID ? generateID(payload) : randomId();
      if (registering) registering.id = id;
      return id;
    },
    connectionParams: async () => {
      const own = typeof connectionParams === 'function' ? await connectionParams() : connectionParams;
      return { ...own, roomcastCursors: Object.fromEntries(cursors) };
    },
  });

  const subscribe = <Data = Record<string, unknown>, Extensions = unknown>(
    payload: SubscribePayload,
    sink: Sink<FormattedExecutionResult<Data, Extensions>>,
  ): (() => void) => {
    const tracked: Tracked = { id: undefined, last: undefined };
    const forget = () => {
      if (tracked.id !== undefined) cursors.delete(tracked.id);
    };
    registering = tracked;
    let unsubscribe: () => void;
    try {
      unsubscribe = client.subscribe<Data, Extensions>(payload, {
        next: (result) => {
          if (isRepeat(tracked, result.extensions)) return;
          const cursor = cursorText(result.extensions);
          if (cursor !== undefined && tracked.id !== undefined) cursors.set(tracked.id, cursor);
          const gap = gapOf(result.extensions);
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
    subscribe,
    iterate: (payload) => iterate(subscribe, payload),
    on: client.on,
    dispose: client.dispose,
    terminate: client.terminate,
  };
}

/** Records the result's cursor; true when it repeats a message already delivered (same epoch, seq not newer). */
function isRepeat(tracked: Tracked, extensions: unknown): boolean {
  const text = cursorText(extensions);
  const cursor = text === undefined ? undefined : decodeCursor(text);
  if (!cursor) return false;
  const last = tracked.last;
  if (last && last.epoch === cursor.epoch && cursor.seq <= last.seq) return true;
  tracked.last = cursor;
  return false;
}

function cursorText(extensions: unknown): string | undefined {
  const cursor = (extensions as { cursor?: unknown } | undefined)?.cursor;
  return typeof cursor === 'string' ? cursor : undefined;
}

function gapOf(extensions: unknown): HistoryGapInfo | undefined {
  const gap = (extensions as { historyGap?: HistoryGapInfo } | undefined)?.historyGap;
  return gap && typeof gap === 'object' ? gap : undefined;
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/** graphql-ws's `iterate`, over the resuming `subscribe`. */
function iterate<Data, Extensions>(
  subscribe: (payload: SubscribePayload, sink: Sink<FormattedExecutionResult<Data, Extensions>>) => () => void,
  payload: SubscribePayload,
): AsyncIterableIterator<FormattedExecutionResult<Data, Extensions>> {
  const pending: FormattedExecutionResult<Data, Extensions>[] = [];
  let wake: (() => void) | undefined;
  let failure: { error: unknown } | undefined;
  let done = false;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const dispose = subscribe(payload, {
    next: (value) => {
      pending.push(value);
      notify();
    },
    error: (error) => {
      failure = { error };
      notify();
    },
    complete: () => {
      done = true;
      notify();
    },
  });
  const iterator: AsyncIterableIterator<FormattedExecutionResult<Data, Extensions>> = {
    async next() {
      for (;;) {
        const value = pending.shift();
        if (value) return { value, done: false };
        if (failure) throw failure.error;
        if (done) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return() {
      done = true;
      dispose();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
