/**
 * One subscription to several rooms (`messagesIn`): a room subscription per room, merged into one
 * stream in the order this replica receives their events. Each room keeps every promise of its own
 * subscription (seq order, exactly once, replay then live, a HistoryGap before a room's replay);
 * one that ends ends them all.
 *
 * Its position, where it stands in every room, is one combined cursor (`encodePosition`): a client
 * that resumes from it continues every room, those that delivered nothing included.
 */
import { encodePosition, type RoomPosition } from '@roomcast/client/protocol';
import { RoomcastError } from '../errors.js';
import type { DeliveryBudget } from './budget.js';
import { EventQueue, type SubscriptionEvent } from './event-queue.js';
import type { RoomSubscription } from './subscription.js';

export class RoomSetSubscription extends EventQueue {
  private readonly rooms: RoomSubscription[] = [];
  /** The position after each event queued for `next()` (or queued before the set was piped); not kept once piped. */
  private readonly positions = new WeakMap<object, string>();

  constructor(budget: DeliveryBudget) {
    super(budget);
  }

  /** Adds a room's subscription, placed at its start and not yet begun: from now on its events are this one's. */
  add(room: RoomSubscription): void {
    if (this.finished) {
      room.close();
      return;
    }
    this.rooms.push(room);
    this.start.push(room.roomPosition);
    room.pipe((event) => this.take(event));
  }

  /** Where each room started: its cursor, or its head at acceptance (read before any event). */
  readonly start: RoomPosition[] = [];

  override position(): string {
    return encodePosition(this.rooms.map((room) => room.roomPosition));
  }

  override positionAfter(event: SubscriptionEvent): string | undefined {
    return this.positions.get(event);
  }

  private take(event: SubscriptionEvent): void {
    if (event instanceof RoomcastError) {
      this.fail(event);
      return;
    }
    // A room's position has moved past the event by the time it is piped here.
    if (!this.piped) this.positions.set(event, this.position());
    this.enqueue(event);
  }

  protected override stop(): void {
    for (const room of this.rooms.splice(0)) room.close();
  }
}
