/**
 * Fuzzes the WebSocket endpoint: hundreds of connections, each sending random or malformed frames
 * (bad JSON, wrong shapes, unknown types, protocol misuse, huge ids and payloads, deep nesting,
 * binary and fragmented frames, broken WebSocket framing). Each socket must either stay open or be
 * closed with a documented close code, and afterwards the server must still serve everyone.
 *
 * Seeded: a failure prints its seed; rerun it with FUZZ_SEED=<seed> (and FUZZ_ITERATIONS=<n>).
 */
import { randomBytes } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import WebSocket from 'ws';
import { PublishDocument, RoomMessagesDocument } from '../generated/graphql.js';
import { postGraphQL, subscribeWs, wsClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/in-process.js';
import { waitFor, within } from '../helpers/wait.js';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 32);
const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 300);
/** Close codes a fuzzing client may see: RFC 6455's and graphql-ws's (Roomcast's own 1012, 1013 and 4008 must not occur here). */
const DOCUMENTED = new Set([1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1011, 4400, 4401, 4403, 4406, 4408, 4409, 4429, 4500]);
const MiB = 1024 * 1024;

/** What became of one connection: it stayed open (we closed it, 1000), or the server closed it with a code. */
type Outcome = 'open' | number;

// ---------------------------------------------------------------------------------------------
// A small seeded PRNG (mulberry32) and helpers

function prng(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => int(0, 255)));
  const text = (length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789{}[]":,. \\\n\u00e9\u2603\ud83d\ude00') =>
    Array.from({ length }, () => alphabet[int(0, alphabet.length - 1)]).join('');
  return { next, int, pick, bytes, text, chance: (p: number) => next() < p };
}
type Rng = ReturnType<typeof prng>;

// ---------------------------------------------------------------------------------------------
// Cases: what one connection sends

type Step =
  | { text: string | Buffer }
  | { binary: Buffer }
  /** One message in several WebSocket fragments; unfinished when `finish` is false. */
  | { fragments: string[]; finish: boolean }
  /** WebSocket-level (not graphql-ws) ping and pong control frames. */
  | { wsPing: Buffer }
  | { wsPong: Buffer };

interface SocketCase {
  name: string;
  /** Send connection_init (with this payload, if an object) and wait for connection_ack first. */
  init?: boolean | Record<string, unknown>;
  /** Subprotocol; null for none. */
  protocol?: string | null;
  steps: Step[];
  /** Outcomes this case must end with, when it is deterministic. */
  expect?: Outcome[];
}

interface RawCase {
  name: string;
  /** Bytes written to the TCP stream right after a successful upgrade, bypassing any WebSocket framing. */
  raw: Buffer;
  expect?: Outcome[];
}

type Case = SocketCase | RawCase;

const msg = (value: unknown): Step => ({ text: JSON.stringify(value) });
const sub = (id: string, query: string, variables?: unknown, extra: object = {}) =>
  msg({ type: 'subscribe', id, payload: { query, variables, ...extra } });
const liveSubscription = (room: string) => `subscription { messages(room: "${room}") { __typename } }`;

const deepArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const deepObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const deepJson = (depth: number, rng: Rng) => (rng.chance(0.5) ? deepArray(depth) : deepObject(depth));

function validQuery(rng: Rng): string {
  return rng.pick([
    '{ __typename }',
    liveSubscription(`fuzz-${rng.int(0, 3)}`),
    '{ history(room: "fuzz-0", limit: 1) { seq } }',
    'mutation { publish(room: "fuzz-1", event: "e", data: {n: 1}) { seq } }',
  ]);
}

