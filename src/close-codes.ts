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
