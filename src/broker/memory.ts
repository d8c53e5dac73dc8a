/**
 * The embedded backend for a single process: per-room ring-buffer history, sequence and epoch in
 * memory, with the same promises as Redis (atomic append and publish, bounded history, expiry after
 * the last publish). A restart of the process is a reset of every room: old cursors get a HistoryGap.
 */
import { encodeMessage, type Message } from '../rooms/message.js';
import type { Backend, ReadQuery, RoomSnapshot } from './backend.js';
import { newEpoch } from './epoch.js';

export interface MemoryBackendOptions {
  readonly historySize: number;
  readonly historyTtlSeconds: number;
  /** Clock in milliseconds; injectable so expiry can be tested without waiting. */
  readonly now?: () => number;
}

interface RoomState {
  readonly epoch: string;
  seq: number;
  /** The newest `historySize` messages; `history[0]` has seq `seq - history.length + 1`. */
  readonly history: Message[];
  expiresAt: number;
}

export function createMemoryBackend(options: MemoryBackendOptions): Backend {
  const now = options.now ?? Date.now;
  const ttlMs = options.historyTtlSeconds * 1000;
  const rooms = new Map<string, RoomState>();
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

  // Expired rooms are dropped lazily when touched, and swept so idle ones do not accumulate.
  const sweeper = setInterval(() => {
    for (const room of rooms.keys()) live(room);
  }, Math.min(ttlMs, 60_000));
  sweeper.unref();

  const backend: Backend = {
    kind: 'memory',
    onMessage: () => {},
    onResume: () => {},

    async append(room, event, dataJson, sender) {
      if (closed) throw new Error('memory backend is closed');
      let state = live(room);
      if (!state) {
        state = { epoch: newEpoch(), seq: 0, history: [], expiresAt: 0 };
        rooms.set(room, state);
      }
      state.seq += 1;
      state.expiresAt = now() + ttlMs;
      const envelope = { room, seq: state.seq, epoch: state.epoch, event, publishedAt: now(), sender };
      const message: Message = {
        ...envelope,
        data: JSON.parse(dataJson) as unknown,
        // The length of the JSON the Redis backend would carry, byte for byte the same.
        size: encodeMessage(envelope, dataJson).length,
      };
      state.history.push(message);
      if (state.history.length > options.historySize) state.history.shift();
      if (listening.has(room)) backend.onMessage(message);
      return message;
    },

    async read(room, query) {
      return snapshot(live(room), query);
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
      listening.clear();
    },
  };
  return backend;
}

function snapshot(state: RoomState | undefined, query: ReadQuery): RoomSnapshot {
  if (!state) return { epoch: null, seq: 0, messages: [] };
  const { history } = state;
  let messages: Message[];
  if ('latest' in query) {
    messages = query.latest > 0 ? history.slice(-query.latest) : [];
  } else {
    const firstSeq = state.seq - history.length + 1;
    const start = Math.max(0, query.afterSeq + 1 - firstSeq);
    messages = history.slice(start, start + query.limit);
  }
  return { epoch: state.epoch, seq: state.seq, messages };
}
