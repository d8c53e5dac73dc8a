import { describe, expect, it } from 'vitest';
import { createBroker } from '../../src/broker/broker.js';
import { createMemoryBackend } from '../../src/broker/memory.js';
import { createLogger } from '../../src/log.js';
import { decodeMessage, MalformedMessageError } from '../../src/rooms/message.js';
import { describeBrokerContract } from '../contracts/broker.contract.js';

describeBrokerContract('memory', async ({ historySize, idempotencyTtlSeconds }) => {
  let skipped = 0;
  const ttlSeconds = 3600;
  const broker = createBroker(
    createMemoryBackend({ historySize, historyTtlSeconds: ttlSeconds, idempotencyTtlSeconds, now: () => Date.now() + skipped }),
    createLogger('silent'),
  );
  return {
    broker,
    // The memory broker loses a room's history when it expires: move its clock past the TTL.
    loseHistory: async () => {
      skipped += ttlSeconds * 1000 + 1;
    },
    close: () => broker.close(),
  };
});

describe('memory broker, when delivery resumes after an outage', () => {
  it('should catch every subscriber up with one history read per room and position', async () => {
    const backend = createMemoryBackend({ historySize: 100, historyTtlSeconds: 3600 });
    const broker = createBroker(backend, createLogger('silent'));
    const read = backend.read.bind(backend);
    let reads = 0;
    backend.read = (room, query) => {
      reads++;
      return read(room, query);
    };
    const rooms = ['a', 'b'];
    const subscriptions = await Promise.all(Array.from({ length: 40 }, (_, i) => broker.subscribe(rooms[i % 2]!, undefined)));
    for (const room of rooms) await broker.publish(room, 'e', '1');
    for (const subscription of subscriptions) expect((await subscription.next()).value).toMatchObject({ seq: 1 });

    // Message 2 of room a is stored while pub/sub is down: no replica hears of it.
    const deliver = backend.onMessage;
    backend.onMessage = () => {};
    await broker.publish('a', 'e', '2');
    backend.onMessage = deliver;
    reads = 0;
    backend.onResume(new Set(rooms));

    for (const [i, subscription] of subscriptions.entries()) {
      if (rooms[i % 2] === 'a') expect((await subscription.next()).value).toMatchObject({ room: 'a', seq: 2, data: 2 });
    }
    expect(reads).toBe(rooms.length);
    // ...and live delivery goes on for everyone.
    for (const room of rooms) await broker.publish(room, 'e', '3');
    for (const [i, subscription] of subscriptions.entries()) {
      expect((await subscription.next()).value).toMatchObject({ room: rooms[i % 2], seq: i % 2 === 0 ? 3 : 2 });
    }
    await broker.close();
  });
});

describe('decodeMessage, on the sender', () => {
  const frame = (sender: string) => `{"room":"r","seq":1,"epoch":"e","event":"x","publishedAt":1700000000000${sender},"data":{"a":1}}`;

  it('should take a string or null, and read an absent sender (stored before senders existed) as null', () => {
    expect(decodeMessage(frame(',"sender":"a\\\\\\"b\\u0000"')).sender).toBe('a\\"b\u0000');
    expect(decodeMessage(frame(',"sender":null')).sender).toBeNull();
    const old = decodeMessage(frame(''));
    expect(old.sender).toBeNull();
    expect(old).toMatchObject({ room: 'r', seq: 1, data: { a: 1 } });
  });

  it('should reject any other sender as malformed', () => {
    for (const sender of ['1', 'true', 'false', '{}', '[]', '["a"]', '{"sub":"a"}']) {
      expect(() => decodeMessage(frame(`,"sender":${sender}`)), sender).toThrow(MalformedMessageError);
    }
  });
});
