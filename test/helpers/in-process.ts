/**
 * A Roomcast server inside the test process, configured as from the environment, for tests that
 * need no separate process. It is closed by the caller with `close()`.
 */
import { afterAll } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { startServer, type RoomcastServer, type ServerOptions } from '../../src/server.js';

export interface TestServer extends RoomcastServer {
  readonly wsUrl: string;
}

export async function startTestServer(env: Record<string, string> = {}, options: ServerOptions = {}): Promise<TestServer> {
  // No drain window: tests close servers with connections still open and should not wait for it.
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', DRAIN_MS: '0', ...env });
  const server = await startServer(config, createLogger(config.logLevel), options);
  return Object.assign(server, { wsUrl: server.url.replace(/^http/, 'ws') });
}

/**
 * A starter of servers for one test file: each server started with it is closed after the file's
 * tests (`afterAll`), so a test cannot leave one running.
 */
export function serversOfThisFile(defaults: Record<string, string> = {}): (env?: Record<string, string>) => Promise<TestServer> {
  const started: TestServer[] = [];
  afterAll(async () => {
    for (const server of started.splice(0)) await server.close();
  });
  return async (env = {}) => {
    const server = await startTestServer({ ...defaults, ...env });
    started.push(server);
    return server;
  };
}
