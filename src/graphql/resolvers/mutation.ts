import type { MutationResolvers } from '../../generated/resolvers.js';
import { authorize, capabilityKey } from '../../auth/guard.js';
import { observedPublish } from '../../metrics/metrics.js';
import { parseIdempotencyKey } from '../../rooms/idempotency.js';
import { encodeData } from '../../rooms/message.js';
import { BROADCAST_ROOM, parseEventName, parseRoomId } from '../../rooms/names.js';
import type { GraphQLContext } from '../context.js';

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
  await authorize(identity, capabilityKey(room), 'publish');
  const eventName = parseEventName(event);
  const dataJson = encodeData(data, maxPayloadBytes);
  const key = parseIdempotencyKey(idempotencyKey);
  await limits.admitPublish(identity.user);
  // Without a party (HTTP without X-Roomcast-Client-Id) there is no subscription of the caller's to skip.
  return broker.publish(room, eventName, dataJson, identity.user ?? undefined, key, excludeSelf ? party : undefined);
}

export const Mutation: MutationResolvers = {
  publish: (_root, args, context) =>
    observedPublish(context.broker, () =>
      publishAs(context, parseRoomId(args.room), args.event, args.data, args.idempotencyKey, args.excludeSelf),
    ),
  broadcast: (_root, args, context) =>
    observedPublish(context.broker, () => publishAs(context, BROADCAST_ROOM, args.event, args.data, args.idempotencyKey, args.excludeSelf)),
};
