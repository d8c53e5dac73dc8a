/**
 * Throttle windows (src/broker/throttle.ts) on a fake clock, with no socket involved: the first
 * message at once, then the latest of each event name when the window ends, in seq order; windows
 * shared by the members of a group (one timer), each member delivering only what it received; a
 * HistoryGap flushes its room first; positions of subscriptions to several rooms count what was delivered.
 */
import { decodePosition } from '@roomcast/client/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createByteBudget } from '../../src/broker/budget.js';
import { EventQueue, type SubscriptionEvent } from '../../src/broker/event-queue.js';
import { ThrottleGroups } from '../../src/broker/throttle.js';
import { ErrorCode, RoomcastError } from '../../src/errors.js';
import type { Message } from '../../src/rooms/message.js';

class Source extends EventQueue {
  stopped = false;
  constructor() {
    super(createByteBudget(1 << 20));
  }
  push(event: SubscriptionEvent): void {
    this.enqueue(event);
  }
  protected stop(): void {
    this.stopped = true;
  }
}

const message = (room: string, seq: number, event = 'tick'): Message => ({
  room,
  seq,
  epoch: 'E1',
  event,
  data: seq,
  publishedAt: 0,
  sender: null,
  exclude: null,
  size: 100,
});
const label = (e: SubscriptionEvent) =>
  e instanceof RoomcastError ? e.code : 'after' in e ? `gap:${e.room}` : `${e.room}#${e.seq}:${e.event}`;

function collect(stream: EventQueue): string[] {
  const out: string[] = [];
  stream.pipe((event) => out.push(label(event)));
  return out;
}

let groups: ThrottleGroups;
beforeEach(() => {
  vi.useFakeTimers();
  groups = new ThrottleGroups();
});
afterEach(() => {
  groups.close();
  vi.useRealTimers();
});

