/**
 * What the publish script costs Redis, against a bare PUBLISH and against leaner scripts that could
 * replace it (issue 14's Redis target: ≤ 1.3 × Socket.IO's Redis CPU per publish, which is one PUBLISH).
 * One redis-server of its own, two pattern subscribers (the two replicas of `npm run bench`), 1,000
 * rooms, calls at a steady rate; the figure is redis-server's CPU time (utime + stime from /proc) per
 * call, variants alternating round by round, medians printed with the ratio to the bare PUBLISH.
 *
 *   npm run bench:script-cost                      # 200 calls/s (the 1000rooms scenario's rate), 3 rounds of 8 s
 *   npm run bench:script-cost -- --rate=500 --rounds=5 --seconds=10
 *
 * At these rates every call finds Redis's caches cold, so a call costs several times what it costs
 * back to back; that is the regime of a real deployment and of the bench, and the one measured here.
 * The variants other than `script` are not Roomcast's: they show what the script's parts cost.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { PUBLISH_SCRIPT_URL } from '../src/broker/redis-publish.js';
import { cpuMs } from './measure/proc.js';
import { spreadOf } from './measure/stats.js';
import { cleanupAll, installCleanup } from './processes.js';
import { startRedis } from './targets/redis.js';

const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const RATE = Number(option('rate') ?? 200);
const ROUNDS = Number(option('rounds') ?? 3);
const SECONDS = Number(option('seconds') ?? 8);
const ROOMS = 1_000;

const SCRIPT = readFileSync(PUBLISH_SCRIPT_URL, 'utf8');
const CHECKS_END = SCRIPT.indexOf('if KEYS[4] then\n  local original');
const EXPIRES = "redis.call('PEXPIRE', KEYS[1], ARGV[7])\nredis.call('PEXPIRE', KEYS[2], ARGV[7])\n";
if (CHECKS_END < 0 || !SCRIPT.includes(EXPIRES)) throw new Error('publish.lua changed: update the variants of bench/script-cost.ts');

/** Each variant takes the publish script's keys and arguments. */
const VARIANTS: Record<string, string | undefined> = {
  publish: undefined,
  'empty script': "return 'x'",
  'argument checks only': `${SCRIPT.slice(0, CHECKS_END)}\nreturn 'x'`,
  script: SCRIPT,
  'script without the 2 PEXPIREs': SCRIPT.replace(EXPIRES, ''),
  // Seq, epoch, append, publish: the least a stored, sequenced publish needs, without checks or expiry.
  'seq + epoch + XADD + PUBLISH': `
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then epoch = ARGV[1]; redis.call('HSET', KEYS[1], 'epoch', epoch) end
local message = '{"room":"' .. ARGV[3] .. '","seq":' .. seq .. ',"epoch":"' .. epoch .. '","event":"' .. ARGV[4]
  .. '","publishedAt":0,"sender":' .. ARGV[8] .. ARGV[10] .. ',"data":' .. ARGV[5] .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], seq .. '-0', 'm', message)
redis.call(ARGV[2], KEYS[3], message)
return message`,
};

const DATA = JSON.stringify({ text: 'a chat message of an ordinary length, with a few words', n: 42, user: 'someone' });

async function main(): Promise<void> {
  installCleanup();
  const redis = await startRedis();
  const client = new Redis(redis.url);
  const subscribers = [new Redis(redis.url), new Redis(redis.url)];
  for (const subscriber of subscribers) await subscriber.psubscribe('bench:*');
  const shas = new Map<string, string>();
  for (const [name, lua] of Object.entries(VARIANTS)) if (lua) shas.set(name, String(await client.script('LOAD', lua)));
  let next = 0;
  const call = (name: string): Promise<unknown> => {
    const room = `room-${next++ % ROOMS}`;
    const channel = `bench:{${room}}`;
    const sha = shas.get(name);
    if (!sha) return client.publish(channel, DATA);
    // The publish script's contract (docs/redis-protocol.md): meta, log, channel; epoch, command, room, event, data, history size, TTL, sender, idempotency TTL, exclude.
    return client.evalsha(
      sha,
      3,
      `${channel}:meta`,
      `${channel}:log`,
      channel,
      'AbCdEfGh',
      'PUBLISH',
      room,
      'chat',
      DATA,
      100,
      3_600_000,
      'null',
      86_400_000,
      '',
    );
  };

  const results = new Map<string, number[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of Object.keys(VARIANTS)) {
      const perCall = await measure(() => call(name), redis.pid);
      results.set(name, [...(results.get(name) ?? []), perCall]);
      console.log(`round ${round} ${name.padEnd(30)} ${perCall.toFixed(1)} µs of Redis CPU per call`);
    }
  }
  const baseline = spreadOf(results.get('publish') ?? [])!.median;
  console.log(
    `\nredis-server CPU per call, ${RATE} calls/s over ${ROOMS} rooms, 2 subscribers, ${ROUNDS} rounds of ${SECONDS} s, medians:`,
  );
  for (const [name, values] of results) {
    const { median, min, max } = spreadOf(values)!;
    console.log(
      `  ${name.padEnd(30)} ${median.toFixed(0).padStart(5)} µs (${min.toFixed(0)}–${max.toFixed(0)})  ×${(median / baseline).toFixed(2)} PUBLISH`,
    );
  }
  client.disconnect();
  for (const subscriber of subscribers) subscriber.disconnect();
  await cleanupAll();
}

/** Calls at RATE for SECONDS; Redis's CPU time per call (the replies awaited before the last reading). */
async function measure(send: () => Promise<unknown>, pid: number): Promise<number> {
  const pending: Promise<unknown>[] = [];
  const before = cpuMs(pid) ?? 0;
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < SECONDS * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * RATE);
    for (; sent < due; sent++) pending.push(send());
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(pending);
  return (((cpuMs(pid) ?? 0) - before) * 1000) / sent;
}

main().catch(async (error: unknown) => {
  console.error(error);
  await cleanupAll();
  process.exit(1);
});
