/**
 * Roomcast as a library (`import { createRoomcast } from 'roomcast'`): the server `npm start` runs,
 * composed by the same code (server.ts), inside another Node service. It listens on its own port,
 * attaches to an existing node:http server, or mounts in Express or Fastify through a Node request
 * handler and an 'upgrade' listener; `authorize` puts the application's own rule in place of the
 * token capabilities. docs/library.md has an example of each.
 */
import type { Server } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { Logger as PinoLogger } from 'pino';
import { ConfigError, type Config } from './config.js';
import { adoptPino, createLogger, type LogLevel, type Logger } from './log.js';
import { attachTo, requestHandler, upgradeHandler, type RequestHandler, type UpgradeHandler } from './library/mount.js';
import { configFromSettings, type RoomcastSettings } from './library/settings.js';
import type { AuthorizeHook } from './auth/policy.js';
import { composeServer } from './server.js';

export { ConfigError } from './config.js';
export type { AuthorizeHook, RoomcastIdentity } from './auth/policy.js';
export type { Operation } from './auth/capability.js';
export type { LogLevel } from './log.js';
export type { NextFunction, RequestHandler, UpgradeHandler } from './library/mount.js';
export type { RoomcastSettings } from './library/settings.js';

export interface RoomcastOptions extends RoomcastSettings {
  /**
   * Your authorization rule, asked before every room operation on every transport (and again for
   * live subscriptions when a connection's token is replaced), instead of the token capabilities.
   * Identity still comes from the token check (`authJwtSecret`, …).
   */
  authorize?: AuthorizeHook;
  /** Envelop plugins, run for every operation on every transport after Roomcast's own. */
  plugins?: readonly Plugin[];
  /** A pino logger (Roomcast logs through a child of it, with tokens redacted) or a level; default: `logLevel`. */
  logger?: PinoLogger | LogLevel;
}

export interface Roomcast {
  /**
   * A Node request handler, Express middleware shaped: serves `/graphql` (and under it); any other
   * path goes to `next()`, or gets a 404 without one. Mount it before body parsers.
   */
  readonly handler: RequestHandler;
  /** An 'upgrade' listener: takes WebSocket upgrades to `/graphql` (true), leaves others alone (false). */
  readonly upgrade: UpgradeHandler;
  /** Serves `/graphql` and its WebSocket on an existing server; its other routes keep working. */
  attach(server: Server): void;
  /** Listens on its own port (`port`, `host`). */
  listen(): Promise<{ url: string; port: number; httpServer: Server }>;
  /**
   * Stops everything it started, gracefully (WebSockets closed with 1012 over `drainMs`, requests in
   * flight finished, event streams ended, Redis quit), and gives attached servers back their routes.
   */
  close(): Promise<void>;
}

/** Builds the server and connects its broker; ConfigError names a bad option. */
export async function createRoomcast(options: RoomcastOptions = {}): Promise<Roomcast> {
  const { authorize, plugins, logger, ...settings } = options;
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw new ConfigError('invalid options: authorize must be a function (identity, operation, room) => boolean | Promise<boolean>');
  }
  const config = configFromSettings(typeof logger === 'string' ? { ...settings, logLevel: logger } : settings);
  const log = loggerOf(logger, config);
  const composed = await composeServer(config, log, { plugins, authorize });
  const handler = requestHandler(composed.httpServer, log);
  const upgrade = upgradeHandler(composed.httpServer);
  const detachments: (() => void)[] = [];
  return {
    handler,
    upgrade,
    attach: (server) => void detachments.push(attachTo(server, handler, upgrade)),
    listen: async () => {
      const { url, port, httpServer } = await composed.listen();
      return { url, port, httpServer };
    },
    close: async () => {
      // Drained first: meanwhile `/graphql` still answers (not ready, no new WebSockets).
      await composed.close();
      for (const detach of detachments.splice(0)) detach();
    },
  };
}

function loggerOf(logger: RoomcastOptions['logger'], config: Config): Logger {
  const base = { replica: config.replicaId };
  if (logger === undefined || typeof logger === 'string') return createLogger(config.logLevel, base);
  if (typeof logger !== 'object' || typeof logger.child !== 'function' || typeof logger.info !== 'function') {
    throw new ConfigError('invalid options: logger must be a pino logger or a level (debug, info, warn, error, silent)');
  }
  return adoptPino(logger, base);
}
