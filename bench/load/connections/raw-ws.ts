/**
 * A subscriber of the floor baseline: a bare WebSocket on `/?room=<room>`, whose every text frame is
 * published data as it was published.
 */
import WebSocket from 'ws';
import type { ClientConnection, Connect } from './connection.js';
import { readStamp } from '../stamp.js';

export const connectRawWs: Connect = (url, room, sink) =>
  new Promise<ClientConnection>((resolve, reject) => {
    const target = new URL(url);
    target.searchParams.set('room', room);
    const ws = new WebSocket(target, { perMessageDeflate: false });
    let open = false;
    let closing = false;
    ws.on('open', () => {
      open = true;
      resolve({
        close: () => {
          closing = true;
          ws.terminate();
        },
      });
    });
    ws.on('message', (data: Buffer) => {
      const stamp = readStamp(data);
      if (stamp) sink.deliver(stamp);
      else sink.anomaly('frame without a stamp');
    });
    ws.on('error', (error) => {
      if (!open) reject(error);
    });
    ws.on('close', (code, reason) => {
      if (!open) reject(new Error(`closed before open: ${code}`));
      else if (!closing) sink.closed(`${code} ${reason.toString()}`.trim());
    });
  });
