/**
 * One subscriber of one room: an async iterator of RoomEvents that never skips or repeats a message
 * of the room's history without saying so.
 *
 * It tracks its position (epoch, seq). Live messages arrive from the fan-out; history is read from
 * the backend whenever the live stream cannot continue the position by itself: at the start of a
 * resume, and whenever a live message is not the next one (a replica missed pub/sub messages).
 * While history is read, live messages are buffered and afterwards delivered only if newer, so the
 * hand-over has no gap and no duplicate.
 */
import { badUserInput, ErrorCode, RoomcastError } from '../errors.js';
import { encodeCursor } from '../rooms/cursor.js';
import { isHistoryGap, type Message, type RoomEvent } from '../rooms/message.js';
import type { RoomSnapshot } from './backend.js';
import type { DeliveryBudget } from './budget.js';
import type { FanoutMember } from './fanout.js';

export interface SubscriptionOptions {
  readonly room: string;
  /**
   * The subscriber's party key (rooms/party.ts), if any: messages whose `exclude` is this key are
   * skipped, live and on replay, while the position still moves past them.
   */
  readonly party?: string | undefined;
  /** Messages of history read per backend call while catching up. */
  readonly pageSize: number;
  /** Bounds the bytes waiting to be consumed; when exhausted the subscription ends with SLOW_CONSUMER. */
  readonly budget: DeliveryBudget;
  readHistory(room: string, afterSeq: number, limit: number): Promise<RoomSnapshot>;
  leave(member: FanoutMember): void;
}

/** Yielded as the last event when the subscription cannot continue; resolvers turn it into a GraphQL error. */
export type SubscriptionEvent = RoomEvent | RoomcastError;

const UNKNOWN = -1;

export class RoomSubscription implements AsyncIterableIterator<SubscriptionEvent>, FanoutMember {
  private epoch: string | null = null;
  /** Seq of the last message yielded or skipped past; UNKNOWN means "adopt the next live message". */
  private seq = 0;
  /** Whether the client holds a cursor of (epoch, seq), so that losing it deserves a HistoryGap. */
  private hasCursor = false;
  private syncing = false;
  private readonly buffered: Message[] = [];
  private readonly queue: SubscriptionEvent[] = [];
  private waiter: ((result: IteratorResult<SubscriptionEvent>) => void) | undefined;
  private sink: ((event: SubscriptionEvent) => void) | undefined;
  private finished = false;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  private readonly closers: (() => void)[] = [];

  constructor(private readonly options: SubscriptionOptions) {}

  /**
   * Starts right after a known position: a client's cursor, or the room's head at acceptance.
   * Live messages are buffered from now until `catchUp` has read the history after the position.
   */
  startAt(epoch: string | null, seq: number, hasCursor: boolean): void {
    this.syncing = true;
    this.epoch = epoch;
    this.seq = seq;
    this.hasCursor = hasCursor;
  }

  /** Starts with the next live message: only valid once the room is already listened to. */
  startLive(): void {
    this.seq = UNKNOWN;
  }

  /** Catches up from history; resolves once everything held after the position is queued. */
  async catchUp(): Promise<void> {
    this.syncing = true;
    try {
      for (;;) {
        const snapshot = await this.options.readHistory(this.options.room, this.seq, this.options.pageSize);
        if (this.finished) return;
        if (snapshot.epoch !== this.epoch && this.epoch !== null) {
          this.resetEpoch();
          continue;
        }
        if (snapshot.seq < this.seq) throw badUserInput('after is a cursor ahead of the room: pass the cursor of a received message');
        this.epoch = snapshot.epoch;
        if (!this.replay(snapshot)) break;
      }
    } finally {
      this.syncing = false;
    }
    const pending = this.buffered.splice(0);
    for (const message of pending) this.deliver(message);
  }

  deliver(message: Message): void {
    if (this.finished) return;
    if (this.syncing) {
      this.buffered.push(message);
      return;
    }
    if (this.seq === UNKNOWN) {
      this.epoch = message.epoch;
      this.seq = message.seq - 1;
    } else if (this.epoch === null) {
      // The room had no history when the subscription started: its first epoch is ours.
      this.epoch = message.epoch;
    }
    if (message.epoch !== this.epoch) {
      this.buffered.push(message);
      this.resync(true);
      return;
    }
    if (message.seq <= this.seq) return;
    if (message.seq > this.seq + 1) {
      this.buffered.push(message);
      this.resync(false);
      return;
    }
    this.seq = message.seq;
    if (this.excludes(message)) return;
    this.hasCursor = true;
    this.enqueue(message);
  }

