/** The client of each protocol. */
import type { ClientProtocol, Connect } from './connection.js';
import { connectGraphqlWs } from './graphql-ws.js';
import { connectRawWs } from './raw-ws.js';
import { connectSocketIo } from './socketio.js';

export const connectors: Record<ClientProtocol, Connect> = {
  'graphql-ws': connectGraphqlWs,
  'raw-ws': connectRawWs,
  socketio: connectSocketIo,
};