function badQuery(rng: Rng): string {
  const depth = rng.pick([50, 2_000, 40_000]);
  return rng.pick([
    rng.text(rng.int(0, 200)),
    '{ nope }',
    'subscription { messages(room: "a b") { __typename } }',
    'subscription A { messages(room: "x") { __typename } } subscription B { broadcasts { __typename } }',
    `{ ${'a{'.repeat(depth)}b${'}'.repeat(depth)} }`,
    `mutation { publish(room: "x", event: "e", data: ${'['.repeat(depth)}1${']'.repeat(depth)}) { seq } }`,
    `# ${'x'.repeat(rng.int(1_000, 900_000))}\n{ __typename }`,
    `{ history(room: "${'\u0000'.repeat(10)}") { seq } }`,
    `{ a0: __typename ${Array.from({ length: 2_000 }, (_, i) => `a${i}: __typename`).join(' ')} }`,
  ]);
}

/** A random frame, valid or not, for sequences. */
function randomStep(rng: Rng): Step {
  const id = rng.pick(['1', '2', 'x', rng.text(rng.int(0, 20))]);
  return rng.pick<() => Step>([
    () => ({ text: rng.text(rng.int(0, 100)) }),
    () => ({ text: rng.bytes(rng.int(1, 100)) }),
    () => ({ binary: rng.bytes(rng.int(0, 100)) }),
    () => ({ text: '' }),
    () => msg({ type: 'connection_init' }),
    () => msg({ type: 'connection_init', payload: rng.pick([{}, { roomcastCursors: { [id]: rng.text(20) } }, 'x', [1], 7]) }),
    () => msg({ type: 'ping', payload: rng.pick([undefined, {}, { a: rng.text(10) }, 'x', 3, [1], null]) }),
    () => msg({ type: 'pong', payload: rng.pick([undefined, {}, 'x', 3]) }),
    () => sub(id, validQuery(rng)),
    () => sub(id, badQuery(rng)),
    () => msg({ type: 'complete', id }),
    () => msg({ type: rng.pick(['next', 'error', 'connection_ack', 'start', 'stop', 'connection_terminate', 'ka', rng.text(8)]), id }),
    () => msg(rng.pick([null, 1, 'subscribe', [], {}, { type: null }, { type: 1 }, { id: '1' }])),
    () => ({ wsPing: rng.bytes(rng.int(0, 125)) }),
    () => ({ wsPong: rng.bytes(rng.int(0, 125)) }),
  ])();
}

