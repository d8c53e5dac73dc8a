/**
 * The textbook baseline's schema, in plain graphql-js (GraphQLObjectType and resolvers, no SDL
 * tooling): the part of Roomcast's schema the benchmark uses, so the very same subscription and
 * mutation documents run against both. `seq` counts per room on each replica only: the textbook
 * stack has no shared sequence, and giving it one would add work Roomcast's Lua script does.
 */
import {
  GraphQLBoolean,
  GraphQLID,
  GraphQLInt,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  GraphQLUnionType,
} from 'graphql';
import type { RedisPubSub } from 'graphql-redis-subscriptions';
import { GraphQLJSON } from 'graphql-scalars';

interface Message {
  readonly room: string;
  readonly seq: number;
  readonly event: string;
  readonly data: unknown;
}

export function textbookSchema(pubsub: RedisPubSub): GraphQLSchema {
  const seqs = new Map<string, number>();
  const Message = new GraphQLObjectType<Message>({
    name: 'Message',
    fields: {
      room: { type: new GraphQLNonNull(GraphQLID) },
      seq: { type: new GraphQLNonNull(GraphQLInt) },
      event: { type: new GraphQLNonNull(GraphQLString) },
      data: { type: new GraphQLNonNull(GraphQLJSON) },
    },
  });
  // A union like Roomcast's RoomEvent, so `... on Message` costs the same type resolution per event.
  const RoomEvent = new GraphQLUnionType({ name: 'RoomEvent', types: [Message], resolveType: () => 'Message' });
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: { ok: { type: GraphQLBoolean, resolve: () => true } },
    }),
    mutation: new GraphQLObjectType({
      name: 'Mutation',
      fields: {
        publish: {
          type: new GraphQLNonNull(Message),
          args: {
            room: { type: new GraphQLNonNull(GraphQLID) },
            event: { type: new GraphQLNonNull(GraphQLString) },
            data: { type: new GraphQLNonNull(GraphQLJSON) },
          },
          resolve: async (_root, args: { room: string; event: string; data: unknown }) => {
            const seq = (seqs.get(args.room) ?? 0) + 1;
            seqs.set(args.room, seq);
            const message: Message = { room: args.room, seq, event: args.event, data: args.data };
            await pubsub.publish(args.room, message);
            return message;
          },
        },
      },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        messages: {
          type: new GraphQLNonNull(RoomEvent),
          args: { room: { type: new GraphQLNonNull(GraphQLID) } },
          subscribe: (_root, args: { room: string }) => pubsub.asyncIterator<Message>(args.room),
          resolve: (message: Message) => message,
        },
      },
    }),
  });
}
