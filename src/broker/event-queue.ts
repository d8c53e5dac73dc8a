/**
 * The consuming end of a subscription: an async iterator of events, or, once piped, a sink that gets
 * each event as it comes. What waits for a slow reader is bounded by a delivery budget: past it the
 * subscription ends with SLOW_CONSUMER. Room subscriptions and subscriptions to several rooms are
 * both one of these, so every transport consumes them the same way.
 */
import { ErrorCode, RoomcastError } from '../errors.js';
import { isHistoryGap, type RoomEvent } from '../rooms/message.js';
import type { DeliveryBudget } from './budget.js';

/** Yielded as the last event when the subscription cannot continue; resolvers turn it into a GraphQL error. */
export type SubscriptionEvent = RoomEvent | RoomcastError;

export abstract class EventQueue implements AsyncIterableIterator<SubscriptionEvent> {
  protected finished = false;
  private readonly queue: SubscriptionEvent[] = [];
  private waiter: ((result: IteratorResult<SubscriptionEvent>) => void) | undefined;
  private sink: ((event: SubscriptionEvent) => void) | undefined;
  private closed = false;
  private readonly closers: (() => void)[] = [];

  /** `budget`: shared by the subscriptions of one connection, and by the stages of one subscription. */
  constructor(readonly budget: DeliveryBudget) {}

  /**
   * The combined cursor of where a subscription to several rooms stands now, in every room
   * (`@roomcast/client/protocol` encodePosition); undefined for one room, whose messages' cursors say it.
   */
  position(): string | undefined {
    return undefined;
  }

  /** The combined cursor right after `event`, an event queued for `next()`; undefined when not kept. */
  positionAfter(_event: SubscriptionEvent): string | undefined {
    return undefined;
  }

  /** True once it failed or was closed: nothing more is queued. */
  get ended(): boolean {
    return this.finished;
  }

  /** Releases what feeds the queue (fan-out membership, timers, inner subscriptions); called once it ends. */
  protected abstract stop(): void;

  /** Ends the subscription with an error event (delivered after what is already queued). */
  fail(error: RoomcastError): void {
    if (this.finished) return;
    this.enqueue(error);
    this.finished = true;
    this.stop();
  }

  next(): Promise<IteratorResult<SubscriptionEvent>> {
    const value = this.queue.shift();
    if (value !== undefined) {
      this.budget.give(sizeOf(value));
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
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
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
    this.drop();
    this.stop();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  /**
   * Hands every event, from now on, to `sink` as it comes instead of queueing it for `next()`
   * (events already queued go first). For transports that write each event out at once and bound
   * what waits in their socket themselves.
   */
  pipe(sink: (event: SubscriptionEvent) => void): void {
    const queued = this.queue.splice(0);
    for (const event of queued) this.budget.give(sizeOf(event));
    this.sink = sink;
    for (const event of queued) sink(event);
  }

  protected get piped(): boolean {
    return this.sink !== undefined;
  }

  protected enqueue(event: SubscriptionEvent): void {
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
    if (!(event instanceof RoomcastError) && !this.budget.take(size)) {
      this.budget.give(size);
      this.drop();
      this.fail(new RoomcastError(ErrorCode.SLOW_CONSUMER, 'the subscriber read too slowly; resume with the last cursor received'));
      return;
    }
    this.queue.push(event);
  }

  /** Empties the queue, returning its bytes to the budget. */
  private drop(): void {
    for (const event of this.queue) this.budget.give(sizeOf(event));
    this.queue.length = 0;
  }
}

/** Bytes an event accounts for in a delivery budget: its stored size, or a small constant. */
function sizeOf(event: SubscriptionEvent): number {
  return event instanceof RoomcastError || isHistoryGap(event) ? 256 : event.size;
}
