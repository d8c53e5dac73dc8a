/**
 * The one authorization check, made by the resolvers of every room operation (so it holds on every
 * transport: they all execute through Yoga's envelop). It looks only at the identity and the room,
 * never at the room's state: the answer is the same whether or not the room exists.
 *
 * The identity's policy decides (policy.ts): its capability, or an embedder's authorize hook, which
 * may be asynchronous. So `authorize` returns a promise, always: await it before doing anything.
 */
import { ErrorCode, RoomcastError } from '../errors.js';
import { BROADCAST_ROOM } from '../rooms/names.js';
import type { Identity } from './authenticator.js';
import { allows, BROADCAST_KEY, type Operation } from './capability.js';

/** The capability key of a room: its id, or `@broadcast` for the broadcast stream. */
export const capabilityKey = (room: string): string => (room === BROADCAST_ROOM ? BROADCAST_KEY : room);

/**
 * Resolves when `identity` may do `operation` on `key`; rejects with UNAUTHENTICATED (no token, and
 * anonymous clients may not), FORBIDDEN (the token does not allow it) or, when an authorize hook
 * failed, UNAVAILABLE.
 */
export async function authorize(identity: Identity, key: string, operation: Operation): Promise<void> {
  if (!(await decide(identity, key, operation))) throw refusal(identity, key, operation);
}

/** Whether the identity's policy allows it: a boolean at once with capabilities, a promise with a hook. */
export function decide(identity: Identity, key: string, operation: Operation): boolean | Promise<boolean> {
  return identity.decide ? identity.decide(identity, key, operation) : allows(identity.capability, key, operation);
}

/** The error of a refusal: UNAUTHENTICATED for an anonymous identity, FORBIDDEN for a token's. */
function refusal(identity: Identity, key: string, operation: Operation): RoomcastError {
  const what = `${operation} on ${JSON.stringify(key)}`;
  if (identity.anonymous) {
    return new RoomcastError(
      ErrorCode.UNAUTHENTICATED,
      `${what} needs a token (Authorization: Bearer <token>, or ?token= on a GET event stream)`,
    );
  }
  return new RoomcastError(ErrorCode.FORBIDDEN, `the token does not allow ${what}`);
}
