/**
 * `Query.presence` and `Subscription.presence`: both need the `presence` capability on the room. Who
 * becomes a member is decided where room subscriptions start (presence/enter.ts), not here.
 */
import type { QueryResolvers, SubscriptionResolvers } from '../../generated/resolvers.js';
import { authorize, capabilityKey } from '../../auth/guard.js';
import { badUserInput, RoomcastError } from '../../errors.js';
import { presenceEvents, type PresenceStreamItem } from '../../presence/stream.js';
import type { PresenceEvent } from '../../presence/types.js';
import { parseRoomId } from '../../rooms/names.js';

const MAX_PRESENCE_LIMIT = 1000;

export const PresenceQuery: Pick<QueryResolvers, 'presence'> = {
  presence: async (_root, args, { presence, identity }) => {
    const room = parseRoomId(args.room);
    await authorize(identity, capabilityKey(room), 'presence');
    const limit = args.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PRESENCE_LIMIT) {
      throw badUserInput(`limit must be from 1 to ${MAX_PRESENCE_LIMIT} (got ${limit})`);
    }
    return presence.read(room, limit);
  },
};

export const PresenceSubscription: Pick<SubscriptionResolvers, 'presence'> = {
  presence: {
    subscribe: async (_root, args, { presence, identity }) => {
      const room = parseRoomId(args.room);
      await authorize(identity, capabilityKey(room), 'presence');
      return presenceEvents(presence, room);
    },
    // A stream that cannot go on (a slow reader) ends with its reason as a GraphQL error.
    resolve: (item: PresenceStreamItem): PresenceEvent => {
      if (item instanceof RoomcastError) throw item;
      return item;
    },
  },
};