/** A WebSocket frame from the client (masked unless told otherwise), built by hand. */
function frame(
  opcode: number,
  payload: Buffer,
  options: { fin?: boolean; rsv?: number; mask?: boolean; declaredLength?: number } = {},
): Buffer {
  const { fin = true, rsv = 0, mask = true } = options;
  const length = options.declaredLength ?? payload.length;
  const header: number[] = [(fin ? 0x80 : 0) | (rsv << 4) | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) header.push(maskBit | length);
  else if (length < 65_536) header.push(maskBit | 126, length >> 8, length & 0xff);
  else {
    const big = Buffer.alloc(8);
    big.writeBigUInt64BE(BigInt(length));
    header.push(maskBit | 127, ...big);
  }
  if (!mask) return Buffer.concat([Buffer.from(header), payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  return Buffer.concat([Buffer.from(header), key, Buffer.from(payload.map((b, i) => b ^ key[i % 4]!))]);
}

const closePayload = (code: number) => {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  return payload;
};

function randomCase(rng: Rng, i: number): Case {
  const id = `op-${i}`;
  const room = `fuzz-room-${i % 7}`;
  const rawCase = (): Case =>
    rng.pick<RawCase>([
      { name: 'raw random bytes', raw: rng.bytes(rng.int(1, 64)) },
      { name: 'raw unmasked frame', raw: frame(1, Buffer.from('{"type":"ping"}'), { mask: false }), expect: [1002] },
      { name: 'raw RSV bits set', raw: frame(1, Buffer.from('{"type":"ping"}'), { rsv: rng.int(1, 7) }), expect: [1002] },
      { name: 'raw reserved opcode', raw: frame(rng.pick([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]), Buffer.from('x')), expect: [1002] },
      { name: 'raw continuation without a start', raw: frame(0, Buffer.from('{}')), expect: [1002] },
      {
        name: 'raw new message inside a fragmented one',
        raw: Buffer.concat([frame(1, Buffer.from('{"type":'), { fin: false }), frame(1, Buffer.from('"ping"}'))]),
        expect: [1002],
      },
      { name: 'raw control frame over 125 bytes', raw: frame(9, Buffer.alloc(126, 1)), expect: [1002] },
      { name: 'raw fragmented control frame', raw: frame(9, Buffer.from('x'), { fin: false }), expect: [1002] },
      { name: 'raw frame declaring 2 MiB', raw: frame(1, Buffer.alloc(0), { declaredLength: 2 * MiB }), expect: [1009] },
      { name: 'raw frame declaring 2^53 bytes', raw: frame(2, Buffer.alloc(0), { declaredLength: 2 ** 53 }), expect: [1009] },
      {
        name: 'raw close with an invalid code',
        raw: frame(8, closePayload(rng.pick([0, 999, 1004, 1005, 1006, 1015, 2000, 5000]))),
        expect: [1002],
      },
      { name: 'raw close with a 1-byte payload', raw: frame(8, Buffer.from([3])), expect: [1002] },
      {
        name: 'raw close with invalid UTF-8 reason',
        raw: frame(8, Buffer.concat([closePayload(1000), Buffer.from([0xff, 0xfe])])),
        expect: [1007],
      },
      { name: 'raw text frame of invalid UTF-8', raw: frame(1, Buffer.from([0xc3, 0x28])), expect: [1007] },
      { name: 'raw close 1000', raw: frame(8, closePayload(1000)), expect: [1000] },
    ]);
  const generators: (() => Case)[] = [
    () => ({
      name: 'invalid JSON',
      steps: [
        {
          text: rng.pick([
            '{not json',
            '{"type":',
            "{'type':'ping'}",
            '{"type":"ping",}',
            'undefined',
            'NaN',
            '}{',
            rng.text(rng.int(1, 50), '{[:,"'),
          ]),
        },
      ],
      expect: [4400],
    }),
    () => ({ name: 'invalid JSON after ack', init: true, steps: [{ text: `{"type":"subscribe","id":"${id}"` }], expect: [4400] }),
    () => ({
      name: 'valid JSON of a wrong shape',
      steps: [
        msg(
          rng.pick([
            1,
            'x',
            null,
            true,
            [],
            [{ type: 'ping' }],
            {},
            { type: 1 },
            { type: null },
            { type: ['ping'] },
            { type: 'subscribe', id },
            { type: 'subscribe', id, payload: null },
            { type: 'subscribe', id: 1, payload: { query: '{ __typename }' } },
            { type: 'subscribe', id, payload: { query: 1 } },
            { type: 'complete' },
            { type: 'complete', id: 7 },
            { type: 'connection_init', payload: 'x' },
            { type: 'connection_init', payload: [1] },
            { type: 'ping', payload: 'x' },
            { type: 'pong', payload: 3 },
            { type: 'next', id },
            { type: 'error', id, payload: {} },
          ]),
        ),
      ],
      expect: [4400],
    }),
    () => ({
      name: 'subscribe payload of a wrong shape, after ack',
      init: true,
      steps: [
        sub(id, '{ __typename }', rng.pick(['x', [1], 3]), {}),
        ...(rng.chance(0.5) ? [msg({ type: 'subscribe', id, payload: { query: '{ __typename }', extensions: 'x' } })] : []),
      ],
      expect: [4400],
    }),
    () => ({
      name: 'unknown message type',
      steps: [msg({ type: rng.pick(['start', 'stop', 'ka', 'data', rng.text(rng.int(1, 30))]), id })],
      expect: [4400],
    }),
    () => ({ name: 'subscribe before init', steps: [sub(id, validQuery(rng))], expect: [4401] }),
    () => ({
      name: 'subscribe before the ack',
      steps: [msg({ type: 'connection_init' }), sub(id, '{ __typename }')],
      expect: ['open', 4401],
    }),
    () => ({
      name: 'duplicate subscription id',
      init: true,
      steps: [sub(id, liveSubscription(room)), sub(id, liveSubscription(room))],
      expect: [4409],
    }),
    () => ({
      name: 'duplicate ids of short operations',
      init: true,
      steps: [sub(id, '{ __typename }'), sub(id, '{ __typename }'), sub(id, '{ __typename }')],
      expect: ['open', 4409],
    }),
    () => ({
      name: 'huge id (10k characters)',
      init: true,
      steps: [
        sub('i'.repeat(10_000), liveSubscription(room)),
        sub('j'.repeat(10_000), '{ __typename }'),
        msg({ type: 'complete', id: 'i'.repeat(10_000) }),
      ],
      expect: ['open'],
    }),
    () => ({ name: 'huge id before init', steps: [sub('k'.repeat(10_000), '{ __typename }')], expect: [4401] }),
    () => {
      const size = rng.int(100_000, 900_000);
      return rng.pick<Case>([
        {
          name: 'huge publish data',
          init: true,
          steps: [sub(id, 'mutation($d: JSON!) { publish(room: "fuzz-big", event: "e", data: $d) { seq } }', { d: 'x'.repeat(size) })],
          expect: ['open'],
        },
        { name: 'huge variables', init: true, steps: [sub(id, '{ __typename }', { unused: 'y'.repeat(size) })], expect: ['open'] },
        { name: 'huge ping payload', steps: [msg({ type: 'ping', payload: { blob: 'z'.repeat(size) } })], expect: ['open'] },
        {
          name: 'huge connection_init payload',
          init: false,
          steps: [msg({ type: 'connection_init', payload: { blob: 'p'.repeat(size) } })],
          expect: ['open'],
        },
        { name: 'huge query (a comment)', init: true, steps: [sub(id, `# ${'c'.repeat(size)}\n{ __typename }`)], expect: ['open'] },
        { name: 'huge frame of garbage', steps: [{ text: rng.text(size, 'abc{}[]":, ') }], expect: [4400] },
      ]);
    },
    () => ({
      name: 'binary frame',
      steps: [
        rng.chance(0.5) ? { binary: Buffer.from(JSON.stringify({ type: 'connection_init' })) } : { binary: rng.bytes(rng.int(0, 2_000)) },
      ],
      expect: ['open', 4400],
    }),
    () => ({
      name: 'binary subscribe after ack',
      init: true,
      steps: [{ binary: Buffer.from(JSON.stringify({ type: 'subscribe', id, payload: { query: '{ __typename }' } })) }],
      expect: ['open'],
    }),
    () => ({ name: 'random bytes in a text frame', steps: [{ text: rng.bytes(rng.int(1, 4_000)) }], expect: [1007, 4400] }),
    () => ({
      name: 'invalid UTF-8 in a text frame',
      init: rng.chance(0.5),
      steps: [{ text: Buffer.from([0x7b, 0xc3, 0x28, 0xff, 0xfe, 0x7d]) }],
      expect: [1007],
    }),
    () => ({
      name: 'empty frame',
      init: rng.chance(0.5),
      steps: [rng.chance(0.5) ? { text: '' } : { binary: Buffer.alloc(0) }],
      expect: [4400],
    }),
    () => {
      const depth = rng.pick([1_000, 10_000, 100_000]);
      return rng.pick<Case>([
        { name: `deep JSON message (${depth})`, steps: [{ text: deepJson(depth, rng) }], expect: [4400] },
        {
          name: `deep JSON connection_init payload (${depth})`,
          steps: [{ text: `{"type":"connection_init","payload":{"deep":${deepJson(depth, rng)}}}` }],
          expect: ['open'],
        },
        {
          name: `deep JSON publish data (${depth})`,
          init: true,
          steps: [
            {
              text: `{"type":"subscribe","id":"${id}","payload":{"query":"mutation($d: JSON!) { publish(room: \\"fuzz-deep\\", event: \\"e\\", data: $d) { seq } }","variables":{"d":${deepJson(depth, rng)}}}}`,
            },
          ],
          expect: ['open'],
        },
        {
          name: `deep JSON extensions (${depth})`,
          init: true,
          steps: [{ text: `{"type":"subscribe","id":"${id}","payload":{"query":"{ __typename }","extensions":${deepObject(depth)}}}` }],
          expect: ['open'],
        },
        {
          name: `deep GraphQL (${depth})`,
          init: true,
          steps: [sub(id, `{ ${'a{'.repeat(depth)}b${'}'.repeat(depth)} }`)],
          expect: ['open'],
        },
      ]);
    },
    () => ({ name: 'connection_init twice', steps: [msg({ type: 'connection_init' }), msg({ type: 'connection_init' })], expect: [4429] }),
    () => ({ name: 'connection_init after ack', init: true, steps: [msg({ type: 'connection_init', payload: {} })], expect: [4429] }),
    () => ({
      name: 'odd graphql-ws ping/pong payloads',
      init: rng.chance(0.5),
      steps: [msg({ type: rng.pick(['ping', 'pong']), payload: rng.pick(['x', 0, [1], true]) })],
      expect: [4400],
    }),
    () => ({
      name: 'graphql-ws ping/pong with object payloads',
      init: rng.chance(0.5),
      steps: [
        msg({ type: 'pong', payload: { any: rng.text(10) } }),
        msg({ type: 'ping', payload: { nested: { deep: [1, { x: null }] } } }),
        msg({ type: 'pong' }),
      ],
      expect: ['open'],
    }),
    () => ({
      name: 'WebSocket pings and pongs with odd payloads',
      init: rng.chance(0.5),
      steps: [{ wsPing: rng.bytes(rng.int(0, 125)) }, { wsPong: rng.bytes(rng.int(0, 125)) }, { wsPing: Buffer.alloc(0) }],
      expect: ['open'],
    }),
    () => ({
      name: 'a message in fragments',
      init: true,
      steps: [
        {
          fragments: splitInto(JSON.stringify({ type: 'subscribe', id, payload: { query: '{ __typename }' } }), rng.int(2, 5), rng),
          finish: true,
        },
      ],
      expect: ['open'],
    }),
    // The ws client sends the probe that follows as the unfinished message's last fragment: bad JSON.
    () => ({ name: 'an unfinished fragmented message', steps: [{ fragments: ['{"type":', '"ping"'], finish: false }], expect: [4400] }),
    () => ({
      name: 'resume cursors of odd types',
      init: {
        roomcastCursors: rng.pick([
          { [id]: rng.text(rng.int(0, 300)) },
          { [id]: 5 },
          { [id]: null },
          'x',
          [id],
          null,
          JSON.parse('{"__proto__":"x"}'),
        ]),
      },
      steps: [sub(id, liveSubscription(room)), sub(`${id}-b`, '{ history(room: "fuzz-0", limit: 1) { seq } }')],
      expect: ['open'],
    }),
    () => ({
      name: 'prototype keys',
      init: true,
      steps: [
        { text: '{"type":"subscribe","id":"__proto__","payload":{"query":"{ __typename }","variables":{"__proto__":{"polluted":true}}}}' },
        sub('constructor', '{ __typename }'),
        sub('toString', liveSubscription(room)),
        msg({ type: 'complete', id: 'hasOwnProperty' }),
      ],
      expect: ['open'],
    }),
    () => ({ name: 'operations over the limits', init: true, steps: [sub(id, badQuery(rng))], expect: ['open'] }),
    () => ({
      name: 'complete of an unknown id',
      init: true,
      steps: [msg({ type: 'complete', id: rng.text(rng.int(1, 50)) })],
      expect: ['open'],
    }),
    // A well-formed message of a type only servers send: graphql-ws throws while handling it, and the
    // adapter (src/transports/ws-adapter.ts) closes with 4400, the client's fault, not 4500.
    () => ({
      name: 'server-only message types',
      init: rng.chance(0.5),
      steps: [msg({ type: rng.pick(['connection_ack', 'next', 'error']), id, payload: rng.pick([{}, [{ message: 'x' }]]) })],
      expect: [4400],
    }),
    () => ({ name: 'no subprotocol', protocol: null, steps: [msg({ type: 'connection_init' })], expect: [4406] }),
    () => ({ name: 'a random sequence', init: rng.chance(0.5), steps: Array.from({ length: rng.int(2, 8) }, () => randomStep(rng)) }),
    () => ({ name: 'a random sequence', steps: Array.from({ length: rng.int(2, 8) }, () => randomStep(rng)) }),
    rawCase,
    rawCase,
    rawCase,
  ];
  return rng.pick(generators)();
}

function splitInto(text: string, parts: number, rng: Rng): string[] {
  const cuts = [...new Set(Array.from({ length: parts - 1 }, () => rng.int(1, text.length - 1)))].sort((a, b) => a - b);
  return [0, ...cuts].map((from, i) => text.slice(from, cuts[i] ?? text.length));
}

// ---------------------------------------------------------------------------------------------
// Running a case

let server: TestServer;
const TIMEOUT_MS = 10_000;

/** A raw `ws` client whose server messages and close are read with deadlines. */
class Connection {
  readonly ws: WebSocket;
  readonly received: unknown[] = [];
  closeCode: number | undefined;
  private wake: (() => void) | undefined;

  constructor(url: string, protocol: string | null) {
    this.ws = protocol === null ? new WebSocket(url) : new WebSocket(url, protocol);
    this.ws.on('message', (data) => {
      try {
        this.received.push(JSON.parse((data as Buffer).toString()));
      } catch {
        this.received.push((data as Buffer).toString());
      }
      this.notify();
    });
    this.ws.on('open', () => this.notify());
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.notify();
    });
    // Client-side errors (such as a failed send after the server closed) end in 'close' too.
    this.ws.on('error', () => {});
  }

  /** Resolves with the first value `check` returns, or 'closed' once the socket is closed. */
  async until<T>(what: string, check: () => T | undefined): Promise<T | 'closed'> {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (this.closeCode !== undefined) return 'closed';
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`);
      await within(new Promise<void>((resolve) => (this.wake = resolve)), left, what).catch(() => {});
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

const hasType = (type: string, probe?: number) => (m: unknown) =>
  typeof m === 'object' &&
  m !== null &&
  (m as { type?: unknown }).type === type &&
  (probe === undefined || (m as { payload?: { probe?: unknown } }).payload?.probe === probe);

async function runSocketCase(c: SocketCase, probe: number): Promise<Outcome> {
  const conn = new Connection(server.wsUrl, c.protocol === undefined ? 'graphql-transport-ws' : c.protocol);
  const { ws } = conn;
  if ((await conn.until('open', () => (ws.readyState === WebSocket.OPEN ? true : undefined))) === 'closed') return conn.closeCode!;
  if (c.init) {
    ws.send(JSON.stringify(typeof c.init === 'object' ? { type: 'connection_init', payload: c.init } : { type: 'connection_init' }));
    if ((await conn.until('connection_ack', () => (conn.received.some(hasType('connection_ack')) ? true : undefined))) === 'closed') {
      throw new Error(`closed with ${conn.closeCode} before connection_ack`);
    }
  }
  for (const step of c.steps) {
    if ('text' in step) ws.send(step.text, { binary: false });
    else if ('binary' in step) ws.send(step.binary, { binary: true });
    else if ('wsPing' in step) ws.ping(step.wsPing);
    else if ('wsPong' in step) ws.pong(step.wsPong);
    else step.fragments.forEach((part, i) => ws.send(part, { binary: false, fin: step.finish && i === step.fragments.length - 1 }));
  }
  // A graphql-ws ping after everything: its pong means the server has read every frame before it.
  ws.send(JSON.stringify({ type: 'ping', payload: { probe } }));
  if ((await conn.until('the probe pong', () => (conn.received.some(hasType('pong', probe)) ? true : undefined))) === 'closed') {
    return conn.closeCode!;
  }
  // Closing reveals a close the server started meanwhile: its code wins over our 1000.
  ws.close(1000);
  await conn.until('close', () => undefined);
  return conn.closeCode === 1000 ? 'open' : conn.closeCode!;
}

/** Upgrades a plain TCP connection by hand, writes `raw`, and reads the server's close frame. */
async function runRawCase(c: RawCase): Promise<Outcome> {
  const { hostname, port } = new URL(server.wsUrl);
  const socket = connectTcp(Number(port), hostname);
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  let closeCode: number | undefined;
  let refused: string | undefined;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const readFrames = () => {
    while (buffer.length >= 2) {
      let length = buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffer.length < 4) return;
        length = buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffer.length < 10) return;
        length = Number(buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffer.length < offset + length) return;
      if ((buffer[0]! & 0x0f) === 8) closeCode = length >= 2 ? buffer.readUInt16BE(offset) : 1005;
      buffer = buffer.subarray(offset + length);
    }
  };
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString();
      if (!head.startsWith('HTTP/1.1 101')) {
        refused = head;
        socket.destroy();
        return;
      }
      upgraded = true;
      buffer = buffer.subarray(end + 4);
    }
    readFrames();
    notify();
  });
  socket.on('close', () => {
    ended = true;
    notify();
  });
  socket.on('error', () => {});
  socket.write(
    [
      'GET /graphql HTTP/1.1',
      `Host: ${hostname}:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Protocol: graphql-transport-ws',
      '',
      '',
    ].join('\r\n'),
  );
  const wait = async (what: string, done: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!done() && Date.now() < deadline) {
      await within(new Promise<void>((resolve) => (wake = resolve)), deadline - Date.now(), what).catch(() => {});
    }
    return done();
  };
  try {
    await wait('the upgrade', () => upgraded || ended, TIMEOUT_MS);
    if (!upgraded) throw new Error(`no upgrade: ${refused ?? 'connection closed'}`);
    socket.write(c.raw);
    // Random bytes may announce a frame longer than what follows: the server then waits for the rest.
    const closed = await wait('a close frame', () => closeCode !== undefined || ended, 1_000);
    if (!closed) return 'open';
    return closeCode ?? 1006;
  } finally {
    socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------

describe('WebSocket fuzzing', () => {
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);
  const consoleErrors: string[] = [];
  const serverErrors: string[] = [];
  const restore: (() => void)[] = [];

  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUncaught);
    // graphql-ws reports internal errors with console.error; the server logs JSON lines on stderr.
    const consoleError = console.error;
    console.error = (...args: unknown[]) => consoleErrors.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
    restore.push(() => (console.error = consoleError));
    const stderrWrite = process.stderr.write;
    process.stderr.write = (chunk: unknown, ...rest: unknown[]) => {
      const line = String(chunk);
      if (line.startsWith('{"time"')) {
        if (line.includes('"level":"error"')) serverErrors.push(line.trim());
        return true;
      }
      return (stderrWrite as (...args: unknown[]) => boolean).call(process.stderr, chunk, ...rest);
    };
    restore.push(() => (process.stderr.write = stderrWrite));
    server = await startTestServer({ LOG_LEVEL: 'error' });
  });
  afterAll(async () => {
    await server?.close();
    for (const undo of restore.splice(0).reverse()) undo();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  });

  it(`should survive ${ITERATIONS} connections of random and malformed frames (seed ${SEED})`, { timeout: 180_000 }, async () => {
    onTestFailed(() => {
      console.log(`ws-fuzz failed with FUZZ_SEED=${SEED} FUZZ_ITERATIONS=${ITERATIONS}`);
    });
    const rng = prng(SEED);
    const seen = new Map<string, number>();
    const byCase = new Map<string, Map<string, number>>();
    for (let i = 0; i < ITERATIONS; i++) {
      const c = randomCase(rng, i);
      const label = `FUZZ_SEED=${SEED} iteration ${i} (${c.name})`;
      let outcome: Outcome;
      try {
        outcome = 'raw' in c ? await runRawCase(c) : await runSocketCase(c, i);
      } catch (error) {
        throw new Error(`${label}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      const key = String(outcome);
      seen.set(key, (seen.get(key) ?? 0) + 1);
      const counts = byCase.get(c.name) ?? new Map<string, number>();
      counts.set(key, (counts.get(key) ?? 0) + 1);
      byCase.set(c.name, counts);
      if (outcome !== 'open') expect(DOCUMENTED.has(outcome), `${label}: undocumented close code ${outcome}`).toBe(true);
      if (c.expect) expect(c.expect, `${label}: ended with ${outcome}`).toContain(outcome);
      expect(uncaught, label).toEqual([]);
    }
    const summary = [...seen]
      .sort()
      .map(([k, n]) => `${k}×${n}`)
      .join(' ');
    console.log(`ws-fuzz seed ${SEED}: ${ITERATIONS} connections, outcomes ${summary}`);
    console.log(
      [...byCase]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, counts]) => `  ${name}: ${[...counts].map(([k, n]) => `${k}×${n}`).join(' ')}`)
        .join('\n'),
    );

    expect(uncaught).toEqual([]);
    expect(serverErrors, 'the server logged errors').toEqual([]);
    // Client misbehaviour is logged at debug level through the server's logger, never on the console.
    expect(consoleErrors).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // Every fuzzing connection is gone on the server side too.
    await waitFor('the fuzzing connections to close', async () => {
      const count = await new Promise<number>((resolve, reject) =>
        server.httpServer.getConnections((error, n) => (error ? reject(error) : resolve(n))),
      );
      return count === 0;
    });

    // The server still serves: HTTP publish, and a graphql-ws subscription resumed after the first publish.
    expect(server.httpServer.listening).toBe(true);
    const room = `fuzz-after-${SEED}`;
    const first = await postGraphQL(server.url, PublishDocument, { room, event: 'e', data: { n: 1 } });
    expect(first.status).toBe(200);
    const cursor = first.body.data!.publish.cursor;
    const client = wsClient(server.wsUrl);
    try {
      const stream = subscribeWs(client, RoomMessagesDocument, { room, after: cursor });
      const second = await postGraphQL(server.url, PublishDocument, { room, event: 'e', data: { n: 2 } });
      expect(second.body.data?.publish.seq).toBe(2);
      expect(await stream.next()).toMatchObject({ data: { messages: { __typename: 'Message', seq: 2, data: { n: 2 } } } });
      stream.dispose();
    } finally {
      await client.dispose();
    }
  });

  // Found by this fuzzer: JSON.stringify overflowed its stack beyond about 4100 levels of nesting and
  // the client got INTERNAL_SERVER_ERROR; such data is now refused with BAD_USER_INPUT.
  it('should refuse data nested 10,000 levels deep with a documented code', async () => {
    const body = `{"query":"mutation($d: JSON!) { publish(room: \\"fuzz-deep\\", event: \\"e\\", data: $d) { seq } }","variables":{"d":${deepArray(10_000)}}}`;
    const response = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body,
    });
    const result = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(['BAD_USER_INPUT', 'PAYLOAD_TOO_LARGE']).toContain(result.errors?.[0]?.extensions?.code);
  });
});
