/**
 * A room's presence events as the async iterator `Subscription.presence` returns: live from the moment
 * it resolves (subscribe, then query `presence`: every event's count continues from there), ended
 * with SLOW_CONSUMER when its reader falls too far behind.
 */
import { ErrorCode, RoomcastError } from '../errors.js';
import type { Presence } from './presence.js';
import type { PresenceEvent } from './types.js';

/** Events one subscription may leave unread before it is ended. */
const MAX_QUEUED_EVENTS = 1_000;

export type PresenceStreamItem = PresenceEvent | RoomcastError;

export async function presenceEvents(presence: Presence, room: string): Promise<AsyncIterableIterator<PresenceStreamItem>> {
  const stream = new PresenceStream();
  stream.stop = await presence.watch(room, (event) => stream.push(event));
  return stream;
}

class PresenceStream implements AsyncIterableIterator<PresenceStreamItem> {
  stop: () => void = () => {};
  private readonly queue: PresenceStreamItem[] = [];
  private waiter: ((result: IteratorResult<PresenceStreamItem>) => void) | undefined;
  private finished = false;

  push(event: PresenceEvent): void {
    if (this.finished) return;
    if (this.queue.length >= MAX_QUEUED_EVENTS) {
      this.queue.push(
        new RoomcastError(ErrorCode.SLOW_CONSUMER, 'presence events were read too slowly: subscribe again, then query presence'),
      );
      this.end();
    } else {
      this.queue.push(event);
    }
    this.wake();
  }

  next(): Promise<IteratorResult<PresenceStreamItem>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<PresenceStreamItem>> {
    this.queue.length = 0;
    this.end();
    this.wake();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<PresenceStreamItem>> {
    void this.return();
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.finished) return;
    this.finished = true;
    this.stop();
  }

  private wake(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    this.waiter = undefined;
    const value = this.queue.shift();
    waiter(value === undefined ? { value: undefined, done: true } : { value, done: false });
  }
}
