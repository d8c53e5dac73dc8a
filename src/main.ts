/**
 * Process entry: configuration, start, and a graceful stop on SIGTERM or SIGINT.
 */
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`roomcast: ${error.message}\n`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel, { replica: config.replicaId });
  const server = await startServer(config, log);

  const stop = (signal: string) => {
    log.info('shutting down', { signal });
    const deadline = setTimeout(() => {
      log.error('shutdown took too long; exiting', { timeoutMs: config.shutdownTimeoutMs });
      process.exit(1);
    }, config.shutdownTimeoutMs);
    deadline.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`roomcast: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
