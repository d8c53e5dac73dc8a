/**
 * Noticing a server that stopped answering without closing the connection (a frozen process, a
 * dropped network path, a proxy that lost the socket): the socket stays open and silent, so nothing
 * else would ever reconnect. Browsers hide WebSocket-level pings from scripts, so the client measures
 * its own: a connection attempt must be acknowledged within `connectTimeoutMs`, and each
 * graphql-ws `ping` the client sends must be answered within `pongTimeoutMs`; otherwise the socket
 * is terminated (graphql-ws's close 4499), which the client retries like any drop.
 */
import type { Client } from 'graphql-ws/client';

export interface LivenessOptions {
  readonly connectTimeoutMs: number;
  readonly pongTimeoutMs: number;
}

/** Starts watching `client`; the returned function stops (the client's dispose also ends any pending timer). */
export function watchLiveness(client: Client, { connectTimeoutMs, pongTimeoutMs }: LivenessOptions): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const disarm = () => clearTimeout(timer);
  const arm = (ms: number) => {
    disarm();
    if (ms > 0 && Number.isFinite(ms)) timer = setTimeout(() => client.terminate(), ms);
  };
  const stops = [
    client.on('connecting', () => arm(connectTimeoutMs)),
    client.on('connected', disarm),
    client.on('ping', (received) => {
      if (!received) arm(pongTimeoutMs);
    }),
    client.on('pong', (received) => {
      if (received) disarm();
    }),
    client.on('closed', disarm),
  ];
  return () => {
    disarm();
    for (const stop of stops) stop();
  };
}
