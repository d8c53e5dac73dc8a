/**
 * The embedded backend for a single process: per-room ring-buffer history, sequence and epoch in
 * memory, with the same promises as Redis (atomic append and publish, bounded history, expiry after
 * the last publish, idempotency keys held for their window). A restart of the process is a reset of
 * every room: old cursors get a HistoryGap.
 */
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS, idempotencyScope } from '../rooms/idempotency.js';
import { decodeMessage, encodeMessage, type Message } from '../rooms/message.js';
import { decodeWithin, type Backend, type ReadQuery, type RoomSnapshot } from './backend.js';
import { newEpoch } from './epoch.js';

export interface MemoryBackendOptions {
  readonly historySize: number;
  readonly historyTtlSeconds: number;
  /** How long a message is held under its idempotency key, from its publish. @default 600 */
  readonly idempotencyTtlSeconds?: number;
  /** Clock in milliseconds; injectable so expiry can be tested without waiting. */
  readonly now?: () => number;
}

interface RoomState {
  readonly epoch: string;
  seq: number;
  /**
   * The newest `historySize` messages in their JSON form, as Redis holds them (a parsed payload can
   * take many times its size: 63 KB of `[{},{},…]` is 1.6 MB of objects); `history[0]` has seq
   * `seq - history.length + 1`. Decoded when read, as the Redis backend's are.
   */
  readonly history: string[];
  expiresAt: number;
}

/** A message held under its idempotency key, in its JSON form. */
interface Published {
  readonly json: string;
  readonly expiresAt: number;
}

export function createMemoryBackend(options: MemoryBackendOptions): Backend {
  const now = options.now ?? Date.now;
  const ttlMs = options.historyTtlSeconds * 1000;
  const idempotencyTtlMs = (options.idempotencyTtlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS) * 1000;
  const rooms = new Map<string, RoomState>();
  /** By room, then by idempotencyScope(sender, key). */
  const published = new Map<string, Map<string, Published>>();
  const listening = new Map<string, number>();
  let closed = false;

  const live = (room: string): RoomState | undefined => {
    const state = rooms.get(room);
    if (state && state.expiresAt <= now()) {
      rooms.delete(room);
      return undefined;
    }
    return state;
  };

  const forget = (room: string, scope: string) => {
    const scopes = published.get(room);
    scopes?.delete(scope);
    if (scopes?.size === 0) published.delete(room);
  };
  /** The message held under (room, scope), while its window lasts. */
  const original = (room: string, scope: string): Message | undefined => {
    const held = published.get(room)?.get(scope);
    if (!held) return undefined;
    if (held.expiresAt > now()) return decodeMessage(held.json);
    forget(room, scope);
    return undefined;
  };

  // Expired rooms and keys are dropped lazily when touched, and swept so idle ones do not accumulate.
  const sweeper = setInterval(
    () => {
      for (const room of rooms.keys()) live(room);
      for (const [room, scopes] of published) for (const scope of scopes.keys()) original(room, scope);
    },
    Math.min(ttlMs, idempotencyTtlMs, 60_000),
  );
  sweeper.unref();

  const backend: Backend = {
    kind: 'memory',
    onMessage: () => {},
    onResume: () => {},

    async append(room, event, dataJson, sender, idempotencyKey, exclude = null) {
      if (closed) throw new Error('memory backend is closed');
      const scope = idempotencyKey === undefined ? undefined : idempotencyScope(sender, idempotencyKey);
      if (scope !== undefined) {
        const repeated = original(room, scope);
        if (repeated) return repeated;
      }
      let state = live(room);
      if (!state) {
        state = { epoch: newEpoch(), seq: 0, history: [], expiresAt: 0 };
        rooms.set(room, state);
      }
      state.seq += 1;
      state.expiresAt = now() + ttlMs;
      const envelope = { room, seq: state.seq, epoch: state.epoch, event, publishedAt: now(), sender, exclude };
      // The JSON the Redis backend would carry, byte for byte the same.
      const json = encodeMessage(envelope, dataJson);
      const message: Message = { ...envelope, data: JSON.parse(dataJson) as unknown, size: json.length };
      state.history.push(json);
      if (state.history.length > options.historySize) state.history.shift();
      if (scope !== undefined) {
        let scopes = published.get(room);
        if (!scopes) published.set(room, (scopes = new Map<string, Published>()));
        scopes.set(scope, { json, expiresAt: now() + idempotencyTtlMs });
      }
      if (listening.has(room)) backend.onMessage(message);
      return message;
    },

    async read(room, query) {
      return snapshot(live(room), query);
    },

    // One process never loses what it acknowledged; kept for the contract.
    async renewEpoch(room, epoch) {
      if (live(room)?.epoch !== epoch) return false;
      rooms.delete(room);
      return true;
    },

    async listen(room) {
      listening.set(room, (listening.get(room) ?? 0) + 1);
    },

    async unlisten(room) {
      const count = (listening.get(room) ?? 0) - 1;
      if (count > 0) listening.set(room, count);
      else listening.delete(room);
    },

    async ready() {
      return !closed;
    },

    async close() {
      closed = true;
      clearInterval(sweeper);
      rooms.clear();
      published.clear();
      listening.clear();
    },
  };
  return backend;
}

function snapshot(state: RoomState | undefined, query: ReadQuery): RoomSnapshot {
  if (!state) return { epoch: null, seq: 0, messages: [] };
  const { history } = state;
  if ('latest' in query) {
    // Newest first within the bytes, as Redis reads them, then oldest first.
    const newest = query.latest > 0 ? history.slice(-query.latest).reverse() : [];
    const { messages, overBytes } = decodeWithin(newest, query.maxBytes);
    return { epoch: state.epoch, seq: state.seq, messages: messages.reverse(), overBytes };
  }
  const firstSeq = state.seq - history.length + 1;
  const start = Math.max(0, query.afterSeq + 1 - firstSeq);
  return { epoch: state.epoch, seq: state.seq, ...decodeWithin(history.slice(start, start + query.limit), query.maxBytes) };
}
