/**
 * The one suite every Broker backend must pass: memory and Redis keep the same promises.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HistoryOverBytes, type Broker } from '../../src/broker/broker.js';
import type { SubscriptionEvent } from '../../src/broker/subscription.js';
import { encodeMessage, isHistoryGap, type HistoryGap, type Message, type RoomEvent } from '../../src/rooms/message.js';
import { encodeCursor, type Cursor } from '../../src/rooms/cursor.js';
import { waitFor, within } from '../helpers/wait.js';

interface BrokerFixture {
  readonly broker: Broker;
  /** Makes the backend lose every room's history, as a Redis restarted empty would. */
  loseHistory(): Promise<void>;
  /** The message JSON the backend holds for a room, oldest first; only for backends that store JSON. */
  storedJson?(room: string): Promise<string[]>;
  close(): Promise<void>;
}

export type BrokerFactory = (options: {
  historySize: number;
  idempotencyTtlSeconds?: number;
  maxBufferedBytes?: number;
}) => Promise<BrokerFixture>;

const cursorOf = (m: Message): Cursor => ({ room: m.room, epoch: m.epoch, seq: m.seq });

async function take(sub: AsyncIterator<SubscriptionEvent>, count: number, timeoutMs = 5_000): Promise<RoomEvent[]> {
  const out: RoomEvent[] = [];
  for (let i = 0; i < count; i++) {
    const result = await within(sub.next(), timeoutMs, `event ${i + 1} of ${count}`);
    if (result.done) throw new Error(`subscription ended after ${i} events`);
    if (result.value instanceof Error) throw result.value;
    out.push(result.value);
  }
  return out;
}

/** Senders are arbitrary text from a token: none of these may change or break the stored JSON. */
const hostileSenders = [
  'quote " backslash \\ slash / \\" \\\\',
  'controls \u0000\u0001\b\f\n\r\t\u001f\u007f end',
  'non-ASCII é ß Ω 中文 \u00a0\u2028\u2029\ufeff',
  '</script><script>alert(1)</script><!--',
  'emoji 😀👍🏽👨‍👩‍👧 and a lone surrogate \ud800',
  '","data":1,"x":"',
  '"},"data":{"evil":true},"y":"',
  '\\',
  '',
  'é"\\\n<'.repeat(205).slice(0, 1024),
];

const seqs = (events: RoomEvent[]) => events.map((e) => (isHistoryGap(e) ? `gap:${e.missed}` : e.seq));

