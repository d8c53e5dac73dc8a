/**
 * Frames of one tick to one socket leave in one write: the first at once, the rest corked until
 * the tick ends, in order. Real streams (node:stream), counting the writes their sinks receive.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeInTick } from '../../src/transports/tick-writes.js';

/** A socket stand-in whose sink records each write it is handed (one entry per write or writev). */
function recordingSocket(): { socket: Duplex; writes: string[][] } {
  const writes: string[][] = [];
  const socket = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      writes.push([chunk.toString()]);
      callback();
    },
    writev(chunks, callback) {
      writes.push(chunks.map(({ chunk }) => (chunk as Buffer).toString()));
      callback();
    },
  });
  return { socket, writes };
}

const tickEnd = () => new Promise<void>((resolve) => setImmediate(resolve));
const frames = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

describe('writeInTick', () => {
  it('should write a lone frame at once', () => {
    const { socket, writes } = recordingSocket();
    writeInTick(socket, Buffer.from('m0'));
    expect(writes).toEqual([['m0']]);
  });

  it('should send a burst to each socket as the first frame, then one write of the rest, in order', async () => {
    const sockets = [recordingSocket(), recordingSocket(), recordingSocket()];
    for (let m = 0; m < 20; m++) for (const { socket } of sockets) writeInTick(socket, Buffer.from(`m${m}`));
    for (const { writes } of sockets) expect(writes).toEqual([['m0']]);
    await tickEnd();
    for (const { writes } of sockets) expect(writes).toEqual([['m0'], frames(1, 20)]);
  });

  it('should batch frames written from microtasks of the same tick', async () => {
    const { socket, writes } = recordingSocket();
    writeInTick(socket, Buffer.from('m0'));
    await Promise.resolve();
    writeInTick(socket, Buffer.from('m1'));
    await Promise.resolve();
    writeInTick(socket, Buffer.from('m2'));
    await tickEnd();
    expect(writes).toEqual([['m0'], ['m1', 'm2']]);
  });

  it('should start afresh on the next tick', async () => {
    const { socket, writes } = recordingSocket();
    writeInTick(socket, Buffer.from('m0'));
    writeInTick(socket, Buffer.from('m1'));
    await tickEnd();
    writeInTick(socket, Buffer.from('m2'));
    expect(writes).toEqual([['m0'], ['m1'], ['m2']]);
  });
});
