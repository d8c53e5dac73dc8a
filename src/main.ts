/**
 * Process entry: configuration, start, and a graceful stop on SIGTERM or SIGINT. `npm start` runs
 * this file (`node dist/main.js`); `roomcast serve` calls {@link runServer} from the CLI.
 *
 * A fault nobody handled (an uncaught exception, an unhandled rejection) is logged through the same
 * logger as every other failure, then the server closes gracefully and the process exits 1. Node's
 * own convention for an uncaught exception is to crash: the process's state is unknown from there,
 * so it must not go on serving. The graceful close on the way out costs at most
 * `SHUTDOWN_TIMEOUT_MS` and lets clients resume elsewhere at once (1012) instead of after a timeout.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { startServer, type RoomcastServer } from './server.js';

/** Starts the server as `npm start` does, and stops the process when it should; never rejects. */
export async function runServer(): Promise<void> {
  try {
    await serve();
  } catch (error) {
    process.stderr.write(`roomcast: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`roomcast: ${error.message}\n`);
    process.exit(1);
  }
  const log = createLogger(config.logLevel, { replica: config.replicaId });
  const exit = processExit(log, config.shutdownTimeoutMs);
  process.on('uncaughtException', (error) => exit.fault('uncaught exception', error));
  process.on('unhandledRejection', (reason) => exit.fault('unhandled rejection', reason));
  const server = await startServer(config, log);
  exit.serving(server);
  process.once('SIGTERM', () => exit.stop('SIGTERM'));
  process.once('SIGINT', () => exit.stop('SIGINT'));
}

interface ProcessExit {
  serving(server: RoomcastServer): void;
  /** A signal: close gracefully, exit 0. */
  stop(signal: string): void;
  /** A fault nobody handled: log it, close gracefully, exit 1. */
  fault(what: string, error: unknown): void;
}

/** The one way out of the process: every cause goes through one graceful close, under one deadline. */
function processExit(log: Logger, shutdownTimeoutMs: number): ProcessExit {
  let server: RoomcastServer | undefined;
  let closing = false;
  let code = 0;
  const close = () => {
    // A fault while already closing makes the exit 1 but starts nothing new.
    if (closing) return;
    closing = true;
    const deadline = setTimeout(() => {
      log.error('shutdown took too long; exiting', { timeoutMs: shutdownTimeoutMs });
      process.exit(1);
    }, shutdownTimeoutMs);
    deadline.unref();
    (server?.close() ?? Promise.resolve()).then(
      () => process.exit(code),
      (error: unknown) => {
        log.error('shutdown failed', { error });
        process.exit(1);
      },
    );
  };
  return {
    serving: (started) => {
      server = started;
    },
    stop: (signal) => {
      log.info('shutting down', { signal });
      close();
    },
    fault: (what, error) => {
      code = 1;
      // Also when the process ends by itself, its loop empty, before close() settles: that is no clean exit.
      process.exitCode = 1;
      log.error(`${what}; shutting down`, { error: faultFields(error) });
      close();
    },
  };
}

/**
 * Name, message and stack: where the fault was is the point of this line. (Other lines log only the
 * name and message, log.ts.) A token must not reach the log even if a message quoted one, so
 * anything shaped like a JWT or a bearer credential is cut out.
 */
function faultFields(error: unknown): { name: string; message: string; stack?: string } {
  if (!(error instanceof Error)) return { name: typeof error, message: scrub(safeString(error)) };
  return { name: error.name, message: scrub(error.message), ...(error.stack ? { stack: scrub(error.stack) } : {}) };
}

const JWT = /\beyJ[\w-]*\.[\w-]*\.[\w-]*/g;
const BEARER = /\b(Bearer\s+)\S+/gi;

function scrub(text: string): string {
  return text.replace(JWT, '[redacted]').replace(BEARER, '$1[redacted]');
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

/** Whether Node runs this file as its program (npm start, npm run dev), not as a module of the CLI. */
function isProgram(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isProgram()) void runServer();
