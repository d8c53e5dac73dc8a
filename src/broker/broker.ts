/**
 * The Broker: what the GraphQL layer publishes to and subscribes from. One implementation, over a
 * Backend (memory or Redis), so both keep exactly the same promises:
 *
 * - Order: the messages of a room have seq 1, 2, 3 ... in their epoch, assigned when stored, and every
 *   subscriber on every replica receives them in that order, each once.
 * - History: at least the latest `historySize` messages of a room are held until `historyTtlSeconds`
 *   after the room's last publish. Then the room's history, seq and epoch are dropped together.
 * - Resume: a subscription after a cursor first gets every held message after it, then live ones, with
 *   no gap and no duplicate at the hand-over. What is no longer held is announced by a HistoryGap
 *   (`missed` exact, or null when the epoch changed) before the rest.
 * - A subscription without a cursor gets every message stored after it was accepted.
 * - publish resolves only once the message is stored and sent; when the backend cannot be reached it
 *   rejects with UNAVAILABLE.
 * - A publish with an idempotency key already used for the room by the same sender within the window
 *   resolves with the message first published under it, and stores and sends nothing.
 */
import { ErrorCode, RoomcastError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BrokerMetrics } from './metrics.js';
import type { RoomPosition } from '@roomcast/client/protocol';
import type { Cursor } from '../rooms/cursor.js';
import type { Message } from '../rooms/message.js';
import type { Backend, RoomSnapshot } from './backend.js';
import { createByteBudget, type DeliveryBudget } from './budget.js';
import { Fanout } from './fanout.js';
import type { EventQueue } from './event-queue.js';
import { RoomSetSubscription } from './room-set.js';
import { ThrottleGroups } from './throttle.js';
import { asUnavailable, RoomSubscription } from './subscription.js';

/** A history read stopped at its `maxBytes`: `bytes` of message JSON counted, past it. */
export class HistoryOverBytes extends Error {
  override readonly name = 'HistoryOverBytes';

  constructor(readonly bytes: number) {
    super(`the history read is over its byte limit (${bytes} bytes counted)`);
  }
}

export interface Broker {
  readonly kind: Backend['kind'];
  /**
   * `sender`: the `sub` of the token that published, set by the server (never taken from a client's
   * arguments); omitted for anonymous publishes and when auth is off, and then the message's sender is null.
   * `idempotencyKey`: a repeat with the same key, room and sender within the idempotency window returns
   * the message first published under it and publishes nothing (Backend.append).
   * `exclude`: the publisher's party key (rooms/party.ts), for `excludeSelf`: subscriptions of that
   * party skip the message, live and when replaying history.
   */
  publish(room: string, event: string, dataJson: string, sender?: string, idempotencyKey?: string, exclude?: string): Promise<Message>;
  /**
   * Held messages oldest first: the first `limit` after `after`, or the latest `limit`. With
   * `maxBytes`, fails with HistoryOverBytes rather than decode more of their JSON than that.
   */
  history(room: string, after: Cursor | undefined, limit: number, maxBytes?: number): Promise<Message[]>;
  /**
   * Resolves once the subscription is live and its catch-up is queued. `budget` bounds what may
   * wait for the subscriber (shared by a connection's subscriptions); by default each subscription
   * gets `maxBufferedBytes` of its own. `party`: the subscriber's party key, if it has one: messages
   * published with that key as their `exclude` are skipped (its seqs then jump).
   */
  subscribe(room: string, after: Cursor | undefined, budget?: DeliveryBudget, party?: string): Promise<RoomSubscription>;
  /**
   * One subscription to several distinct rooms, each as `subscribe` would make it (a room without
   * `after` starts at its head at acceptance), their events merged in the order they arrive here.
   * Resolves once every room is live and caught up; if one room cannot be, none is subscribed.
   */
  subscribeRooms(
    rooms: readonly { readonly room: string; readonly after?: RoomStart | undefined }[],
    budget?: DeliveryBudget,
    party?: string,
  ): Promise<RoomSetSubscription>;
  /**
   * `source` through the throttle window (`throttleMs`) shared by the subscriptions of the operation
   * `key` (throttle.ts); `start`: where a subscription to several rooms started in each.
   */
  throttle(source: EventQueue, key: string, ms: number, start?: readonly RoomPosition[]): EventQueue;
  ready(): Promise<boolean>;
  /** What the server counts (metrics/); the publish resolvers count publishes through it. */
  readonly metrics?: BrokerMetrics | undefined;
  /** Room subscriptions live now, and rooms listened to, on this replica (for metrics). */
  readonly subscriptionCount: number;
  readonly roomCount: number;
  /** Each room with subscriptions on this replica, and how many (the inspector's periodic read). */
  roomSubscriptions(): IterableIterator<[room: string, subscriptions: number]>;
  /** The room's position now: its epoch (null without history) and newest seq (0 without). */
  head(room: string): Promise<{ readonly epoch: string | null; readonly seq: number }>;
  close(): Promise<void>;
}

