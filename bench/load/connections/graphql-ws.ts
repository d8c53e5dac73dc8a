/**
 * A graphql-transport-ws (graphql-ws protocol) subscriber written by hand over `ws`, for Roomcast and
 * the textbook stack: connection_init, subscribe once acknowledged, answer pings. graphql-ws's own
 * client would JSON.parse every frame and run its sink machinery; this one reads the stamp out of a
 * `next` frame's bytes (stamp.ts) and parses only housekeeping, so the client side costs the same
 * little for every target.
 */
import WebSocket from 'ws';
import type { ClientConnection, Connect } from './connection.js';
import { readStamp } from '../stamp.js';

/** The subscription every GraphQL client of the benchmark runs (Roomcast's schema; the textbook one mirrors it). */
const SUBSCRIPTION = 'subscription Bench($room: ID!) { messages(room: $room) { ... on Message { seq data } } }';

interface ServerMessage {
  readonly type?: string;
  readonly payload?: unknown;
}

export const connectGraphqlWs: Connect = (url, room, sink) =>
  new Promise<ClientConnection>((resolve, reject) => {
    const ws = new WebSocket(url, 'graphql-transport-ws', { perMessageDeflate: false });
    let subscribed = false;
    let closing = false;
    const connection: ClientConnection = {
      close: () => {
        closing = true;
        ws.terminate();
      },
    };
    ws.on('open', () => ws.send('{"type":"connection_init"}'));
    ws.on('message', (data: Buffer) => {
      const stamp = readStamp(data);
      if (stamp) {
        sink.deliver(stamp);
        return;
      }
      let message: ServerMessage;
      try {
        message = JSON.parse(data.toString()) as ServerMessage;
      } catch {
        sink.anomaly('unparsable frame');
        return;
      }
      switch (message.type) {
        case 'connection_ack':
          ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION, variables: { room } } }));
          subscribed = true;
          resolve(connection);
          break;
        case 'ping':
          ws.send('{"type":"pong"}');
          break;
        case 'pong':
          break;
        default:
          // `next` without data (an error result), `error`, `complete`: the subscription is in trouble.
          sink.anomaly(`${message.type ?? 'untyped'}: ${JSON.stringify(message.payload ?? null).slice(0, 200)}`);
      }
    });
    ws.on('error', (error) => {
      if (!subscribed) reject(error);
    });
    ws.on('close', (code, reason) => {
      if (!subscribed) reject(new Error(`closed before acknowledgement: ${code} ${reason.toString()}`));
      else if (!closing) sink.closed(`${code} ${reason.toString()}`.trim());
    });
  });
