import { createRoomcastClient, type RoomcastClient } from '@roomcast/client';
import { Client, fetchExchange, subscriptionExchange, type Operation } from 'urql';
import { httpUrl, wsUrl } from './config';

export interface ChatClients {
  /** The WebSocket: subscriptions resume after every reconnect; its clientId is who `excludeSelf` spares. */
  readonly ws: RoomcastClient;
  readonly urql: Client;
}

/** Operations that must share the WebSocket with the subscriptions (see use-presence.ts). */
const overWebSocket = (operation: Operation) => operation.kind === 'subscription' || operation.context.viaWebSocket === true;

/** A client id that shows who is present: the name's allowed characters and a random suffix. */
export function clientIdFor(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.:-]/g, '').slice(0, 40) || 'guest';
  return `${safe}.${crypto.randomUUID().slice(0, 8)}`;
}

export function createChatClients(clientId: string): ChatClients {
  const ws = createRoomcastClient({ url: wsUrl, clientId });
  const urql = new Client({
    url: httpUrl,
    // Mutations go over HTTP: excludeSelf knows this client there by the same id as on the WebSocket.
    fetchOptions: { headers: { 'X-Roomcast-Client-Id': clientId } },
    exchanges: [
      subscriptionExchange({
        isSubscriptionOperation: overWebSocket,
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
      fetchExchange,
    ],
  });
  return { ws, urql };
}
