/**
 * How the CLI fails: one line on stderr, `roomcast: <CODE>: <message>`, and an exit code a script
 * can branch on. CODE is the server's `extensions.code` when the server refused (BAD_USER_INPUT,
 * UNAUTHENTICATED, ...), a WebSocket close code when the server closed the connection (4403), or
 * the CLI's own word when the server never answered (UNREACHABLE) or the command line is wrong (USAGE).
 */
export const ExitCode = {
  OK: 0,
  /** The server (or Redis, through the publisher) refused or failed the operation. */
  REFUSED: 1,
  /** The command line is wrong: unknown command or flag, missing or malformed argument. */
  USAGE: 2,
  /** The server could not be reached (refused, DNS, no answer in time): nothing was refused, retrying may help. */
  UNREACHABLE: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: ExitCode,
    /** Printed after the error line: the command's usage, for a usage error. */
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string, usage?: string): CliError => new CliError('USAGE', message, ExitCode.USAGE, usage);

/** Writes the error's line (and hint) to stderr; the exit code to leave with. */
export function report(error: unknown): ExitCode {
  if (error instanceof CliError) {
    process.stderr.write(`roomcast: ${error.code}: ${error.message}\n${error.hint ? `\n${error.hint}` : ''}`);
    return error.exitCode;
  }
  // A bug of the CLI's own: say so with the stack, rather than pretend the server refused.
  process.stderr.write(`roomcast: INTERNAL: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return ExitCode.REFUSED;
}

/** The reason a request never reached the server: fetch hides it in `cause` (ECONNREFUSED, ENOTFOUND). */
export function networkReason(error: unknown): string {
  const cause = (error as { cause?: { message?: unknown; code?: unknown } } | null)?.cause;
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}
