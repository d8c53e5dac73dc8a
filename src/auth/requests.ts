/**
 * Where tokens travel: `Authorization: Bearer <token>` over HTTP; `?token=` on a GET event stream
 * (an EventSource cannot set headers); `connectionParams.authToken` or `.Authorization` at a
 * WebSocket's connection_init. Tokens are read here and handed to the authenticator; nothing logs them.
 */
import { badUserInput, ErrorCode, RoomcastError } from '../errors.js';
import { CLIENT_ID_HEADER, isClientId, parseClientId, partyKey } from '../rooms/party.js';
import { AuthError, type Authenticator, type Identity } from './authenticator.js';
import type { ConnectionSession } from './sessions.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** The initial context a transport gives Yoga; only the parts authentication looks at. */
export interface AuthSource {
  readonly request?: { readonly method: string; readonly url: string; readonly headers: { get(name: string): string | null } };
  /** Set by the WebSocket transport: its connection's session, with the identity it proved. */
  readonly connection?: ConnectionSession;
}

/**
 * The party key of an operation (rooms/party.ts), for `excludeSelf` and the subscriptions it skips:
 * the WebSocket connection's client id, or the X-Roomcast-Client-Id header over HTTP (BAD_USER_INPUT
 * when invalid, used or not); undefined over HTTP without the header. Owned by the identity's sub.
 */
export function partyOf(identity: Identity, source: AuthSource): string | undefined {
  if (source.connection) return partyKey(identity.user, source.connection.clientId);
  const header = source.request?.headers.get(CLIENT_ID_HEADER);
  return header == null ? undefined : partyKey(identity.user, parseClientId(header));
}

/**
 * The client id a WebSocket client sent in connection_init (`connectionParams.clientId`): undefined
 * when it sent none; a RoomcastError (BAD_USER_INPUT) when it is not 1-64 characters of the room-id set.
 */
export function connectionClientId(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const clientId = params?.clientId;
  if (clientId === undefined || clientId === null) return undefined;
  // Short: the message is the close reason, which must fit in 123 bytes.
  if (!isClientId(clientId)) throw badUserInput('invalid clientId: 1-64 characters of A-Z a-z 0-9 _ . : -');
  return clientId;
}

/** The identity of an HTTP request (or the WebSocket connection's); UNAUTHENTICATED for a bad token. */
export async function identify(authenticator: Authenticator, source: AuthSource): Promise<Identity> {
  if (source.connection) return source.connection.identity;
  if (!authenticator.enabled || !source.request) return authenticator.anonymous;
  const token = requestToken(source.request);
  return token === undefined ? authenticator.anonymous : verifyOrRefuse(authenticator, token);
}

function requestToken(request: NonNullable<AuthSource['request']>): string | undefined {
  const header = request.headers.get('authorization');
  if (header !== null) return bearer(header);
  if (request.method === 'GET' && request.headers.get('accept')?.includes('text/event-stream')) {
    return new URL(request.url).searchParams.get('token') ?? undefined;
  }
  return undefined;
}

function bearer(value: string): string {
  const match = BEARER.exec(value);
  if (!match) throw new RoomcastError(ErrorCode.UNAUTHENTICATED, 'Authorization must be "Bearer <token>"');
  return match[1]!;
}

async function verifyOrRefuse(authenticator: Authenticator, token: string): Promise<Identity> {
  try {
    return await authenticator.verify(token);
  } catch (error) {
    if (error instanceof AuthError) throw new RoomcastError(ErrorCode.UNAUTHENTICATED, `invalid token: ${error.message}`);
    throw error;
  }
}

/**
 * The token a WebSocket client sent in connection_init: `authToken` (Apollo's convention) or
 * `Authorization` (`Bearer <token>`). Undefined when it sent none.
 */
export function connectionToken(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const authToken = params?.authToken;
  if (typeof authToken === 'string' && authToken !== '') return authToken;
  const authorization = params?.Authorization ?? params?.authorization;
  if (typeof authorization === 'string') return bearer(authorization);
  return undefined;
}
