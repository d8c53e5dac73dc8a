/**
 * Plain `ws` sockets speaking graphql-transport-ws by hand, for tests of limits and protocol edges,
 * with deadlines on every wait.
 */
import WebSocket from 'ws';
import { within } from './wait.js';

export const closeCode = (ws: WebSocket): Promise<number> =>
  within(new Promise<number>((resolve) => ws.once('close', (code) => resolve(code))), 5_000, 'the socket to close');

export const opened = (ws: WebSocket): Promise<unknown> =>
  ws.readyState === WebSocket.OPEN
    ? Promise.resolve()
    : within(new Promise((resolve) => ws.once('open', resolve)), 5_000, 'the socket to open');

/** Opens the protocol: connection_init, then waits for connection_ack. */
export async function acknowledged(ws: WebSocket): Promise<void> {
  await opened(ws);
  const ack = within(
    new Promise<void>((resolve) => ws.on('message', (data) => (data as Buffer).toString().includes('connection_ack') && resolve())),
    5_000,
    'connection_ack',
  );
  ws.send(JSON.stringify({ type: 'connection_init' }));
  await ack;
}
