/**
 * Frames of one turn of the event loop to one socket leave in one write: the first at once, the
 * rest corked until the turn's I/O callbacks have run, in order. Real streams (node:stream), counting the writes their sinks receive.
 */
import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { writeInTurn } from '../../src/transports/turn-writes.js';

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

const turnEnd = () => new Promise<void>((resolve) => setImmediate(resolve));
const frames = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

describe('writeInTurn', () => {
  it('should write a lone frame at once', () => {
    const { socket, writes } = recordingSocket();
    writeInTurn(socket, Buffer.from('m0'));
    expect(writes).toEqual([['m0']]);
  });

  it('should send a burst to each socket as the first frame, then one write of the rest, in order', async () => {
    const sockets = [recordingSocket(), recordingSocket(), recordingSocket()];
    for (let m = 0; m < 20; m++) for (const { socket } of sockets) writeInTurn(socket, Buffer.from(`m${m}`));
    for (const { writes } of sockets) expect(writes).toEqual([['m0']]);
    await turnEnd();
    for (const { writes } of sockets) expect(writes).toEqual([['m0'], frames(1, 20)]);
  });

  it('should batch frames written from microtasks of the same turn', async () => {
    const { socket, writes } = recordingSocket();
    writeInTurn(socket, Buffer.from('m0'));
    await Promise.resolve();
    writeInTurn(socket, Buffer.from('m1'));
    await Promise.resolve();
    writeInTurn(socket, Buffer.from('m2'));
    await turnEnd();
    expect(writes).toEqual([['m0'], ['m1', 'm2']]);
  });

  it('should batch frames written from several I/O callbacks of the same turn', async () => {
    const { socket, writes } = recordingSocket();
    // Two callbacks of one turn (timers here), as when a burst arrives in several reads of one poll phase.
    await new Promise<void>((resolve) => {
      let pending = 2;
      const read = (m: number) => () => {
        writeInTurn(socket, Buffer.from(`m${m}`));
        writeInTurn(socket, Buffer.from(`m${m + 1}`));
        if (--pending === 0) resolve();
      };
      setTimeout(read(0), 0);
      setTimeout(read(2), 0);
    });
    await turnEnd();
    expect(writes).toEqual([['m0'], frames(1, 4)]);
  });

  it('should start afresh on the next turn', async () => {
    const { socket, writes } = recordingSocket();
    writeInTurn(socket, Buffer.from('m0'));
    writeInTurn(socket, Buffer.from('m1'));
    await turnEnd();
    writeInTurn(socket, Buffer.from('m2'));
    expect(writes).toEqual([['m0'], ['m1'], ['m2']]);
  });
});
