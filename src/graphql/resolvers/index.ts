import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../../generated/resolvers.js';
import { HistoryGap, Message, RoomEvent } from './message.js';
import { Mutation } from './mutation.js';
import { Query } from './query.js';
import { Subscription } from './subscription.js';

export const resolvers: Resolvers = {
  JSON: JSONResolver,
  DateTime: DateTimeResolver,
  Query,
  Mutation,
  Subscription,
  Message,
  HistoryGap,
  RoomEvent,
};
