/**
 * Composition and lifecycle: broker -> schema and HTTP (Yoga) -> WebSocket, on one port.
 * `close()` is the one way down, for tests and for graceful shutdown alike.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Plugin } from 'graphql-yoga';
import { startAuth } from './auth/services.js';
import { brokerFromConfig, type Broker } from './broker/index.js';
import type { Config } from './config.js';
import { createLimits } from './limits/index.js';
import { createInspectorPage, directoryFromConfig } from './inspector/index.js';
import { presenceFromConfig } from './presence/index.js';
import type { Logger } from './log.js';
import { startMetricsEndpoint } from './metrics/endpoint.js';
import { Metrics, withAuthMetrics } from './metrics/metrics.js';
import { createHttpHandler, GRAPHQL_PATH } from './transports/http.js';
import { nodeRequestListener } from './transports/node-http.js';
import { originPolicy as createOriginPolicy } from './transports/origins.js';
import { attachWebSocket } from './transports/ws.js';
import type { AuthorizeHook } from './auth/policy.js';
import { describeRedisTarget } from './broker/redis-connection.js';

/** Largest HTTP request head (request line and headers). */
const MAX_HEADER_BYTES = 64 * 1024;

export interface RoomcastServer {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  readonly url: string;
  readonly port: number;
  readonly httpServer: Server;
  /**
   * Graceful stop: reports not ready at once, stops accepting, closes WebSockets with 1012 spread
   * over `DRAIN_MS`, lets requests in flight (publishes included) finish, ends event streams, then
   * closes the broker. Idempotent.
   */
  close(): Promise<void>;
}

export interface ServerOptions {
  /**
   * Envelop plugins added to Roomcast's own, for embedders: they run for every operation on every
   * transport (HTTP, its fast path, SSE, WebSocket with direct delivery on or off).
   */
  readonly plugins?: readonly Plugin[];
  /** An embedder's authorization hook: when given, it decides instead of the capabilities, on every path (auth/policy.ts). */
  readonly authorize?: AuthorizeHook | undefined;
}

export async function startServer(config: Config, log: Logger, options: ServerOptions = {}): Promise<RoomcastServer> {
  return (await composeServer(config, log, options)).listen();
}

/**
 * Everything but the listening socket, for embedders (src/library/): the HTTP server is not
 * listening, and its 'request' and 'upgrade' events are Roomcast's handlers, fed requests of
 * another server. `close()` stops everything, listening or not.
 */
export interface ComposedServer {
  readonly httpServer: Server;
  /** Listens on PORT and HOST. */
  listen(): Promise<RoomcastServer>;
  close(): Promise<void>;
}

export async function composeServer(config: Config, log: Logger, { plugins, authorize }: ServerOptions = {}): Promise<ComposedServer> {
  const metrics = new Metrics(config.metrics);
  const broker = brokerFromConfig(config, log, metrics);
  const limits = createLimits(config, log);
  const auth = withAuthMetrics(startAuth(config, log, authorize), metrics);
  const presence = presenceFromConfig(config, log);
  const inspector = directoryFromConfig(config, broker, log);
  const inspectorPage = createInspectorPage(config.inspector);
  if (!auth.authenticator.enabled) {
    log.warn(
      'auth is off: anyone who can reach this server may read, subscribe and publish to every room (set AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY(_FILE) or AUTH_JWKS_URL)',
    );
  }
  let draining = false;
  const originPolicy = createOriginPolicy(config.corsOrigins);
  const yoga = createHttpHandler({
    broker,
    presence,
    auth,
    originPolicy,
    graphiql: config.graphiql,
    introspection: config.introspection,
    limits,
    ready: async () => !draining && (await broker.ready()),
    replicaReady: () => !draining,
    maxPayloadBytes: config.maxPayloadBytes,
    maxRoomsPerSubscription: config.maxRoomsPerSubscription,
    maxBodyBytes: config.httpMaxBodyBytes,
    log,
    plugins,
    metrics,
    inspector,
  });
  // Before the API listens: the metrics' own port (METRICS_PORT) fails the start-up if it is taken.
  const metricsEndpoint = await startMetricsEndpoint(
    metrics,
    { enabled: config.metrics, path: config.metricsPath, port: config.metricsPort, host: config.host },
    log,
  );
  const requests = new RequestTracker();
  const handle = nodeRequestListener(yoga, { maxBodyBytes: config.httpMaxBodyBytes, log });
  // A GET event stream of `messagesIn` carries its rooms in the URL and, when it resumes, a position
  // in every room in Last-Event-ID: up to ~30 KB for 100 rooms of 128 characters, past Node's 16 KiB.
  const httpServer = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    requests.track(req, res);
    if (!metricsEndpoint.handle(req, res) && !inspectorPage.handle(req, res)) handle(req, res);
  });
  const ws = attachWebSocket(httpServer, yoga, auth, log, {
    originPolicy,
    keepAliveMs: config.keepAliveMs,
    connectionInitTimeoutMs: config.connectionInitTimeoutMs,
    maxConnections: config.maxConnections,
    maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
    maxRoomsPerConnection: config.maxRoomsPerConnection,
    maxPayloadBytes: config.wsMaxPayloadBytes,
    maxBufferedBytes: config.maxBufferedBytes,
    directDelivery: config.directDelivery,
    limits: limits.webSocket,
    metrics,
  });
  metrics.watch({
    webSocketConnections: () => ws.connectionCount,
    subscriptions: () => broker.subscriptionCount,
    roomsListened: () => broker.roomCount,
    brokerReady: () => broker.ready(),
  });
  await Promise.all([awaitBroker(broker, config.brokerTimeoutMs, log), limits.ready(config.brokerTimeoutMs)]);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      draining = true;
      log.info('draining', { websockets: ws.connectionCount, drainMs: config.drainMs });
      const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await ws.drain(config.drainMs);
      await ws.close();
      await requests.settled();
      httpServer.closeAllConnections();
      await stopped;
      // After the WebSockets: their members are in their leave grace, which the other replicas keep.
      await presence.close();
      await inspector?.close();
      await broker.close();
      await limits.close();
      await auth.close();
      await metricsEndpoint.close();
      log.info('roomcast stopped');
    })();
    return closing;
  };
  const listen = async (): Promise<RoomcastServer> => {
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(config.port, config.host, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
    const { port } = httpServer.address() as AddressInfo;
    const url = `http://${displayHost(config.host)}:${port}${GRAPHQL_PATH}`;
    log.info('roomcast listening', { url, broker: broker.kind, ...(config.redis && { redis: describeRedisTarget(config.redis) }) });
    return { url, port, httpServer, close };
  };
  return { httpServer, listen, close };
}

/** Counts requests in flight, except event streams, which never end by themselves. */
class RequestTracker {
  private active = 0;
  private idle: (() => void) | undefined;

  track(req: IncomingMessage, res: ServerResponse): void {
    if (req.headers.accept?.includes('text/event-stream')) return;
    this.active++;
    res.once('close', () => {
      this.active--;
      if (this.active === 0) this.idle?.();
    });
  }

  settled(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => (this.idle = resolve));
  }
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
