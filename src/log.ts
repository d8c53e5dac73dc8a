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
/** The levels a line can have. */
type LineLevel = Exclude<LogLevel, 'silent'>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (a connection's id, its user). */
  child(fields: LogFields): Logger;
  /** Whether lines of `level` are written at all (LOG_LEVEL). */
  writes(level: LineLevel): boolean;
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
 * `log.child(fields)`, made on its first line at a level the logger writes: a request's or a
 * connection's logger costs one small object until something logs (most log nothing, or only
 * debug lines that an info logger drops), where a pino child costs about 1 KiB per connection.
 */
export function lazyChild(log: Logger, fields: LogFields): Logger {
  return new LazyChild(log, fields);
}

class LazyChild implements Logger {
  private made: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly fields: LogFields,
  ) {}

  debug(msg: string, more?: LogFields): void {
    if (this.writes('debug')) this.real().debug(msg, more);
  }
  info(msg: string, more?: LogFields): void {
    if (this.writes('info')) this.real().info(msg, more);
  }
  warn(msg: string, more?: LogFields): void {
    this.real().warn(msg, more);
  }
  error(msg: string, more?: LogFields): void {
    this.real().error(msg, more);
  }
  writes(level: LineLevel): boolean {
    return this.parent.writes(level);
  }
  child(fields: LogFields): Logger {
    return new LazyChild(this, fields);
  }

  /** The pino child, made once, under its parent's own. */
  private real(): Logger {
    return (this.made ??= (this.parent instanceof LazyChild ? this.parent.real() : this.parent).child(this.fields));
  }
}

function wrap(logger: PinoLogger): Logger {
  return {
    debug: (msg, fields) => logger.debug(fields ?? {}, msg),
    info: (msg, fields) => logger.info(fields ?? {}, msg),
    warn: (msg, fields) => logger.warn(fields ?? {}, msg),
    error: (msg, fields) => logger.error(fields ?? {}, msg),
    child: (fields) => wrap(logger.child(fields)),
    writes: (level) => logger.isLevelEnabled(level),
  };
}

function errorFields(value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}
