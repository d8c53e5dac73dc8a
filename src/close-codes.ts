/**
 * The WebSocket close codes a client can see: graphql-ws's protocol codes, plus Roomcast's own.
 */
import { CloseCode } from 'graphql-ws';

export { CloseCode };

export const RoomcastCloseCode = {
  /** The server is restarting or shutting down: reconnect (to another replica) and resume. */
  ServiceRestart: 1012,
  /** The replica holds MAX_CONNECTIONS connections: retry later, or elsewhere. */
  TryAgainLater: 1013,
  /** The client read too slowly and its undelivered messages exceeded MAX_BUFFERED_BYTES: resume later. */
  SlowConsumer: 4008,
  /** The connection's token is invalid, expired or revoked (the reason says which): reconnect with a fresh one. */
  Forbidden: 4403,
  /** connection_init carried an invalid `connectionParams.clientId` (the reason says why): fix it, do not retry as is. */
  BadRequest: 4400,
} as const;

/** The longest close reason a WebSocket close frame carries: 123 bytes of UTF-8 (RFC 6455, 5.5). */
const REASON_BYTES = 123;

/**
 * A close reason that fits a close frame: ws throws for a longer one, which would turn a 4403 or 4400
 * into a 4500. Reasons quote what a client or a token sent (a room pattern, an operation id), so they
 * can be long; cut at a character boundary, with an ellipsis.
 */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= REASON_BYTES) return text;
  let cut = text.slice(0, REASON_BYTES - 3);
  while (Buffer.byteLength(cut) > REASON_BYTES - 3) cut = cut.slice(0, -1);
  return `${cut}…`;
}
