/**
 * Parties, for `excludeSelf`: a client id (connectionParams.clientId on a WebSocket, the
 * X-Roomcast-Client-Id header over HTTP, or a random one the server gives a WebSocket connection
 * without one), owned by the token's `sub` when auth is on. A message published with `excludeSelf`
 * carries its publisher's party key, and subscriptions of the same party skip it.
 */
import { randomUUID } from 'node:crypto';
import { badUserInput } from '../errors.js';

/** The room-id character set, 1-64 characters: no space, so the key below is unambiguous. */
const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export const CLIENT_ID_HEADER = 'x-roomcast-client-id';

export function isClientId(value: unknown): value is string {
  return typeof value === 'string' && CLIENT_ID.test(value);
}

/** A client id from a header or connection parameter; BAD_USER_INPUT when it is not one. */
export function parseClientId(value: string): string {
  if (!CLIENT_ID.test(value)) {
    throw badUserInput(
      `the client id (X-Roomcast-Client-Id or connectionParams.clientId) must be 1-64 characters of A-Z a-z 0-9 _ . : - (got ${value.length > 40 ? `${value.length} characters` : JSON.stringify(value)})`,
    );
  }
  return value;
}

/** For a connection that sent no client id. */
export function randomClientId(): string {
  return `server-${randomUUID()}`;
}

/**
 * The pair (sub or none, clientId) as one string: the client id first (it has no space), then the
 * sub after a space when there is one, so no two pairs give the same key whatever a sub holds.
 */
export function partyKey(sub: string | null, clientId: string): string {
  return sub === null ? clientId : `${clientId} ${sub}`;
}
