import { ApolloClient, HttpLink, InMemoryCache, split } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { getMainDefinition } from '@apollo/client/utilities';
import { createRoomcastClient } from '@roomcast/client';
import { Kind, OperationTypeNode } from 'graphql';
import { httpUrl, wsUrl } from './config';

/** The WebSocket: every subscription resumes from its last cursor after a reconnect. */
export const ws = createRoomcastClient({ url: wsUrl });

const isSubscription = ({ query }: { query: Parameters<typeof getMainDefinition>[0] }) => {
  const definition = getMainDefinition(query);
  return definition.kind === Kind.OPERATION_DEFINITION && definition.operation === OperationTypeNode.SUBSCRIPTION;
};

export const apollo = new ApolloClient({
  link: split(isSubscription, new GraphQLWsLink(ws), new HttpLink({ uri: httpUrl })),
  // Messages have no id: each result is kept whole, not normalized.
  cache: new InMemoryCache({ possibleTypes: { RoomEvent: ['Message', 'HistoryGap'] } }),
});
