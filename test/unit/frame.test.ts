/**
 * The pre-built frames of direct delivery, read back by ws's own client-side frame parser, at the
 * edges of each length encoding (7-bit, 16-bit, 64-bit).
 */
import type { Writable } from 'node:stream';
import * as ws from 'ws';
import { expect, it } from 'vitest';
import { frame } from '../../src/transports/ws-delivery.js';

// ws's frame parser; @types/ws does not declare it.
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => Writable };

function parse(bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false, maxPayload: 0 });
    receiver.on('message', (data: Buffer, isBinary: boolean) => (isBinary ? reject(new Error('binary frame')) : resolve(data.toString())));
    receiver.on('error', reject);
    receiver.write(bytes);
  });
}

const prefix = Buffer.from('{"id":"op-1","type":"next","payload":');

it.each([
  ['7-bit', 125],
  ['16-bit, smallest', 126],
  ['16-bit, largest', 65_535],
  ['64-bit, smallest', 65_536],
  ['64-bit, 1 MiB', 1 << 20],
])('should build a frame ws reads back exactly: %s length (%i bytes)', async (_encoding, length) => {
  const payload = Buffer.from(`{"data":"${'x'.repeat(length - prefix.length - 1 - '{"data":""}'.length)}"}`);
  const bytes = frame(prefix, payload);
  const text = `${prefix.toString()}${payload.toString()}}`;
  expect(Buffer.byteLength(text)).toBe(length);
  expect(await parse(bytes)).toBe(text);
  expect(JSON.parse(text)).toMatchObject({ id: 'op-1', type: 'next' });
});
