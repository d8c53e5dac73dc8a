import type { SubscriptionResolvers } from '../../generated/resolvers.js';
import type { SubscriptionEvent } from '../../broker/subscription.js';
import { authorize, capabilityKey } from '../../auth/guard.js';
import { streamSession } from '../../auth/sessions.js';
import { at } from '../../deadline.js';
import { ErrorCode, RoomcastError } from '../../errors.js';
import { parseCursor } from '../../rooms/cursor.js';
import type { RoomEvent } from '../../rooms/message.js';
import { BROADCAST_ROOM, parseRoomId } from '../../rooms/names.js';
import type { GraphQLContext } from '../context.js';
import { noteDelivery } from '../resume.js';

async function subscribeRoom(room: string, after: string | null | undefined, context: GraphQLContext) {
  const { broker, resumeAfter, budget, identity, connection, auth, party } = context;
  const key = capabilityKey(room);
  authorize(identity, key, 'subscribe');
  const from = resumeAfter ?? after;
  const subscription = await broker.subscribe(room, from == null ? undefined : parseCursor(from, room), budget, party);
  if (connection) {
    // Its connection ends it if a new token no longer allows it; expiry and revocation close the connection.
    connection.track(subscription, key);
  } else {
    // An event stream ends by itself: at its token's expiry, or when its user is revoked.
    if (identity.validUntil !== undefined) {
      subscription.onClose(at(identity.validUntil, () => subscription.fail(new RoomcastError(ErrorCode.UNAUTHENTICATED, 'token expired'))));
    }
    subscription.onClose(auth.sessions.add(streamSession(identity, subscription)));
  }
  return subscription;
}

/** A subscription that cannot go on ends with its reason as a GraphQL error, then completes. */
function resolveEvent(event: SubscriptionEvent, _args: unknown, context: GraphQLContext): RoomEvent {
  if (event instanceof RoomcastError) throw event;
  noteDelivery(context, event);
  return event;
}

export const Subscription: SubscriptionResolvers = {
  messages: {
    subscribe: (_root, args, context) => subscribeRoom(parseRoomId(args.room), args.after, context),
    resolve: resolveEvent,
  },
  broadcasts: {
    subscribe: (_root, args, context) => subscribeRoom(BROADCAST_ROOM, args.after, context),
    resolve: resolveEvent,
  },
};
