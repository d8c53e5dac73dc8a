/**
 * The one authorization check, made by the resolvers of every room operation (so it holds on every
 * transport: they all execute through Yoga's envelop). It looks only at the identity and the room,
 * never at the room's state: the answer is the same whether or not the room exists.
 */
import { ErrorCode, RoomcastError } from '../errors.js';
import { BROADCAST_ROOM } from '../rooms/names.js';
import type { Identity } from './authenticator.js';
import { allows, BROADCAST_KEY, type Operation } from './capability.js';

/** The capability key of a room: its id, or `@broadcast` for the broadcast stream. */
export const capabilityKey = (room: string): string => (room === BROADCAST_ROOM ? BROADCAST_KEY : room);

/** Throws UNAUTHENTICATED (no token, and anonymous clients may not) or FORBIDDEN (the token does not allow it). */
export function authorize(identity: Identity, key: string, operation: Operation): void {
  if (allows(identity.capability, key, operation)) return;
  const what = `${operation} on ${JSON.stringify(key)}`;
  if (identity.anonymous) {
    throw new RoomcastError(ErrorCode.UNAUTHENTICATED, `${what} needs a token (Authorization: Bearer <token>, or ?token= on a GET event stream)`);
  }
  throw new RoomcastError(ErrorCode.FORBIDDEN, `the token does not allow ${what}`);
}
