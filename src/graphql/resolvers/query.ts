import type { QueryResolvers } from '../../generated/resolvers.js';
import { authorize, capabilityKey } from '../../auth/guard.js';
import { badUserInput } from '../../errors.js';
import { parseCursor } from '../../rooms/cursor.js';
import { parseReadableRoom } from '../../rooms/names.js';

const MAX_HISTORY_LIMIT = 1000;

export const Query: QueryResolvers = {
  session: (_root, _args, { identity }) => identity,
  history: async (_root, args, { broker, identity, limits }) => {
    const room = parseReadableRoom(args.room);
    await authorize(identity, capabilityKey(room), 'history');
    const limit = args.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT) {
      throw badUserInput(`limit must be from 1 to ${MAX_HISTORY_LIMIT} (got ${limit})`);
    }
    const after = args.after == null ? undefined : parseCursor(args.after, room);
    // Within the operation's MAX_RESPONSE_BYTES, summed over its history fields (limits/).
    return limits.readHistory((maxBytes) => broker.history(room, after, limit, maxBytes));
  },
};
