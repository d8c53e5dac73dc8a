import type { HistoryGapResolvers, MessageResolvers, RoomEventResolvers } from '../../generated/resolvers.js';
import { encodeCursor } from '../../rooms/cursor.js';
import { isHistoryGap } from '../../rooms/message.js';

export const Message: MessageResolvers = {
  cursor: (message) => encodeCursor(message),
  publishedAt: (message) => new Date(message.publishedAt),
};

export const HistoryGap: HistoryGapResolvers = {};

export const RoomEvent: RoomEventResolvers = {
  __resolveType: (event) => (isHistoryGap(event) ? 'HistoryGap' : 'Message'),
};
