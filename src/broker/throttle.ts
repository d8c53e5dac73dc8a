/**
 * Throttling (`throttleMs`), the subscriber's choice to get fewer messages: when no window is open a
 * message goes out at once and opens a window of `throttleMs`; during the window only the latest
 * message of each (room, event name) is held; when it ends the held ones go out, in the order they
 * arrived (seq order within a room), and if any did, the next window opens.
 *
 * Windows belong to a group: the subscriptions of one operation (same field, rooms and throttleMs)
 * share one window and one timer, so a window's messages go out together (and render once: they are
 * the same objects for every member). What each member sends is what its own subscription passed it
 * (its position, replay and excluded messages are its own), so nothing is delivered twice or out of
 * order; members that received the same messages share the work of holding them (the group's log).
 * A member that joins mid-window gets what it held at that window's end.
 *
 * What is skipped this way is the subscriber's choice: no HistoryGap. The cursor of the last message
 * delivered is a correct resume point: a resume replays what comes after it, through the throttle.
 * A HistoryGap or an error goes out at once, after what the member held of the gap's room.
 */
import { encodePosition, type RoomPosition } from '@roomcast/client/protocol';
import { RoomcastError } from '../errors.js';
import { isHistoryGap, type Message } from '../rooms/message.js';
import { EventQueue, type SubscriptionEvent } from './event-queue.js';

export class ThrottleGroups {
  private readonly groups = new Map<string, ThrottleGroup>();

  /**
   * `source` delivered through the window of the group `key` (the operation: field and rooms) and
   * `ms`. `start`: where a subscription to several rooms starts in each, so that its position can be
   * told before it delivered anything.
   */
  throttle(source: EventQueue, key: string, ms: number, start?: readonly RoomPosition[]): ThrottledSubscription {
    const groupKey = `${ms}\u0000${key}`;
    let group = this.groups.get(groupKey);
    if (!group) {
      const created = new ThrottleGroup(ms, () => {
        if (this.groups.get(groupKey) === created) this.groups.delete(groupKey);
      });
      this.groups.set(groupKey, (group = created));
    }
    return new ThrottledSubscription(source, group, start);
  }

  /** Stops every window's timer; the subscriptions themselves are closed by the broker. */
  close(): void {
    for (const group of this.groups.values()) group.stop();
    this.groups.clear();
  }

  get size(): number {
    return this.groups.size;
  }
}

/** Past this many held messages in one window, members stop sharing them and each keeps its own. */
const MAX_SHARED = 1024;

class ThrottleGroup {
  readonly members = new Set<ThrottledSubscription>();
  /**
   * The messages held in this window, in arrival order, each once: what the members received, as
   * long as each received exactly these (in step). Live messages reach every member of a group in
   * the same order, so most members only check that theirs is the next one here, and share what this
   * window sends at its end; a member that received anything else keeps its own (ThrottledSubscription).
   */
  readonly log: Message[] = [];
  private latest: Message[] | undefined;
  /** The message that opened the current window: every member that receives it sends it at once. */
  private opener: Message | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ms: number,
    private readonly onEmpty: () => void,
  ) {}

  /** True when `message` goes out now (no window was open, or it opened this one); false: hold it. */
  admits(message: Message): boolean {
    if (this.timer === undefined) {
      this.opener = message;
      this.open();
      return true;
    }
    return message === this.opener;
  }

  leave(member: ThrottledSubscription): void {
    if (!this.members.delete(member) || this.members.size > 0) return;
    this.stop();
    this.onEmpty();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.opener = undefined;
  }

  private open(): void {
    this.timer = setTimeout(() => this.end(), this.ms);
    this.timer.unref();
  }

  /** Adds a message to the log; false when the log is full (members then hold their own). */
  append(message: Message): boolean {
    if (this.log.length >= MAX_SHARED) return false;
    this.log.push(message);
    return true;
  }

  /** The latest message of each (room, event name) of the whole log, computed once per window. */
  sharedLatest(multiRoom: boolean): Message[] {
    this.latest ??= latestOf(this.log, this.log.length, multiRoom);
    return this.latest;
  }

  private end(): void {
    this.timer = undefined;
    this.opener = undefined;
    let sent = false;
    for (const member of this.members) sent = member.flush() || sent;
    this.log.length = 0;
    this.latest = undefined;
    if (sent) this.open();
  }
}