  /** One compare, and only for a message published with excludeSelf. */
  private excludes(message: Message): boolean {
    return message.exclude !== null && message.exclude === this.options.party;
  }

  /** Ends the subscription with an error event (delivered after what is already queued). */
  fail(error: RoomcastError): void {
    if (this.finished) return;
    this.enqueue(error);
    this.finished = true;
    this.options.leave(this);
  }

  next(): Promise<IteratorResult<SubscriptionEvent>> {
    const value = this.queue.shift();
    if (value !== undefined) {
      this.options.budget.give(sizeOf(value));
      return Promise.resolve({ value, done: false });
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  return(): Promise<IteratorResult<SubscriptionEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<SubscriptionEvent>> {
    this.close();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Calls `fn` once the subscription is closed (at once if it already is). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  close(): void {
    if (!this.closed) {
      this.closed = true;
      for (const fn of this.closers.splice(0)) fn();
    }
    this.finished = true;
    clearTimeout(this.retry);
    this.drop();
    this.buffered.length = 0;
    this.options.leave(this);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /** Queues the held messages after the position; true when more pages may follow. */
  private replay(snapshot: RoomSnapshot): boolean {
    const first = snapshot.messages[0];
    const missedUpTo = first ? first.seq - 1 : snapshot.seq;
    if (missedUpTo > this.seq) {
      if (this.hasCursor) this.gap(missedUpTo - this.seq);
      this.seq = missedUpTo;
    }
    for (const message of snapshot.messages) {
      if (message.seq <= this.seq) continue;
      this.seq = message.seq;
      if (this.excludes(message)) continue;
      this.hasCursor = true;
      this.enqueue(message);
    }
    return snapshot.messages.length >= this.options.pageSize && this.seq < snapshot.seq;
  }

  /** The room's history was reset (Redis lost it, or it expired): what came before is unknowable. */
  private resetEpoch(): void {
    if (this.hasCursor) this.gap(null);
    this.hasCursor = false;
    this.epoch = null;
    this.seq = 0;
  }

  /** Reads history after the position in case live messages were lost (the backend reconnected). */
  recheck(): void {
    if (!this.finished && !this.syncing && this.seq !== UNKNOWN) this.resync(false);
  }

  /**
   * Catches up in the background. While the backend is unreachable it retries with backoff, and
   * the subscriber stays connected: it receives what it missed once the backend is back.
   */
  private resync(reset: boolean, attempt = 0): void {
    if (reset) this.resetEpoch();
    this.catchUp().catch((error: unknown) => {
      if (this.finished) return;
      if (error instanceof RoomcastError) {
        this.fail(error);
        return;
      }
      this.syncing = true;
      this.retry = setTimeout(() => this.resync(false, attempt + 1), Math.min(5_000, 100 * 2 ** attempt));
      this.retry.unref();
    });
  }

  private gap(missed: number | null): void {
    const after = encodeCursor({ room: this.options.room, epoch: this.epoch ?? '', seq: this.seq });
    this.enqueue({ room: this.options.room, after, missed });
  }

  /**
   * Hands every event, from now on, to `sink` as it comes instead of queueing it for `next()`
   * (events already queued go first). For transports that write each event out at once and bound
   * what waits in their socket themselves.
   */
  pipe(sink: (event: SubscriptionEvent) => void): void {
    const queued = this.queue.splice(0);
    for (const event of queued) this.options.budget.give(sizeOf(event));
    this.sink = sink;
    for (const event of queued) sink(event);
  }

  private enqueue(event: SubscriptionEvent): void {
    if (this.sink) {
      this.sink(event);
      return;
    }
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter({ value: event, done: false });
      return;
    }
    const size = sizeOf(event);
    if (!(event instanceof RoomcastError) && !this.options.budget.take(size)) {
      this.options.budget.give(size);
      this.drop();
      this.fail(new RoomcastError(ErrorCode.SLOW_CONSUMER, 'the subscriber read too slowly; resume with the last cursor received'));
      return;
    }
    this.queue.push(event);
  }

  /** Empties the queue, returning its bytes to the budget. */
  private drop(): void {
    for (const event of this.queue) this.options.budget.give(sizeOf(event));
    this.queue.length = 0;
  }
}

/** Bytes an event accounts for in a delivery budget: its stored size, or a small constant. */
function sizeOf(event: SubscriptionEvent): number {
  return event instanceof RoomcastError || isHistoryGap(event) ? 256 : event.size;
}

export function asUnavailable(error: unknown): RoomcastError {
  if (error instanceof RoomcastError) return error;
  return new RoomcastError(ErrorCode.UNAVAILABLE, 'the message broker is unavailable; retry later');
}
