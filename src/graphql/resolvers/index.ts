import type { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import type { Resolvers } from '../../generated/resolvers.js';
import { InspectQuery } from './inspect.js';
import { HistoryGap, Message, RoomEvent } from './message.js';
import { Mutation } from './mutation.js';
import { PresenceQuery, PresenceSubscription } from './presence.js';
import { Query } from './query.js';
import { Session, SessionMutations } from './session.js';
import { Subscription } from './subscription.js';

export const resolvers: Resolvers = {
  JSON: behaviourOf(JSONResolver),
  DateTime: behaviourOf(DateTimeResolver),
  Query: { ...Query, ...PresenceQuery, ...InspectQuery },
  Mutation: { ...Mutation, ...SessionMutations },
  Subscription: { ...Subscription, ...PresenceSubscription },
  Message,
  HistoryGap,
  Session,
  RoomEvent,
};

/**
 * A graphql-scalars type without its description: graphql-tools copies every property of a scalar
 * resolver onto the schema's type, and the description clients see is ours (schema/scalars.graphql).
 */
function behaviourOf(scalar: GraphQLScalarType): GraphQLScalarType {
  const { description: _ours, ...behaviour } = scalar;
  return behaviour as GraphQLScalarType;
}
