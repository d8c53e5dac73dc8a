/**
 * The fan-out's watch on a room's head (src/broker/fanout.ts): it reports a head that went back, live
 * or read, and nothing else, whatever order a read's reply and a live message arrive in.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { Fanout, type OnBehind } from '../../src/broker/fanout.js';
import type { Message } from '../../src/rooms/message.js';

const message = (epoch: string, seq: number): Message => ({
  room: 'r',
  seq,
  epoch,
  event: 'e',
  publishedAt: 0,
  sender: null,
  exclude: null,
  data: seq,
  size: 1,
});
const snapshot = (epoch: string | null, seq: number) => ({ epoch, seq, messages: [] });

async function listened() {
  const behind: Parameters<OnBehind>[] = [];
  const delivered: number[] = [];
  const fanout = new Fanout({ listen: async () => {}, unlisten: async () => {} }, createLogger('silent'), (...args) => behind.push(args));
  await fanout.join('r', { deliver: (m) => delivered.push(m.seq) });
  return { fanout, behind, delivered };
}

describe('Fanout: a head that goes back', () => {
  it('should report a live message at or below the last live one of its epoch, and still deliver it', async () => {
    const { fanout, behind, delivered } = await listened();
    for (const seq of [1, 2, 3, 4]) fanout.deliver(message('E', seq));
    fanout.deliver(message('E', 3));
    expect(behind).toEqual([['r', 'E', 4, 3]]);
    fanout.deliver(message('E', 4)); // the next after the rollback: no second report
    fanout.deliver(message('F', 1)); // a new epoch starts anywhere
    expect(behind).toHaveLength(1);
    expect(delivered).toEqual([1, 2, 3, 4, 3, 4, 1]);
  });

  it('should report a read behind what was seen before it was sent, and not one a live message overtook', async () => {
    const { fanout, behind } = await listened();
    fanout.deliver(message('E', 5));
    const before = fanout.knownHead('r');
    expect(fanout.observeRead('r', before, snapshot('E', 3))).toBe(true);
    expect(behind).toEqual([['r', 'E', 5, 3]]);

    // Sent at head 6 (seen live), answered 6 after 7 arrived live: the reply was just slower.
    fanout.deliver(message('E', 6));
    const sent = fanout.knownHead('r');
    fanout.deliver(message('E', 7));
    expect(fanout.observeRead('r', sent, snapshot('E', 6))).toBe(false);
    // A read's head is known from then on; a live message at it (overtaken by the reply) is no rollback.
    expect(fanout.observeRead('r', fanout.knownHead('r'), snapshot('E', 9))).toBe(false);
    fanout.deliver(message('E', 8));
    fanout.deliver(message('E', 9));
    expect(fanout.observeRead('r', fanout.knownHead('r'), snapshot('E', 8))).toBe(true);
    // Another epoch, or none (expired, lost), is not going back: the subscriptions handle it.
    expect(fanout.observeRead('r', fanout.knownHead('r'), snapshot('F', 1))).toBe(false);
    expect(fanout.observeRead('r', fanout.knownHead('r'), snapshot(null, 0))).toBe(false);
    expect(behind).toHaveLength(2);
  });
});

describe('Fanout: the one count of a room', () => {
  /** A backend whose every request waits until the test settles it. */
  function manualBackend() {
    const calls: string[] = [];
    const pending: { settle: (ok: boolean) => void }[] = [];
    const request = (name: string) => (room: string) => {
      calls.push(`${name} ${room}`);
      return new Promise<void>((resolve, reject) => pending.push({ settle: (ok) => (ok ? resolve() : reject(new Error('refused'))) }));
    };
    return { backend: { listen: request('listen'), unlisten: request('unlisten') }, calls, pending };
  }
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  const member = () => ({ deliver: () => {} });

  it('should listen once for many members, and ask for a room again only after the previous request settled', async () => {
    const { backend, calls, pending } = manualBackend();
    const fanout = new Fanout(backend, createLogger('silent'));
    const [a, b, c] = [member(), member(), member()];
    const joined = Promise.all([fanout.join('r', a), fanout.join('r', b)]);
    fanout.leave('r', a);
    fanout.leave('r', b); // the last leaves while the listen is still unanswered
    const again = fanout.join('r', c);
    await settled();
    expect(calls).toEqual(['listen r']);
    pending.shift()!.settle(true);
    await joined;
    await settled();
    expect(calls).toEqual(['listen r', 'unlisten r']);
    pending.shift()!.settle(true);
    await settled();
    expect(calls).toEqual(['listen r', 'unlisten r', 'listen r']);
    expect(fanout.isLive('r')).toBe(false);
    pending.shift()!.settle(true);
    await again;
    expect(fanout.isLive('r')).toBe(true);
  });

  it('should undo a failed listen before the next member listens again', async () => {
    const { backend, calls, pending } = manualBackend();
    const fanout = new Fanout(backend, createLogger('silent'));
    const failed = fanout.join('r', member());
    pending.shift()!.settle(false);
    await expect(failed).rejects.toThrow('refused');
    expect(fanout.roomCount).toBe(0);
    const retried = fanout.join('r', member());
    await settled();
    expect(calls).toEqual(['listen r', 'unlisten r']);
    pending.shift()!.settle(true);
    await settled();
    expect(calls).toEqual(['listen r', 'unlisten r', 'listen r']);
    pending.shift()!.settle(true);
    await retried;
    expect(fanout.roomCount).toBe(1);
  });
});
