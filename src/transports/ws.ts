/**
 * The WebSocket side: graphql-ws (`graphql-transport-ws` subprotocol) on a `ws` server sharing the
 * HTTP server's port and path. Every operation runs through Yoga's envelop, so the schema, context,
 * error masking and every plugin are the same as over HTTP and SSE.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Logger } from '../log.js';
import type { HttpHandler } from './http.js';

export interface WebSocketOptions {
  /** Interval of protocol pings that detect dead peers. @default 12_000 */
  readonly keepAliveMs?: number;
}

export interface WebSocketTransport {
  /** Closes every socket with 1001 (going away) and stops the server. */
  close(): Promise<void>;
}

type EnvelopedArgs = ExecutionArgs & {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
};

export function attachWebSocket(
  server: Server,
  yoga: HttpHandler,
  log: Logger,
  options: WebSocketOptions = {},
): WebSocketTransport {
  // noServer: upgrades are routed here by path, and errors of the HTTP server (such as EADDRINUSE)
  // stay the HTTP server's instead of being re-emitted by the WebSocket server.
  const wss = new WebSocketServer({ noServer: true });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (new URL(request.url ?? '/', 'http://localhost').pathname !== yoga.graphqlEndpoint) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);
  const disposable = useServer(
    {
      execute: (args) => (args as EnvelopedArgs).execute(args) as never,
      subscribe: (args) => (args as EnvelopedArgs).subscribe(args) as never,
      onSubscribe: async (ctx, id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          operationId: id,
        });
        let document;
        try {
          document = parse(params.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [error];
          throw error;
        }
        const errors = validate(schema, document);
        if (errors.length > 0) return errors;
        const args: EnvelopedArgs = {
          schema,
          operationName: params.operationName,
          document,
          variableValues: params.variables,
          contextValue: await contextFactory(),
          execute,
          subscribe,
        };
        return args;
      },
    },
    wss,
    options.keepAliveMs ?? 12_000,
  );
  wss.on('error', (error) => log.error('websocket server error', { error }));
  return {
    async close() {
      server.off('upgrade', onUpgrade);
      await disposable.dispose();
    },
  };
}
