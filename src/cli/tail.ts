/**
 * `roomcast tail <room> [--after <cursor>]`: the room's events as they come, one JSON line each
 * (Message and HistoryGap), over the WebSocket with @roomcast/client. It outlives the server: when
 * the connection drops or the server restarts, it reconnects by itself, forever (125 ms to 10 s
 * apart), and resumes right after the last message it printed, so nothing is missed or printed
 * twice; a HistoryGap line says when that was not possible. Only the server's refusals end it (a bad
 * room or cursor, a token refused: exit 1), and SIGINT or SIGTERM (exit 0).
 */
import { createRoomcastClient, type RoomcastClient } from '@roomcast/client';
import WebSocket from 'ws';
import { CONNECTION_OPTIONS, HELP_OPTION, parse, positionals } from './args.js';
import { endpoint } from './endpoint.js';
import { CliError, ExitCode } from './failure.js';
import { BROADCAST_ROOM, TAIL, TAIL_BROADCASTS } from './operations.js';
import { note, printLine } from './output.js';
import { TAIL_USAGE } from './usage.js';

const OPTIONS = { ...CONNECTION_OPTIONS, ...HELP_OPTION, after: { type: 'string' } } as const;

type GraphQLErrorLike = { message?: unknown; extensions?: { code?: unknown } };

export async function tail(args: readonly string[]): Promise<void> {
  const parsed = parse(args, OPTIONS, TAIL_USAGE);
  if (parsed.values.help) return void process.stdout.write(TAIL_USAGE);
  const [room] = positionals(parsed, ['<room>'], TAIL_USAGE) as [string];
  const target = endpoint(parsed.values, TAIL_USAGE);
  const client = createRoomcastClient({
    url: target.wsUrl,
    webSocketImpl: WebSocket,
    // Not getToken: a fixed token cannot be refreshed, so a 4403 (expired, revoked) ends the tail.
    connectionParams: target.token === undefined ? {} : { authToken: target.token },
  });
  const stopNotes = connectionNotes(client, target.wsUrl);
  const after = parsed.values.after;
  const payload = room === BROADCAST_ROOM ? { query: TAIL_BROADCASTS, variables: { after } } : { query: TAIL, variables: { room, after } };
  try {
    await untilEnded(client, payload);
  } finally {
    stopNotes();
    await client.dispose();
  }
}

/** Prints every event until the server ends the subscription, refuses it, or a signal stops it. */
function untilEnded(client: RoomcastClient, payload: { query: string; variables: Record<string, unknown> }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stop = () => {
      unsubscribe();
      resolve();
    };
    const unsubscribe = client.subscribe<{ event: unknown }>(payload, {
      next: (result) => {
        if (result.errors?.length) reject(refusal(result.errors));
        else printLine(result.data?.event);
      },
      error: (error) => reject(ended(error)),
      complete: () => resolve(),
    });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

function refusal(errors: readonly GraphQLErrorLike[]): CliError {
  const [first] = errors;
  const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : 'ERROR';
  return new CliError(code, errors.map((error) => String(error.message)).join('; '), ExitCode.REFUSED);
}

/** What ended the subscription: the operation's errors, or a close the client does not retry (4403). */
function ended(error: unknown): CliError {
  if (Array.isArray(error)) return refusal(error as GraphQLErrorLike[]);
  const close = error as { code?: unknown; reason?: unknown } | null;
  if (typeof close?.code === 'number') {
    return new CliError(
      String(close.code),
      typeof close.reason === 'string' && close.reason !== '' ? close.reason : 'the server closed the connection',
      ExitCode.REFUSED,
    );
  }
  return new CliError('ERROR', error instanceof Error ? error.message : String(error), ExitCode.REFUSED);
}

/**
 * Tells the person watching (on stderr) why nothing comes: once when the server cannot be reached at
 * first, once per lost connection, once when it is back. Silent while it keeps retrying.
 */
function connectionNotes(client: RoomcastClient, url: string): () => void {
  let everConnected = false;
  let connected = false;
  let told = false;
  const offs = [
    client.on('connected', () => {
      if (told) note(`connected to ${url}; resuming`);
      everConnected = connected = true;
      told = false;
    }),
    client.on('closed', (event) => {
      if (!connected) return;
      connected = false;
      told = true;
      const { code, reason } = event as { code?: unknown; reason?: unknown };
      const why = typeof reason === 'string' && reason !== '' ? ` ${reason}` : '';
      note(`connection to ${url} lost (${String(code)}${why}); reconnecting until interrupted`);
    }),
    client.on('error', (error) => {
      if (everConnected || told) return;
      told = true;
      note(`cannot connect to ${url} (${String((error as { message?: unknown }).message ?? error)}); retrying until interrupted`);
    }),
  ];
  return () => offs.forEach((off) => off());
}
