#!/usr/bin/env node
/**
 * Publishes a made-up price to a room at a steady rate, from a backend process, through roomcast/publisher
 * (straight into the replicas' Redis: no HTTP, no GraphQL).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node scripts/ticker.mjs [--room ticker] [--rate 50] [--count 0]
 *
 * --count 0 (the default) runs until Ctrl-C. On stop it prints the last tick published as one JSON
 * line: {"seq":…,"price":…,"cursor":"…"}.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPublisher } from 'roomcast/publisher';

const { values } = parseArgs({
  options: {
    room: { type: 'string', default: 'ticker' },
    rate: { type: 'string', default: '50' },
    count: { type: 'string', default: '0' },
  },
});
const rate = Number(values.rate);
const count = Number(values.count);
if (!(rate > 0 && rate <= 1000) || !(Number.isInteger(count) && count >= 0)) {
  console.error('ticker: --rate must be 1-1000 messages a second and --count a whole number (0: until stopped)');
  process.exit(2);
}
if (!process.env.REDIS_URL) {
  console.error('ticker: set REDIS_URL to the Redis your Roomcast replicas use (redis://host:port)');
  process.exit(2);
}

const publisher = createPublisher({ redisUrl: process.env.REDIS_URL, keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'roomcast:' });
let stopping = false;
process.once('SIGINT', () => (stopping = true));
process.once('SIGTERM', () => (stopping = true));

let price = 100;
let last;
const start = performance.now();
try {
  // Paced by the clock, not by a timer per tick: publish n is due at start + n / rate, so a slow
  // publish is caught up on rather than slowing the rate down.
  for (let n = 0; !stopping && (count === 0 || n < count); n++) {
    const due = start + (n * 1000) / rate;
    if (due > performance.now()) await sleep(due - performance.now());
    price = Math.max(1, price + (Math.random() - 0.5));
    const message = await publisher.publish(values.room, 'tick', { price: Math.round(price * 100) / 100 });
    last = { seq: message.seq, price: message.data.price, cursor: message.cursor };
  }
} finally {
  await publisher.close();
}
console.log(JSON.stringify(last ?? null));
