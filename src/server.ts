/**
 * Composition and lifecycle: broker -> schema and HTTP (Yoga) -> WebSocket, on one port.
 * `close()` is the one way down, for tests and for graceful shutdown alike.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brokerFromConfig, type Broker } from './broker/index.js';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import { createHttpHandler, GRAPHQL_PATH } from './transports/http.js';
import { attachWebSocket } from './transports/ws.js';

export interface RoomcastServer {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  readonly url: string;
  readonly port: number;
  readonly httpServer: Server;
  /** Stops accepting, closes every connection and the broker. Idempotent. */
  close(): Promise<void>;
}

export async function startServer(config: Config, log: Logger): Promise<RoomcastServer> {
  const broker = brokerFromConfig(config, log);
  const yoga = createHttpHandler({ broker, maxPayloadBytes: config.maxPayloadBytes, log });
  const httpServer = createServer(yoga);
  const ws = attachWebSocket(httpServer, yoga, log);
  await awaitBroker(broker, config.brokerTimeoutMs, log);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${displayHost(config.host)}:${port}${GRAPHQL_PATH}`;
  log.info('roomcast listening', { url, broker: broker.kind, replica: config.replicaId });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await ws.close();
      httpServer.closeAllConnections();
      await closed;
      await broker.close();
      log.info('roomcast stopped', { replica: config.replicaId });
    })();
    return closing;
  };
  return { url, port, httpServer, close };
}

/** Gives the broker a moment to connect, so "listening" usually means "can publish"; starts regardless. */
async function awaitBroker(broker: Broker, timeoutMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await broker.ready())) {
    if (Date.now() >= deadline) {
      log.warn('broker not ready yet; serving anyway (publishes fail with UNAVAILABLE until it is)', { broker: broker.kind });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function displayHost(host: string | undefined): string {
  if (!host || host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}
