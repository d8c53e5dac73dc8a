/**
 * Logging, on pino: one JSON object per line, `time` (ISO), `level` (by name), `msg`, then the fields
 * (`replica` on every line; `request` on an HTTP request's lines, `connection` on a WebSocket
 * connection's, and `user` on either's once a token says who). Warnings and
 * errors go to stderr, the rest to stdout. Injected into every component; nothing logs globally.
 * `npm run dev` pipes it through pino-pretty.
 *
 * No token may ever reach a log: nothing logs one, and pino's redaction censors the fields that
 * could carry one, should a future line pass request headers or connection parameters along.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (a connection's id, its user). */
  child(fields: LogFields): Logger;
}

/** Where a token could sit in a field, one or two levels down (headers, connectionParams). */
const TOKEN_FIELDS = ['token', 'authToken', 'authorization', 'Authorization', 'cookie'];
const REDACT = [...TOKEN_FIELDS, ...TOKEN_FIELDS.map((field) => `*.${field}`)];

export function createLogger(level: LogLevel, base: LogFields = {}): Logger {
  const streams = pino.multistream(
    [
      { level: 'debug', stream: process.stdout },
      { level: 'warn', stream: process.stderr },
    ],
    // Each line to the stream of the highest level it reaches: warnings only on stderr.
    { dedupe: true },
  );
  const logger = pino(
    {
      level,
      base,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Errors in fields as their name and message: a stack or a cause could carry what a client sent.
      serializers: { error: errorFields, err: errorFields },
      redact: { paths: REDACT, censor: '[redacted]' },
    },
    streams,
  );
  return wrap(logger);
}

/**
 * An embedder's own pino logger (src/index.ts), as Roomcast's: its lines carry `base`, and the same
 * redaction and error fields as createLogger's, whatever the embedder configured.
 */
export function adoptPino(logger: PinoLogger, base: LogFields = {}): Logger {
  return wrap(
    logger.child(base, { redact: { paths: REDACT, censor: '[redacted]' }, serializers: { error: errorFields, err: errorFields } }),
  );
}

/**
 * `log.child(fields)`, made on its first line: a request's logger costs nothing until something logs
 * (most requests log nothing).
 */
export function lazyChild(log: Logger, fields: LogFields): Logger {
  let child: Logger | undefined;
  const made = () => (child ??= log.child(fields));
  return {
    debug: (msg, more) => made().debug(msg, more),
    info: (msg, more) => made().info(msg, more),
    warn: (msg, more) => made().warn(msg, more),
    error: (msg, more) => made().error(msg, more),
    child: (more) => lazyChild(made(), more),
  };
}

function wrap(logger: PinoLogger): Logger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    child: (fields) => wrap(logger.child(fields)),
  };
}

function errorFields(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}
