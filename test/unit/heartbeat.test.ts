import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { Heartbeat } from '../../src/transports/heartbeat.js';
import { waitFor, within } from '../helpers/wait.js';

const INTERVAL_MS = 400;

describe('Heartbeat over real sockets', () => {
  let stopAll: () => Promise<void> = async () => {};
  afterEach(() => stopAll());

  async function start(clients: number, options: { silent?: number } = {}) {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await within(new Promise((resolve) => server.once('listening', resolve)), 5_000, 'the server to listen');
    const heartbeat = new Heartbeat(INTERVAL_MS);
    server.on('connection', (socket) => {
      heartbeat.add(socket);
      socket.once('close', () => heartbeat.delete(socket));
    });
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sockets = Array.from({ length: clients }, (_, i) => new WebSocket(url, { autoPong: i !== options.silent }));
    const pings = sockets.map(() => [] as number[]);
    sockets.forEach((socket, i) => socket.on('ping', () => pings[i]!.push(Date.now())));
    await within(Promise.all(sockets.map((s) => new Promise((resolve) => s.once('open', resolve)))), 5_000, 'clients to connect');
    stopAll = async () => {
      heartbeat.stop();
      for (const socket of sockets) socket.terminate();
      await new Promise((resolve) => server.close(resolve));
    };
    return { sockets, pings };
  }

  it('should ping every socket once per interval, also when a round takes several batches', async () => {
    const { pings } = await start(300);
    await waitFor('every socket to get three pings', () => pings.every((times) => times.length >= 3), 6 * INTERVAL_MS);
    for (const times of pings) {
      const gaps = times.slice(1).map((time, i) => time - times[i]!);
      // A socket's turn comes at the same point of every round: gaps are about one interval.
      for (const gap of gaps) expect(gap).toBeGreaterThan(INTERVAL_MS / 2);
    }
    const firstRound = pings.map((times) => times[0]!);
    // 300 sockets do not fit one batch of 64 within half an interval: the round is spread over ticks.
    expect(Math.max(...firstRound) - Math.min(...firstRound)).toBeGreaterThanOrEqual(90);
  });

  it('should cut off a socket that does not answer, and keep the ones that do', async () => {
    const { sockets } = await start(100, { silent: 42 });
    const silent = sockets[42]!;
    const code = await within(
      new Promise<number>((resolve) => silent.once('close', resolve)),
      4 * INTERVAL_MS,
      'the silent socket to be cut off',
    );
    expect(code).toBe(1006);
    expect(sockets.filter((socket) => socket.readyState === WebSocket.OPEN)).toHaveLength(99);
  });
});
