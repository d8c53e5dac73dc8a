/**
 * `GET /metrics` (METRICS_PATH) in Prometheus's text format: on the API port by default, or on a
 * port of its own (METRICS_PORT, the advice for production: the API port is public, the metrics are
 * not), or nowhere (METRICS=off). Answered before Yoga sees the request: a scrape runs no GraphQL,
 * no auth, no CORS and no limits, which is why it must not be reachable from outside.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';

export interface MetricsEndpoint {
  /**
   * For the API port's request listener: answers a metrics request and returns true, or returns
   * false and leaves the request alone (always false when the metrics have a port of their own).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The separate port, once listening; undefined when the metrics are on the API port or off. */
  readonly port: number | undefined;
  close(): Promise<void>;
}

export interface MetricsEndpointOptions {
  readonly enabled: boolean;
  readonly path: string;
  /** Unset: the API port. 0 picks a free port. */
  readonly port: number | undefined;
  readonly host: string | undefined;
}

export async function startMetricsEndpoint(metrics: Metrics, options: MetricsEndpointOptions, log: Logger): Promise<MetricsEndpoint> {
  const matches = (req: IncomingMessage) => options.enabled && pathOf(req) === options.path;
  const answer = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    metrics.text().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        log.error('could not collect metrics', { error });
        res.writeHead(500).end();
      },
    );
  };
  if (!options.enabled || options.port === undefined) {
    return {
      handle: (req, res) => {
        if (!matches(req)) return false;
        answer(req, res);
        return true;
      },
      port: undefined,
      close: async () => metrics.close(),
    };
  }
  const server: Server = createServer((req, res) => {
    if (matches(req)) answer(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  log.info('metrics listening', { port, path: options.path });
  return {
    handle: () => false,
    port,
    close: async () => {
      metrics.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}
