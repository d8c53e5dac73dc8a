/**
 * A subscriber of the Socket.IO baseline, with socket.io-client as a user would write it: WebSocket
 * transport only (no long-polling first), no reconnection (a reconnect would hide a loss), `join`
 * emitted with the room and acknowledged. socket.io-client parses each frame itself, so the stamp is
 * read from the decoded object; that costs the client a JSON.parse per delivery, which the
 * client-CPU figures show.
 */
import { io } from 'socket.io-client';
import type { ClientConnection, Connect } from './connection.js';

interface Data {
  readonly t?: unknown;
  readonly i?: unknown;
}

export const connectSocketIo: Connect = (url, room, sink) =>
  new Promise<ClientConnection>((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, timeout: 30_000 });
    let joined = false;
    let closing = false;
    socket.on('connect', () => {
      socket.emit('join', room, () => {
        joined = true;
        resolve({
          close: () => {
            closing = true;
            socket.disconnect();
          },
        });
      });
    });
    socket.on('msg', (data: Data) => {
      if (typeof data?.t === 'number' && typeof data.i === 'number') sink.deliver({ t: data.t, i: data.i });
      else sink.anomaly('message without a stamp');
    });
    socket.on('connect_error', (error) => {
      if (!joined) reject(error);
    });
    socket.on('disconnect', (reason) => {
      if (!joined) reject(new Error(`disconnected before join: ${reason}`));
      else if (!closing) sink.closed(reason);
    });
  });
