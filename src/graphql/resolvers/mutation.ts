import type { MutationResolvers } from '../../generated/resolvers.js';
import { authorize, capabilityKey } from '../../auth/guard.js';
import { badUserInput, ErrorCode, RoomcastError } from '../../errors.js';
import { parseIdempotencyKey } from '../../rooms/idempotency.js';
import { BROADCAST_ROOM, parseEventName, parseRoomId } from '../../rooms/names.js';
import type { GraphQLContext } from '../context.js';

/** Serializes `data` once, for the size limit and for the broker, which stores it as it is. */
function serializeData(data: unknown, maxBytes: number): string {
  let json: string;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    // Thousands of levels of nesting overflow JSON.stringify's stack.
    if (error instanceof RangeError) throw badUserInput('data is nested too deeply to be stored');
    throw error;
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new RoomcastError(
      ErrorCode.PAYLOAD_TOO_LARGE,
      `data is ${bytes} bytes as JSON; the limit is ${maxBytes} (MAX_PAYLOAD_BYTES)`,
    );
  }
  return json;
}

/**
 * Publishes as the caller: authorized first, with the token's `sub` as the message's sender. A valid
 * and allowed publish then counts against PUBLISH_RATE_LIMIT (limits/), before the broker. An
 * idempotency key is the sender's own: the broker scopes it to (room, sender). With `excludeSelf`, the
 * message carries the caller's party key, and the caller's own subscriptions skip it.
 */
async function publishAs(
  { broker, maxPayloadBytes, identity, limits, party }: GraphQLContext,
  room: string,
  event: string,
  data: unknown,
  idempotencyKey: string | null | undefined,
  excludeSelf: boolean | null | undefined,
) {
  authorize(identity, capabilityKey(room), 'publish');
  const eventName = parseEventName(event);
  const dataJson = serializeData(data, maxPayloadBytes);
  const key = parseIdempotencyKey(idempotencyKey);
  await limits.admitPublish(identity.user);
  // Without a party (HTTP without X-Roomcast-Client-Id) there is no subscription of the caller's to skip.
  return broker.publish(room, eventName, dataJson, identity.user ?? undefined, key, excludeSelf ? party : undefined);
}

export const Mutation: MutationResolvers = {
  publish: (_root, args, context) => publishAs(context, parseRoomId(args.room), args.event, args.data, args.idempotencyKey, args.excludeSelf),
  broadcast: (_root, args, context) => publishAs(context, BROADCAST_ROOM, args.event, args.data, args.idempotencyKey, args.excludeSelf),
};
