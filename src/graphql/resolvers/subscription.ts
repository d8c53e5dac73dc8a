import type { SubscriptionResolvers } from '../../generated/resolvers.js';
import type { SubscriptionEvent } from '../../broker/subscription.js';
import { authorize, capabilityKey } from '../../auth/guard.js';
import { at } from '../../deadline.js';
import { ErrorCode, RoomcastError } from '../../errors.js';
import { parseCursor } from '../../rooms/cursor.js';
import type { RoomEvent } from '../../rooms/message.js';
import { BROADCAST_ROOM, parseRoomId } from '../../rooms/names.js';
import type { GraphQLContext } from '../context.js';
import { noteDelivery } from '../resume.js';

async function subscribeRoom(room: string, after: string | null | undefined, { broker, resumeAfter, budget, identity, overWebSocket }: GraphQLContext) {
  authorize(identity, capabilityKey(room), 'subscribe');
  const from = resumeAfter ?? after;
  const subscription = await broker.subscribe(room, from == null ? undefined : parseCursor(from, room), budget);
  // An event stream ends with its token (a WebSocket connection is closed with 4403 instead, ws.ts).
  if (identity.validUntil !== undefined && !overWebSocket) {
    const cancel = at(identity.validUntil, () => subscription.fail(new RoomcastError(ErrorCode.UNAUTHENTICATED, 'token expired')));
    subscription.onClose(cancel);
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