export function describeBrokerContract(name: string, factory: BrokerFactory): void {
  describe(`Broker contract: ${name}`, () => {
    let fixture: BrokerFixture;
    let broker: Broker;
    let room: string;
    let counter = 0;
    const open: AsyncIterator<SubscriptionEvent>[] = [];

    beforeEach(async () => {
      fixture = await factory({ historySize: 5 });
      broker = fixture.broker;
      room = `room-${Date.now()}-${counter++}`;
    });
    afterEach(async () => {
      for (const sub of open.splice(0)) await sub.return?.();
      await fixture.close();
    });

    const subscribe = async (after?: Cursor) => {
      const sub = await broker.subscribe(room, after);
      open.push(sub);
      return sub;
    };
    const publish = (n: number) => broker.publish(room, 'test', JSON.stringify({ n }));

    it('should number the messages of each room 1, 2, 3 and store them as published', async () => {
      const a1 = await publish(1);
      const b1 = await broker.publish(`${room}-b`, 'other', '{"x":[1,"/"]}');
      const a2 = await publish(2);
      expect([a1.seq, a2.seq, b1.seq]).toEqual([1, 2, 1]);
      expect(a1).toMatchObject({ room, event: 'test', data: { n: 1 } });
      expect(b1.data).toEqual({ x: [1, '/'] });
      expect(a1.epoch).toBe(a2.epoch);
      expect(Math.abs(a1.publishedAt - Date.now())).toBeLessThan(60_000);
    });

    it('should deliver every message published after subscribe resolved, in order, once, to every subscriber', async () => {
      await publish(0);
      const first = await subscribe();
      const second = await subscribe();
      for (let n = 1; n <= 4; n++) await publish(n);
      expect(seqs(await take(first, 4))).toEqual([2, 3, 4, 5]);
      expect(seqs(await take(second, 4))).toEqual([2, 3, 4, 5]);
    });

    it('should deliver messages published while the subscription was being set up', async () => {
      const pending = broker.subscribe(room, undefined);
      const published = publish(1);
      const sub = await pending;
      open.push(sub);
      await published;
      await publish(2);
      // The first publish raced the subscribe; if it was stored after acceptance it must arrive.
      const events = await take(sub, 1);
      expect([1, 2]).toContain((events[0] as Message).seq);
    });

    it('should resume after a cursor with exactly the missed messages, then live', async () => {
      const m1 = await publish(1);
      await publish(2);
      await publish(3);
      const sub = await subscribe(cursorOf(m1));
      await publish(4);
      expect(seqs(await take(sub, 3))).toEqual([2, 3, 4]);
    });

    it('should announce a HistoryGap with the exact count when messages after the cursor were trimmed', async () => {
      const first = await publish(1);
      for (let n = 2; n <= 9; n++) await publish(n);
      const sub = await subscribe(cursorOf(first));
      const [gap, ...held] = await take(sub, 6);
      expect(isHistoryGap(gap!)).toBe(true);
      expect(gap as HistoryGap).toEqual({ room, after: encodeCursor(cursorOf(first)), missed: 3 });
      expect(seqs(held)).toEqual([5, 6, 7, 8, 9]);
    });

    it('should announce a HistoryGap with missed null when the history was lost', async () => {
      const old = await publish(1);
      await fixture.loseHistory();
      const fresh = await publish(2);
      expect(fresh.seq).toBe(1);
      expect(fresh.epoch).not.toBe(old.epoch);
      const sub = await subscribe(cursorOf(old));
      const [gap, message] = await take(sub, 2);
      expect(gap).toEqual({ room, after: encodeCursor(cursorOf(old)), missed: null });
      expect(message).toMatchObject({ seq: 1, epoch: fresh.epoch, data: { n: 2 } });
    });

    it('should resume with no gap and no duplicate while messages are published concurrently', async () => {
      const big = await factory({ historySize: 1000 });
      try {
        const total = 150;
        const start = await big.broker.publish(room, 'start', '{}');
        let stop = false;
        const publishing = (async () => {
          for (let n = 1; n <= total && !stop; n++) await big.broker.publish(room, 'test', JSON.stringify({ n }));
        })();
        // A chain of resumes, each from the last message its predecessor received, while publishing goes on.
        const seen: RoomEvent[] = [];
        let cursor = cursorOf(start);
        for (let round = 0; round < 10; round++) {
          const sub = await big.broker.subscribe(room, cursor);
          const events = await take(sub, 5);
          await sub.return();
          seen.push(...events);
          cursor = cursorOf(events.at(-1) as Message);
        }
        stop = true;
        await publishing;
        expect(seen.some(isHistoryGap)).toBe(false);
        expect(seqs(seen)).toEqual(Array.from({ length: 50 }, (_, i) => start.seq + 1 + i));
      } finally {
        await big.close();
      }
    });

    it('should decode no more of a history read than its maxBytes: HistoryOverBytes instead', async () => {
      const big = (n: number) => broker.publish(room, 'big', JSON.stringify({ n, blob: 'x'.repeat(1_000) }));
      const published = [];
      for (let n = 1; n <= 5; n++) published.push(await big(n));
      const size = published[0]!.size;
      expect((await broker.history(room, undefined, 5, 5 * size)).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
      for (const after of [undefined, cursorOf(published[0]!)]) {
        const refused = await broker.history(room, after, 5, 2.5 * size).catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(HistoryOverBytes);
        expect((refused as HistoryOverBytes).bytes).toBe(3 * size);
      }
    });

    it('should return the latest messages, or those after a cursor, oldest first', async () => {
      const published: Message[] = [];
      for (let n = 1; n <= 7; n++) published.push(await publish(n));
      expect((await broker.history(room, undefined, 3)).map((m) => m.seq)).toEqual([5, 6, 7]);
      expect((await broker.history(room, undefined, 50)).map((m) => m.seq)).toEqual([3, 4, 5, 6, 7]);
      expect((await broker.history(room, cursorOf(published[3]!), 2)).map((m) => m.seq)).toEqual([5, 6]);
      expect((await broker.history(room, cursorOf(published[0]!), 50)).map((m) => m.seq)).toEqual([3, 4, 5, 6, 7]);
      expect(await broker.history(`${room}-empty`, undefined, 10)).toEqual([]);
    });

    it('should store and deliver any sender exactly, keeping the message valid JSON and its data unchanged', async () => {
      const roomy = await factory({ historySize: 100 });
      try {
        const sub = await roomy.broker.subscribe(room, undefined);
        const dataJson = '{"n":1,"path":"a/b","s":"\\u00e9\\"q","big":12345678901234567}';
        const published: Message[] = [];
        for (const sender of hostileSenders) published.push(await roomy.broker.publish(room, 'test', dataJson, sender));
        published.push(await roomy.broker.publish(room, 'test', dataJson));

        const expected = [...hostileSenders, null];
        expect(published.map((m) => m.sender)).toEqual(expected);
        expect(published.find((m) => m.sender?.length === 1024)).toBeDefined();
        for (const m of published) expect(m.data).toEqual(JSON.parse(dataJson));

        const live = (await take(sub, published.length)) as Message[];
        expect(live).toEqual(published);
        const history = await roomy.broker.history(room, undefined, 100);
        expect(history).toEqual(published);
        expect(history.map((m) => m.sender)).toEqual(expected);

        // The JSON form (what Redis holds, what the memory backend's size counts) parses back exactly.
        for (const m of published) {
          const json = encodeMessage(m, dataJson);
          expect(json.length).toBe(m.size);
          // No exclusion: the form has no exclude field, which decodes as null.
          expect({ exclude: null, ...JSON.parse(json), size: json.length }).toEqual(m);
          expect(json.endsWith(`,"data":${dataJson}}`)).toBe(true);
        }
        const stored = await roomy.storedJson?.(room);
        if (stored) {
          // Byte for byte what encodeMessage makes, so both backends agree on every message's form.
          expect(stored).toEqual(published.map((m) => encodeMessage(m, dataJson)));
          for (const [i, json] of stored.entries())
            expect(JSON.parse(json)).toMatchObject({ sender: expected[i], data: JSON.parse(dataJson) });
        }
        await sub.return();
      } finally {
        await roomy.close();
      }
    });

    it('should give a message published without a sender a null sender', async () => {
      const sub = await subscribe();
      const m = await publish(1);
      expect(m.sender).toBeNull();
      const [live] = (await take(sub, 1)) as Message[];
      expect(live).toEqual(m);
      expect(live!.sender).toBeNull();
      expect((await broker.history(room, undefined, 1))[0]!.sender).toBeNull();
    });

    describe('exclusion (excludeSelf)', () => {
      it('should skip a message for the subscriptions of its excluded party only, live and on replay, moving past it', async () => {
        const roomy = await factory({ historySize: 100 });
        try {
          // Party keys hold a sub: arbitrary text, as hostile as a sender.
          const parties = hostileSenders.map((sub, i) => `client-${i} ${sub}`);
          const self = await roomy.broker.subscribe(room, undefined, undefined, parties[0]);
          const other = await roomy.broker.subscribe(room, undefined, undefined, parties[1]);
          const none = await roomy.broker.subscribe(room, undefined);
          const dataJson = '{"s":"a/b"}';
          const m1 = await roomy.broker.publish(room, 'test', dataJson);
          const m2 = await roomy.broker.publish(room, 'test', dataJson, 'alice', undefined, parties[0]);
          const m3 = await roomy.broker.publish(room, 'test', dataJson);
          expect([m1.exclude, m2.exclude, m3.exclude]).toEqual([null, parties[0], null]);

          expect(seqs(await take(self, 2))).toEqual([1, 3]);
          expect(await take(other, 3)).toEqual([m1, m2, m3]);
          expect(seqs(await take(none, 3))).toEqual([1, 2, 3]);

          // Replays skip it too, and a cursor past it neither repeats it nor announces a gap.
          const replay = await roomy.broker.subscribe(room, cursorOf(m1), undefined, parties[0]);
          const m4 = await roomy.broker.publish(room, 'test', dataJson, undefined, undefined, parties[0]);
          const m5 = await roomy.broker.publish(room, 'test', dataJson);
          expect(seqs(await take(replay, 2))).toEqual([3, 5]);
          expect(seqs(await take(self, 1))).toEqual([5]);
          const fromOther = await roomy.broker.subscribe(room, cursorOf(m1), undefined, parties[1]);
          expect(await take(fromOther, 4)).toEqual([m2, m3, m4, m5]);

          // Every party key round-trips exactly, in the form encodeMessage makes.
          const all: Message[] = [];
          for (const party of parties) all.push(await roomy.broker.publish(room, 'test', dataJson, undefined, undefined, party));
          expect(all.map((m) => m.exclude)).toEqual(parties);
          const history = await roomy.broker.history(room, cursorOf(m5), 100);
          expect(history).toEqual(all);
          expect((await roomy.broker.history(room, undefined, 100)).slice(0, 2)).toEqual([m1, m2]);
          for (const m of [m1, m2, ...all]) {
            const json = encodeMessage(m, dataJson);
            expect(json.length).toBe(m.size);
            expect({ exclude: null, ...JSON.parse(json), size: json.length }).toEqual(m);
            expect(json.endsWith(`,"data":${dataJson}}`)).toBe(true);
          }
          const stored = await roomy.storedJson?.(room);
          if (stored) expect(stored).toEqual([m1, m2, m3, m4, m5, ...all].map((m) => encodeMessage(m, dataJson)));
          for (const sub of [self, other, none, replay, fromOther]) await sub.return();
        } finally {
          await roomy.close();
        }
      });

      it('should announce only what is no longer held as a gap, counting skipped messages among the missed', async () => {
        const party = 'me';
        const first = await publish(1);
        await broker.publish(room, 'test', '{}', undefined, undefined, party);
        for (let n = 3; n <= 8; n++) await publish(n);
        // History holds 4..8; 2 and 3 are gone: missed 2, whatever the exclusion.
        const sub = await broker.subscribe(room, cursorOf(first), undefined, party);
        open.push(sub);
        expect(seqs(await take(sub, 6))).toEqual(['gap:2', 4, 5, 6, 7, 8]);
      });
    });

    describe('idempotency keys', () => {
      const publishKeyed = (data: unknown, key: string, sender?: string, target = room, on = broker) =>
        on.publish(target, 'test', JSON.stringify(data), sender, key);

      it('should answer a repeat with the original message, byte for byte, storing and delivering nothing more', async () => {
        const sub = await subscribe();
        const first = await publishKeyed({ n: 1 }, 'k1');
        expect(first).toMatchObject({ seq: 1, data: { n: 1 }, sender: null });
        const again = await publishKeyed({ n: 1 }, 'k1');
        // The key names the message: other data or another event still get the original.
        const other = await broker.publish(room, 'changed', '{"n":"other"}', undefined, 'k1');
        for (const repeat of [again, other]) expect(repeat).toEqual(first);
        const next = await publish(2);
        expect(next.seq).toBe(2);
        // Live: the original, then the next message; nothing between them.
        expect(await take(sub, 2)).toEqual([first, next]);
        expect(await broker.history(room, undefined, 50)).toEqual([first, next]);
        const stored = await fixture.storedJson?.(room);
        if (stored) expect(stored[0]).toBe(encodeMessage(first, '{"n":1}'));
      });

      it('should publish once for attempts made at the same time', async () => {
        const sub = await subscribe();
        const attempts = await Promise.all(Array.from({ length: 8 }, (_, i) => publishKeyed({ attempt: i }, 'same')));
        for (const attempt of attempts) expect(attempt).toEqual(attempts[0]);
        const next = await publish(2);
        expect(seqs(await take(sub, 2))).toEqual([1, 2]);
        expect(next.seq).toBe(2);
      });

      it('should keep different keys, rooms and senders apart', async () => {
        const a = await publishKeyed('a', 'a');
        const b = await publishKeyed('b', 'b');
        const elsewhere = await publishKeyed('a elsewhere', 'a', undefined, `${room}-2`);
        expect([a.seq, b.seq, elsewhere.seq]).toEqual([1, 2, 1]);
        expect(elsewhere).toMatchObject({ room: `${room}-2`, data: 'a elsewhere' });
        // One key space per sender, anonymous included; none reads or blocks another's message.
        const alice = await publishKeyed('alice', 'a', 'alice');
        const bob = await publishKeyed('bob', 'a', 'bob');
        expect([alice.seq, bob.seq]).toEqual([3, 4]);
        expect(await publishKeyed('x', 'a')).toEqual(a);
        expect(await publishKeyed('x', 'a', 'alice')).toEqual(alice);
        expect(await publishKeyed('x', 'a', 'bob')).toEqual(bob);
        expect(bob).toMatchObject({ sender: 'bob', data: 'bob' });
        expect((await broker.history(room, undefined, 50)).map((m) => m.data)).toEqual(['a', 'b', 'alice', 'bob']);
      });

      it('should not confuse senders and keys of any text', async () => {
        const roomy = await factory({ historySize: 100 });
        try {
          // Pairs that a naive join of sender and key would make equal, and hostile text in both.
          const pairs: [string | undefined, string][] = [
            ['a', 'b:c'],
            ['a:b', 'c'],
            [undefined, 'null'],
            ['null', 'null'],
            ['","', '"'],
            ['"', '","'],
            ...hostileSenders.map((sender, i): [string, string] => [sender, [...hostileSenders.at(-1 - i)!].slice(0, 128).join('')]),
            ['s', '😀'.repeat(128)],
          ];
          const firsts: Message[] = [];
          for (const [i, [sender, key]] of pairs.entries()) firsts.push(await publishKeyed(i, key, sender, room, roomy.broker));
          expect(firsts.map((m) => m.seq)).toEqual(pairs.map((_, i) => i + 1));
          for (const [i, [sender, key]] of pairs.entries()) {
            expect(await publishKeyed('again', key, sender, room, roomy.broker)).toEqual(firsts[i]);
          }
          expect((await roomy.broker.history(room, undefined, 100)).length).toBe(pairs.length);
        } finally {
          await roomy.close();
        }
      });

      it('should return the original even once it left the history', async () => {
        const first = await publishKeyed({ n: 1 }, 'old');
        for (let n = 2; n <= 8; n++) await publish(n);
        expect((await broker.history(room, undefined, 50)).map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
        expect(await publishKeyed({ n: 'retry' }, 'old')).toEqual(first);
        expect((await broker.history(room, undefined, 50)).map((m) => m.seq)).toEqual([4, 5, 6, 7, 8]);
      });

      it('should publish anew once the window, counted from the first publish, has passed', async () => {
        const short = await factory({ historySize: 100, idempotencyTtlSeconds: 1 });
        try {
          const first = await publishKeyed('first', 'k', 'alice', room, short.broker);
          const started = Date.now();
          // Repeats while waiting must not extend the window: each attempt below is one.
          const fresh = await waitFor(
            'the idempotency window to pass',
            async () => {
              const attempt = await publishKeyed('second', 'k', 'alice', room, short.broker);
              return attempt.seq !== first.seq && attempt;
            },
            5_000,
          );
          expect(Date.now() - started).toBeGreaterThanOrEqual(800);
          expect(fresh).toMatchObject({ seq: 2, data: 'second', sender: 'alice' });
          expect(await publishKeyed('third', 'k', 'alice', room, short.broker)).toEqual(fresh);
        } finally {
          await short.close();
        }
      });
    });

    it('should stop delivering to a subscription once it is returned', async () => {
      const sub = await subscribe();
      await publish(1);
      await take(sub, 1);
      await sub.return?.();
      await publish(2);
      expect(await sub.next()).toEqual({ value: undefined, done: true });
    });

    it('should report ready, then not ready once closed', async () => {
      expect(await broker.ready()).toBe(true);
      await broker.close();
      expect(await broker.ready()).toBe(false);
      await expect(publish(1)).rejects.toMatchObject({ extensions: { code: 'UNAVAILABLE' } });
    });
  });
}