describe('a throttled subscription', () => {
  it('should send the first message at once, then the latest of each event name when the window ends, in seq order', () => {
    const source = new Source();
    const out = collect(groups.throttle(source, 'r', 200));
    source.push(message('r', 1));
    expect(out).toEqual(['r#1:tick']);
    for (let seq = 2; seq <= 6; seq++) source.push(message('r', seq, seq === 3 ? 'rare' : 'tick'));
    expect(out).toEqual(['r#1:tick']);
    vi.advanceTimersByTime(199);
    expect(out).toEqual(['r#1:tick']);
    vi.advanceTimersByTime(1);
    // The rare event is not swallowed by the frequent one; both in seq order.
    expect(out).toEqual(['r#1:tick', 'r#3:rare', 'r#6:tick']);
    // Something went out: the next window is open, so the next message waits for its end.
    source.push(message('r', 7));
    expect(out).toHaveLength(3);
    vi.advanceTimersByTime(200);
    expect(out.at(-1)).toBe('r#7:tick');
    // A window that ends with nothing held closes: the next message goes out at once again.
    vi.advanceTimersByTime(200);
    source.push(message('r', 8));
    expect(out.at(-1)).toBe('r#8:tick');
  });

  it('should share one window between the members of a group, each sending only what it received', () => {
    const [a, b] = [new Source(), new Source()];
    const outA = collect(groups.throttle(a, 'r', 100));
    const outB = collect(groups.throttle(b, 'r', 100));
    const other = new Source();
    const outOther = collect(groups.throttle(other, 'elsewhere', 100));
    const first = message('r', 1);
    a.push(first);
    b.push(first);
    expect([outA, outB]).toEqual([['r#1:tick'], ['r#1:tick']]);
    const second = message('r', 2);
    a.push(second);
    b.push(second);
    a.push(message('r', 3, 'only-a'));
    // Another group has its own window: at once.
    other.push(message('elsewhere', 1));
    expect(outOther).toEqual(['elsewhere#1:tick']);
    // A member joining mid-window holds what it receives until that window's end.
    const c = new Source();
    const outC = collect(groups.throttle(c, 'r', 100));
    c.push(second);
    expect(outC).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(outA).toEqual(['r#1:tick', 'r#2:tick', 'r#3:only-a']);
    expect(outB).toEqual(['r#1:tick', 'r#2:tick']);
    expect(outC).toEqual(['r#2:tick']);
    expect(groups.size).toBe(2);
  });

  it('should keep a member that missed a message of the window (excluded) apart from the others, in order', () => {
    const [a, b] = [new Source(), new Source()];
    const outA = collect(groups.throttle(a, 'r', 100));
    const outB = collect(groups.throttle(b, 'r', 100));
    const opener = message('r', 1);
    const [x2, y3, x4] = [message('r', 2, 'x'), message('r', 3, 'y'), message('r', 4, 'x')];
    for (const m of [opener, x2]) {
      a.push(m);
      b.push(m);
    }
    a.push(y3); // b excluded it
    a.push(x4);
    b.push(x4);
    vi.advanceTimersByTime(100);
    expect(outA).toEqual(['r#1:tick', 'r#3:y', 'r#4:x']);
    expect(outB).toEqual(['r#1:tick', 'r#4:x']);
    // The next window starts in step again for both.
    const x5 = message('r', 5, 'x');
    a.push(x5);
    b.push(x5);
    vi.advanceTimersByTime(100);
    expect(outA.at(-1)).toBe('r#5:x');
    expect(outB.at(-1)).toBe('r#5:x');
  });

  it("should hold its own past the shared log's bound, losing nothing", () => {
    const [a, b] = [new Source(), new Source()];
    const outA = collect(groups.throttle(a, 'r', 100));
    const outB = collect(groups.throttle(b, 'r', 100));
    for (let seq = 1; seq <= 2_000; seq++) {
      const m = message('r', seq, seq === 1_500 ? 'rare' : 'tick');
      a.push(m);
      b.push(m);
    }
    vi.advanceTimersByTime(100);
    expect(outA).toEqual(['r#1:tick', 'r#1500:rare', 'r#2000:tick']);
    expect(outB).toEqual(outA);
  });

  it("should send what it held of a room before that room's HistoryGap, and end with an error at once", () => {
    const source = new Source();
    const out = collect(
      groups.throttle(source, 'in', 100, [
        { room: 'a', epoch: 'E1', seq: 0 },
        { room: 'b', epoch: null, seq: 0 },
      ]),
    );
    source.push(message('a', 1));
    source.push(message('a', 2));
    source.push(message('b', 1));
    source.push({ room: 'a', after: 'x', missed: 3 });
    expect(out).toEqual(['a#1:tick', 'a#2:tick', 'gap:a']);
    source.push(new RoomcastError(ErrorCode.UNAVAILABLE, 'down'));
    expect(out).toEqual(['a#1:tick', 'a#2:tick', 'gap:a', 'UNAVAILABLE']);
    expect(source.stopped).toBe(true);
  });

  it('should tell the position of what was delivered, not of what is held', () => {
    const source = new Source();
    const stream = groups.throttle(source, 'in', 100, [
      { room: 'a', epoch: 'E1', seq: 4 },
      { room: 'b', epoch: null, seq: 0 },
    ]);
    const out = collect(stream);
    source.push(message('a', 5));
    source.push(message('b', 1));
    expect(out).toEqual(['a#5:tick']);
    expect(decodePosition(stream.position()!)).toEqual([
      { room: 'a', epoch: 'E1', seq: 5 },
      { room: 'b', epoch: null, seq: 0 },
    ]);
    vi.advanceTimersByTime(100);
    expect(decodePosition(stream.position()!)?.[1]).toEqual({ room: 'b', epoch: 'E1', seq: 1 });
  });

  it('should close its source when it is closed, and leave its group', () => {
    const source = new Source();
    const stream = groups.throttle(source, 'r', 100);
    expect(groups.size).toBe(1);
    stream.close();
    expect(source.stopped).toBe(true);
    expect(groups.size).toBe(0);
  });
});