export class ThrottledSubscription extends EventQueue {
  /**
   * The latest message of each (room, event name) held in this window, and when it arrived. Slots
   * are updated in place: deleting and re-inserting map entries per message (this runs per member per
   * message) fills the map with holes to rehash, which is what throttling costs then.
   */
  private readonly held = new Map<string, Slot>();
  private arrivals = 0;
  /** While in step, what this member received this window is the group's log up to `index`. */
  private inStep = true;
  private index = 0;
  /** For several rooms, where the subscriber stands in each: the last message delivered, or where it started. */
  private readonly delivered = new Map<string, RoomPosition>();
  private readonly positions = new WeakMap<object, string>();
  private readonly multiRoom: boolean;

  constructor(
    private readonly source: EventQueue,
    private readonly group: ThrottleGroup,
    start: readonly RoomPosition[] | undefined,
  ) {
    super(source.budget);
    this.multiRoom = start !== undefined;
    for (const position of start ?? []) this.delivered.set(position.room, position);
    group.members.add(this);
    source.onClose(() => this.close());
    source.pipe((event) => this.take(event));
  }

  /** For several rooms: the combined cursor of what was delivered (what was held is not), in every room. */
  override position(): string | undefined {
    return this.multiRoom ? encodePosition(this.delivered.values()) : undefined;
  }

  override positionAfter(event: SubscriptionEvent): string | undefined {
    return this.positions.get(event);
  }

  /** Sends what this member held in the window that ends, and starts the next in step; true when anything went out. */
  flush(): boolean {
    let messages: Message[];
    if (this.inStep) {
      const { log } = this.group;
      messages = this.index === log.length ? this.group.sharedLatest(this.multiRoom) : latestOf(log, this.index, this.multiRoom);
    } else {
      messages = [...this.held.values()].sort(byArrival).map((slot) => slot.message);
      this.held.clear();
    }
    this.inStep = true;
    this.index = 0;
    for (const message of messages) this.send(message);
    return messages.length > 0;
  }

  protected override stop(): void {
    this.held.clear();
    this.inStep = false;
    this.group.leave(this);
    this.source.close();
  }

  private take(event: SubscriptionEvent): void {
    if (event instanceof RoomcastError) {
      this.fail(event);
    } else if (isHistoryGap(event)) {
      this.leaveStep();
      this.flushRoom(event.room);
      this.send(event);
    } else if (this.group.admits(event)) {
      this.send(event);
    } else if (!this.keepsStep(event)) {
      this.hold(event);
    }
  }

  /** True when `message` is the next of the group's log (or becomes it): nothing more to do here. */
  private keepsStep(message: Message): boolean {
    if (!this.inStep) return false;
    const { log } = this.group;
    const next = this.index < log.length ? log[this.index] === message : this.group.append(message);
    if (next) {
      this.index++;
      return true;
    }
    this.leaveStep();
    return false;
  }

  /** From now on this window, holds its own: first what it received in step. */
  private leaveStep(): void {
    if (!this.inStep) return;
    this.inStep = false;
    const { log } = this.group;
    for (let i = 0; i < this.index; i++) this.hold(log[i]!);
  }

  private hold(message: Message): void {
    const key = keyOf(message, this.multiRoom);
    const slot = this.held.get(key);
    if (slot) {
      slot.message = message;
      slot.at = ++this.arrivals;
    } else {
      this.held.set(key, { message, at: ++this.arrivals });
    }
  }

  /** A HistoryGap of `room` comes after everything received before it from that room. */
  private flushRoom(room: string): void {
    const slots: Slot[] = [];
    for (const [key, slot] of this.held) {
      if (slot.message.room !== room) continue;
      this.held.delete(key);
      slots.push(slot);
    }
    for (const slot of slots.sort(byArrival)) this.send(slot.message);
  }

  private send(event: Message | Exclude<SubscriptionEvent, Message | RoomcastError>): void {
    if (this.multiRoom) {
      if (!isHistoryGap(event)) this.delivered.set(event.room, event);
      if (!this.piped) this.positions.set(event, this.position()!);
    }
    this.enqueue(event);
  }
}

/** A held message and its arrival: arrival order is seq order within a room, and the order across rooms. */
interface Slot {
  message: Message;
  at: number;
}

const byArrival = (a: Slot, b: Slot) => a.at - b.at;

/** What a window keeps one of: the event name, and the room for a subscription to several rooms. */
function keyOf(message: Message, multiRoom: boolean): string {
  return multiRoom ? `${message.room}\u0000${message.event}` : message.event;
}

/** The latest message of each key among the first `count` of `log`, in the order those latest arrived. */
function latestOf(log: readonly Message[], count: number, multiRoom: boolean): Message[] {
  const latest = new Map<string, Message>();
  for (let i = 0; i < count; i++) {
    const message = log[i]!;
    const key = keyOf(message, multiRoom);
    latest.delete(key);
    latest.set(key, message);
  }
  return [...latest.values()];
}
