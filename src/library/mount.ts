/**
 * Roomcast inside another server: a Node request handler (Express middleware shape), an 'upgrade'
 * listener, and `attach` for a plain node:http server. They take only the GraphQL endpoint and what
 * lies under it (`/graphql/schema.graphql`); every other request and upgrade is left to its owner.
 *
 * Requests are fed to the composed server's own (unlistened) HTTP server (server.ts), so they go
 * through exactly what `npm start` runs: request tracking for the drain, Yoga, the WebSocket transport.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { GRAPHQL_PATH } from '../transports/http.js';
import { refuseUpgrade } from '../transports/refuse-upgrade.js';

export type NextFunction = (error?: unknown) => void;
export type RequestHandler = (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

/** Whether the request is Roomcast's: the endpoint or under it, whatever the query string. */
function isRoomcastPath(url: string | undefined): boolean {
  const path = (url ?? '/').split('?', 1)[0]!;
  return path === GRAPHQL_PATH || path.startsWith(`${GRAPHQL_PATH}/`);
}

export function requestHandler(inner: Server, log: Logger): RequestHandler {
  return (req, res, next) => {
    if (!isRoomcastPath(req.url)) {
      if (next) next();
      else res.writeHead(404).end();
      return;
    }
    if (req.readableEnded && req.method === 'POST') {
      // A body parser that ran first (express.json()) has read the body: nothing is left to read.
      log.error('a request reached Roomcast with its body already read: mount Roomcast before body parsers', { path: GRAPHQL_PATH });
      res.writeHead(500, { 'content-type': 'text/plain' }).end('Roomcast must be mounted before body parsers (such as express.json())\n');
      return;
    }
    inner.emit('request', req, res);
  };
}

export function upgradeHandler(inner: Server): UpgradeHandler {
  return (req, socket, head) => {
    if (!isRoomcastPath(req.url)) return false;
    inner.emit('upgrade', req, socket, head);
    return true;
  };
}

/**
 * Serves Roomcast's requests and upgrades on `server`, as Socket.IO's `attach` does: its 'request'
 * listeners (the application's own routes) are kept and called for every other request. Returns the
 * function that gives the server back as it was.
 */
export function attachTo(server: Server, handle: RequestHandler, upgrade: UpgradeHandler): () => void {
  const own = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (isRoomcastPath(req.url)) handle(req, res);
    else for (const listener of own) listener.call(server, req, res);
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node destroys an upgrade nobody listens to; with ours the only listener, refuse it plainly.
    if (!upgrade(req, socket, head) && server.listenerCount('upgrade') === 1) refuseUpgrade(socket, '404 Not Found');
  };
  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
  return () => {
    server.off('request', onRequest);
    server.off('upgrade', onUpgrade);
    for (const listener of own) server.on('request', listener);
  };
}