/**
 * Where a room subscription resumes: right after (epoch, seq); a null epoch with seq 0 is a room that
 * had no history when the client's subscription started there. `resumedFrom`: the client's text for
 * it, a HistoryGap's `after` when no message names the position.
 */
interface RoomStart {
  readonly epoch: string | null;
  readonly seq: number;
  readonly resumedFrom?: string | undefined;
}

export interface BrokerOptions {
  /** Bytes a subscription may leave unread, when its transport gives no budget. @default 1 MiB */
  readonly maxBufferedBytes?: number;
  /** History page size when catching up. @default 500 */
  readonly catchUpPageSize?: number;
  /** Delivery latency, history gaps (metrics/). */
  readonly metrics?: BrokerMetrics | undefined;
}

export function createBroker(backend: Backend, log: Logger, options: BrokerOptions = {}): Broker {
  const { metrics } = options;
  const subscriptions = new Set<RoomSubscription>();
  /** Epochs being ended, by `${epoch}:${room}`: one renewal however many notice it. */
  const renewals = new Map<string, Promise<void>>();
  /**
   * A room's head went back behind what this replica delivered or read: Redis lost acknowledged
   * messages, and the next seqs would name other messages than the ones clients hold. The epoch is
   * ended (Backend.renewEpoch), so every subscriber and cursor of it gets HistoryGap(missed: null);
   * the room's subscriptions here catch up at once.
   */
  const renew = (room: string, epoch: string, seen: number, head: number): Promise<void> => {
    const key = `${epoch}:${room}`;
    let renewal = renewals.get(key);
    if (!renewal) {
      log.warn(
        "a room's history went back: Redis lost acknowledged messages (a failover, or a restart from an older snapshot); starting a new epoch",
        {
          room,
          epoch,
          seenSeq: seen,
          headSeq: head,
        },
      );
      metrics?.historyRollback();
      renewal = backend
        .renewEpoch(room, epoch)
        .then(() => {
          for (const subscription of subscriptions) if (subscription.roomPosition.room === room) subscription.recheck();
        })
        .finally(() => renewals.delete(key));
      renewals.set(key, renewal);
    }
    return renewal;
  };
  const fanout = new Fanout(backend, log, (room, epoch, seen, head) => {
    // Noticed on a live message: the subscriptions' retries take over if Redis cannot be reached now.
    renew(room, epoch, seen, head).catch((error: unknown) =>
      log.warn('could not start a new epoch; retrying on the next read', { room, error }),
    );
  });
  backend.onMessage = (message) => {
    fanout.deliver(message);
    // Once per message per replica, after the direct deliveries wrote it; not for rooms not listened to here.
    if (metrics && fanout.isLive(message.room)) metrics.delivering(message.publishedAt);
  };
  // Reads issued during one recheck sweep, shared by subscriptions at the same position of the same
  // room: after a reconnect, one read per room and position instead of one per subscriber. Only
  // within the sweep, so every shared read starts after delivery resumed.
  let sweep: Map<string, Promise<RoomSnapshot>> | undefined;
  const readHistory = (room: string, afterSeq: number, limit: number): Promise<RoomSnapshot> => {
    if (!sweep) return readWatched(room, afterSeq, limit);
    const key = `${afterSeq}:${limit}:${room}`;
    let reading = sweep.get(key);
    if (!reading) {
      reading = readWatched(room, afterSeq, limit);
      sweep.set(key, reading);
    }
    return reading;
  };
  /**
   * A history read that notices a head gone back (fanout.ts), and then reads again in the new epoch.
   * A replay's page decodes at most what one subscriber may hold (a page of large messages would
   * otherwise be built whole); the replay reads on from where a short page stopped.
   */
  const readWatched = async (room: string, afterSeq: number, limit: number): Promise<RoomSnapshot> => {
    const query = { afterSeq, limit, maxBytes: maxBufferedBytes };
    const before = fanout.knownHead(room);
    const snapshot = await backend.read(room, query);
    if (!fanout.observeRead(room, before, snapshot)) return snapshot;
    await renew(room, snapshot.epoch!, before!.seq, snapshot.seq);
    return backend.read(room, query);
  };
  backend.onResume = (rooms) => {
    sweep = new Map();
    let rechecked = 0;
    try {
      for (const subscription of subscriptions) {
        if (!rooms.has(subscription.roomPosition.room)) continue;
        subscription.recheck();
        rechecked++;
      }
    } finally {
      log.info('message delivery resumed; subscribers catch up from history', {
        rooms: rooms.size,
        subscriptions: rechecked,
        reads: sweep.size,
      });
      sweep = undefined;
    }
  };
  const pageSize = options.catchUpPageSize ?? 500;
  const maxBufferedBytes = options.maxBufferedBytes ?? 1_048_576;
  const throttles = new ThrottleGroups();
  const inFlight = new Set<Promise<Message>>();
  let closed = false;

  let lastFailure = { message: '', at: 0 };
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    if (closed) throw new RoomcastError(ErrorCode.UNAVAILABLE, 'the server is shutting down');
    try {
      return await work();
    } catch (error) {
      if (error instanceof RoomcastError || error instanceof HistoryOverBytes) throw error;
      // One line per distinct failure (at most every 10 s), not one per request during an outage.
      const message = error instanceof Error ? error.message : String(error);
      if (message !== lastFailure.message || Date.now() - lastFailure.at > 10_000) {
        log.warn('broker operation failed', { backend: backend.kind, error: message });
        lastFailure = { message, at: Date.now() };
      }
      throw asUnavailable(error);
    }
  };

  /**
   * A room's subscription, placed at its start. `knownStart`: read the room's head even when the
   * room is already listened to, so that the position is known before the first message.
   */
  const place = async (
    room: string,
    after: RoomStart | undefined,
    budget: DeliveryBudget,
    party: string | undefined,
    knownStart: boolean,
  ) => {
    const subscription: RoomSubscription = new RoomSubscription({
      room,
      party,
      pageSize,
      budget,
      readHistory,
      resumedFrom: after?.resumedFrom,
      onGap: metrics && (() => metrics.historyGap()),
      leave: (member) => {
        subscriptions.delete(subscription);
        fanout.leave(room, member);
      },
    });
    if (after) {
      subscription.startAt(after.epoch, after.seq, true);
    } else if (!knownStart && fanout.isLive(room)) {
      subscription.startLive();
    } else {
      // The room's head at acceptance: everything stored later is caught up or arrives live.
      const head = await backend.read(room, { latest: 0 });
      subscription.startAt(head.epoch, head.seq, false);
    }
    return subscription;
  };

  /** Joins the room's fan-out and catches up from the start; resolves once it is live. */
  const begin = async (subscription: RoomSubscription, room: string, live: boolean) => {
    await fanout.join(room, subscription);
    // Ended meanwhile (another room of its set failed): its leave has already run.
    if (subscription.ended) return;
    subscriptions.add(subscription);
    if (live) return;
    try {
      await subscription.catchUp();
    } catch (error) {
      subscription.close();
      throw error;
    }
  };

  return {
    kind: backend.kind,
    metrics,
    publish: (room, event, dataJson, sender, idempotencyKey, exclude) => {
      const publishing = guard(() => backend.append(room, event, dataJson, sender ?? null, idempotencyKey, exclude ?? null));
      inFlight.add(publishing);
      const done = () => inFlight.delete(publishing);
      publishing.then(done, done);
      return publishing;
    },

    history: (room, after, limit, maxBytes) =>
      guard(async () => {
        const within = (snapshot: RoomSnapshot): Message[] => {
          if (snapshot.overBytes !== undefined) throw new HistoryOverBytes(snapshot.overBytes);
          return [...snapshot.messages];
        };
        if (!after) return within(await backend.read(room, { latest: limit, maxBytes }));
        const snapshot = await backend.read(room, { afterSeq: after.seq, limit, maxBytes });
        if (snapshot.epoch === after.epoch) return within(snapshot);
        // The cursor is from an earlier history of the room: everything held now came after it.
        return within(await backend.read(room, { afterSeq: 0, limit, maxBytes }));
      }),

    subscribe: (room, after, budget = createByteBudget(maxBufferedBytes), party) =>
      guard(async () => {
        const live = !after && fanout.isLive(room);
        const subscription = await place(room, after, budget, party, false);
        await begin(subscription, room, live);
        return subscription;
      }),

    subscribeRooms: (rooms, budget = createByteBudget(maxBufferedBytes), party) =>
      guard(async () => {
        const set = new RoomSetSubscription(budget);
        try {
          // Every room placed first, so the set's position is right from its first event on.
          const placed = await Promise.all(rooms.map(({ room, after }) => place(room, after, budget, party, true)));
          for (const subscription of placed) set.add(subscription);
          await Promise.all(placed.map((subscription, i) => begin(subscription, rooms[i]!.room, false)));
        } catch (error) {
          set.close();
          throw error;
        }
        return set;
      }),

    throttle: (source, key, ms, start) => throttles.throttle(source, key, ms, start),

    ready: () => (closed ? Promise.resolve(false) : backend.ready()),

    get subscriptionCount() {
      return subscriptions.size;
    },

    get roomCount() {
      return fanout.roomCount;
    },

    roomSubscriptions: () => fanout.memberCounts(),

    head: (room) =>
      guard(async () => {
        const { epoch, seq } = await backend.read(room, { latest: 0 });
        return { epoch, seq };
      }),

    async close() {
      if (closed) return;
      closed = true;
      for (const subscription of [...subscriptions]) subscription.close();
      throttles.close();
      // Publishes already accepted are stored and sent before the connection to Redis goes.
      await Promise.allSettled(inFlight);
      await backend.close();
    },
  };
}
