/**
 * The WebSocket side: graphql-ws (`graphql-transport-ws` subprotocol) on a `ws` server sharing the
 * HTTP server's port and path. Every operation is parsed, validated and given its context through
 * Yoga's envelop, so the schema, limits, error masking and plugins are the same as over HTTP and SSE;
 * the events of room subscriptions are then rendered and written by ws-delivery.ts (unless
 * DIRECT_DELIVERY is off). Limits and the slow-consumer policy are enforced per connection here;
 * shutdown drains connections gradually.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  getOperationAST,
  GraphQLError,
  OperationTypeNode,
  type DocumentNode,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
} from 'graphql';
import type { Context, SubscribePayload } from 'graphql-ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { AuthError, type Authenticator } from '../auth/authenticator.js';
import type { AuthServices } from '../auth/services.js';
import { ConnectionSession } from '../auth/sessions.js';
import { connectionClientId, connectionToken } from '../auth/requests.js';
import { createByteBudget, type DeliveryBudget } from '../broker/budget.js';
import { closeReason, RoomcastCloseCode } from '../close-codes.js';
import { badUserInput, ErrorCode, RoomcastError } from '../errors.js';
import { asGraphQLError } from '../graphql/errors.js';
import { withDeadline } from '../deadline.js';
import { codeVariableErrors } from '../graphql/error-codes.js';
import type { WebSocketLimits } from '../limits/index.js';
import { RoomQuota } from '../limits/room-quota.js';
import { lazyChild, type Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { HttpHandler } from './http.js';
import type { OriginPolicy } from './origins.js';
import { refuseUpgrade } from './refuse-upgrade.js';
import { serveProtocol, type SocketExtra } from './ws-adapter.js';
import { DirectDelivery } from './ws-delivery.js';

export interface WebSocketOptions {
  /** Upgrades from pages of other origins are refused (403) when CORS_ORIGINS is set. */
  readonly originPolicy: OriginPolicy;
  readonly keepAliveMs: number;
  readonly connectionInitTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxSubscriptionsPerConnection: number;
  /** Rooms the operations of one connection may listen to at once (MAX_ROOMS_PER_CONNECTION). */
  readonly maxRoomsPerConnection: number;
  readonly maxPayloadBytes: number;
  readonly maxBufferedBytes: number;
  /** Render room events once per group of identical operations and write them straight to sockets. */
  readonly directDelivery: boolean;
  /** MAX_CONNECTIONS_PER_IP (closed with 1013) and SUBSCRIBE_RATE_LIMIT (RATE_LIMITED), limits/. */
  readonly limits: WebSocketLimits;
  /** Frames delivered, closes by code, slow consumers (metrics/). */
  readonly metrics?: Metrics | undefined;
}

export interface WebSocketTransport {
  readonly connectionCount: number;
  /** Refuses new connections, then closes the open ones with 1012, spread evenly over `windowMs`. */
  drain(windowMs: number): Promise<void>;
  /** Closes whatever is left (1001) and stops the server. */
  close(): Promise<void>;
}

type EnvelopedArgs = ExecutionArgs & {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
  /** The operation's setup, over once its result (or failure) is handed to graphql-ws. */
  setup?: Setup;
};

/** `result`, handed over by its setup: ended instead when it is no longer wanted. */
function settling(args: EnvelopedArgs, result: unknown): unknown {
  const { setup } = args;
  if (!setup) return result;
  return Promise.resolve(result).then(
    (value) => setup.handOver(value),
    (error: unknown) => {
      setup.done();
      throw error;
    },
  );
}

/**
 * One operation between its subscribe message and the moment graphql-ws holds its result. A result
 * that arrives after the client completed the operation is ended here: graphql-ws keeps it when the
 * id was taken again meanwhile. (A socket that closed meanwhile is graphql-ws's: it forgets every id.)
 */
class Setup {
  private completed = false;

  constructor(readonly done: () => void) {}

  complete(): void {
    this.completed = true;
  }

  handOver(result: unknown): unknown {
    this.done();
    const stream = result as Partial<AsyncIterator<unknown>> | null;
    if (this.completed && typeof stream?.return === 'function') void stream.return();
    return result;
  }
}

/** A slow consumer's close frame waits behind its unread data; it is cut off if it has not closed by then. */
const SLOW_CONSUMER_GRACE_MS = 1_000;
/** How long a closing socket may take to answer the close frame at shutdown. */
const CLOSE_HANDSHAKE_MS = 1_000;

export function attachWebSocket(
  server: Server,
  yoga: HttpHandler,
  auth: AuthServices,
  log: Logger,
  options: WebSocketOptions,
): WebSocketTransport {
  // noServer: upgrades are routed here by path, and errors of the HTTP server (such as EADDRINUSE)
  // stay the HTTP server's instead of being re-emitted by the WebSocket server.
  // No compression: direct delivery writes pre-built uncompressed frames past ws (ws-delivery.ts).
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes, perMessageDeflate: false });
  const connections = new WeakMap<WebSocket, Connection>();
  /** Per socket, the operations being set up (subscribe received, result not yet handed to graphql-ws). */
  const settingUp = new WeakMap<WebSocket, Map<string, Setup>>();
  const rawSockets = new WeakMap<WebSocket, Duplex>();
  const delivery = new DirectDelivery(options.metrics?.webSocketDelivery);
  let draining = false;

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = pathOf(request.url);
    if (path !== yoga.graphqlEndpoint) {
      refuseUpgrade(socket, path === undefined ? '400 Bad Request' : '404 Not Found');
      return;
    }
    if (draining) {
      refuseUpgrade(socket, '503 Service Unavailable', 'Retry-After: 1\r\n');
      return;
    }
    if (!options.originPolicy.allows(request.headers.origin, request.headers.host)) {
      log.info('refused a WebSocket upgrade from another origin', { origin: request.headers.origin });
      refuseUpgrade(socket, '403 Forbidden');
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      rawSockets.set(ws, socket);
      wss.emit('connection', ws, request);
    });
  };
  server.on('upgrade', onUpgrade);

  /** What a subscribe message runs: errors to send, or the enveloped arguments to execute or subscribe with. */
  const prepare = async (
    ctx: Context<Record<string, unknown>, SocketExtra>,
    id: string,
    params: SubscribePayload,
  ): Promise<readonly GraphQLError[] | EnvelopedArgs> => {
    // graphql-ws has already reserved this operation's id in ctx.subscriptions.
    if (Object.keys(ctx.subscriptions).length > options.maxSubscriptionsPerConnection) {
      return [
        asGraphQLError(
          new RoomcastError(
            ErrorCode.TOO_MANY_SUBSCRIPTIONS,
            `a connection may run at most ${options.maxSubscriptionsPerConnection} operations at once (MAX_SUBSCRIPTIONS_PER_CONNECTION)`,
          ),
        ),
      ];
    }
    const limited = options.limits.refuseOperation(ctx.extra.socket);
    if (limited) return [asGraphQLError(limited)];
    const connection = connections.get(ctx.extra.socket);
    const { execute, subscribe, contextFactory, parse, validate, ...enveloped } = yoga.getEnveloped({
      ...ctx,
      req: ctx.extra.request,
      socket: ctx.extra.socket,
      params,
      operationId: id,
      budget: connection?.budget,
      roomQuota: connection?.roomQuota,
      connection: connection?.session,
      log: connection?.log,
    });
    // envelop types the schema and the results of its parse and validate as any.
    const schema = enveloped.schema as GraphQLSchema;
    let document: DocumentNode;
    try {
      document = parse(params.query) as DocumentNode;
    } catch (error) {
      if (error instanceof GraphQLError) return [error];
      throw error;
    }
    const errors = validate(schema, document) as readonly GraphQLError[];
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
    if (
      options.directDelivery &&
      connection &&
      getOperationAST(document, params.operationName)?.operation === OperationTypeNode.SUBSCRIPTION
    ) {
      // Room events go straight to the socket (ws-delivery.ts); graphql-ws keeps the protocol.
      args.subscribe = (subscribeArgs) => delivery.subscribe(subscribeArgs, subscribe, { ...connection, id });
    }
    return args;
  };

  const protocol = serveProtocol(
    wss,
    {
      connectionInitWaitTimeout: options.connectionInitTimeoutMs,
      onConnect: async (ctx) => {
        const connection = connections.get(ctx.extra.socket);
        return (
          !connection ||
          (identifyClient(connection, ctx.connectionParams) && (await authenticate(connection, ctx.connectionParams, auth.authenticator)))
        );
      },
      // Called for every event delivered without direct delivery: no allocation unless there are errors.
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: webSocketErrors(result.errors) } : undefined),
      onError: (_ctx, _id, _payload, errors) => webSocketErrors(errors),
      execute: (args) => settling(args as EnvelopedArgs, (args as EnvelopedArgs).execute(args)) as never,
      subscribe: (args) => settling(args as EnvelopedArgs, (args as EnvelopedArgs).subscribe(args)) as never,
      onSubscribe: async (ctx, id, params) => {
        // An id whose operation is still being set up (its complete came first) is refused: graphql-ws
        // would take it as free, and keep the first operation's result under it, which nothing ends.
        let pending = settingUp.get(ctx.extra.socket);
        if (!pending) settingUp.set(ctx.extra.socket, (pending = new Map<string, Setup>()));
        if (pending.has(id))
          return [asGraphQLError(badUserInput(`operation id ${JSON.stringify(id.slice(0, 64))} is still being set up: send a new id`))];
        const setup = new Setup(() => pending.delete(id));
        pending.set(id, setup);
        try {
          const prepared = await prepare(ctx, id, params);
          if ('schema' in prepared) prepared.setup = setup;
          else setup.done();
          return prepared;
        } catch (error) {
          setup.done();
          throw error;
        }
      },
    },
    options.keepAliveMs,
    log,
    {
      overBudget: (ws, bufferedBytes) => connections.get(ws)?.overBudget(bufferedBytes) ?? false,
      completed: (ws, id) => settingUp.get(ws)?.get(id)?.complete(),
    },
    options.metrics?.webSocketDelivery,
  );
  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    // Before any refusal below: a refused socket still reads frames until it closes, and ws reports a
    // broken one as an 'error' that, unheard, would end the process.
    ws.on('error', (error) => log.debug('websocket error', { error }));
    if (options.metrics) ws.once('close', (code: number) => options.metrics?.webSocketClose(code));
    if (wss.clients.size > options.maxConnections) {
      log.warn('refused a WebSocket connection: MAX_CONNECTIONS reached', { maxConnections: options.maxConnections });
      ws.close(RoomcastCloseCode.TryAgainLater, 'too many connections');
      return;
    }
    if (!options.limits.admit(ws, request)) return;
    connections.set(ws, connectionOf(ws, rawSockets.get(ws)!, options, auth, log));
    protocol.accept(ws, request);
  });
  wss.on('error', (error) => log.error('websocket server error', { error }));

  return {
    get connectionCount() {
      return wss.clients.size;
    },
    async drain(windowMs) {
      draining = true;
      const sockets = [...wss.clients];
      if (sockets.length === 0) return;
      log.info('draining WebSocket connections', { connections: sockets.length, windowMs });
      // Spread the closes so that thousands of clients do not reconnect to the others in one second.
      const step = windowMs / sockets.length;
      for (const [i, ws] of sockets.entries()) {
        if (i > 0 && step >= 1) await new Promise((resolve) => setTimeout(resolve, step));
        ws.close(RoomcastCloseCode.ServiceRestart, 'server restarting: reconnect and resume');
      }
    },
    async close() {
      draining = true;
      server.off('upgrade', onUpgrade);
      protocol.dispose();
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      // A peer that does not answer the close handshake is cut off rather than waited for (30 s in ws).
      await withDeadline(closed, CLOSE_HANDSHAKE_MS, () => {
        for (const ws of wss.clients) ws.terminate();
      });
      await closed;
    },
  };
}

/**
 * The path of an upgrade's request target, as the HTTP side reads it (a URL's pathname), or undefined
 * for a target no URL parser accepts (`//[`): the upgrade listener must not throw, whatever arrives.
 */
function pathOf(target = '/'): string | undefined {
  try {
    return new URL(target, 'http://localhost').pathname;
  } catch {
    return undefined;
  }
}

/**
 * Errors as a WebSocket client gets them: without `extensions.http`, which Yoga's own errors carry
 * for the HTTP status (over HTTP, Yoga answers with it and drops it from the body); variables that
 * could not be coerced carry BAD_USER_INPUT, including those of subscriptions delivered directly.
 */
function webSocketErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[] {
  codeVariableErrors(errors);
  return errors.map((error) => {
    const formatted: GraphQLFormattedError = typeof error.toJSON === 'function' ? error.toJSON() : error;
    if (!formatted.extensions || !('http' in formatted.extensions)) return formatted;
    const { http: _http, ...extensions } = formatted.extensions;
    return Object.keys(extensions).length > 0 ? { ...formatted, extensions } : withoutExtensions(formatted);
  });
}

function withoutExtensions({ extensions: _extensions, ...error }: GraphQLFormattedError): GraphQLFormattedError {
  return error;
}

interface Connection {
  readonly ws: WebSocket;
  readonly socket: Duplex;
  /** Who the connection is: anonymous until connection_init proves a token (auth/sessions.ts). */
  readonly session: ConnectionSession;
  /** Bounds what subscriptions queue before they are piped to the socket, plus the socket's buffer. */
  readonly budget: DeliveryBudget;
  /** True (and the connection is being cut off) when `bufferedBytes` exceed the budget. */
  readonly overBudget: (bufferedBytes: number) => boolean;
  /** The rooms its operations listen to, within MAX_ROOMS_PER_CONNECTION. */
  readonly roomQuota: RoomQuota;
  /** The server's logger, with this connection's id on every line. */
  readonly log: Logger;
}

/**
 * A connection whose undelivered bytes exceed `limit` is closed with 4008 (slow consumer), and cut
 * off shortly after if its close frame cannot get through; the client resumes later from its cursors.
 */
function connectionOf(ws: WebSocket, socket: Duplex, options: WebSocketOptions, auth: AuthServices, serverLog: Logger): Connection {
  const limit = options.maxBufferedBytes;
  // Every line about this connection carries its id, and its user once a token says who that is.
  const log = lazyChild(serverLog, { connection: randomBytes(6).toString('base64url') });
  const user = () => session.identity.user ?? undefined;
  log.debug('WebSocket connection opened', { address: (socket as { remoteAddress?: string }).remoteAddress });
  let cut = false;
  const cutOff = () => {
    if (cut) return;
    cut = true;
    log.warn('closing a slow consumer', { bufferedBytes: ws.bufferedAmount, limit, user: user() });
    options.metrics?.slowConsumerClose();
    ws.close(RoomcastCloseCode.SlowConsumer, 'slow consumer: resume from your last cursor');
    setTimeout(() => ws.terminate(), SLOW_CONSUMER_GRACE_MS).unref();
  };
  const session: ConnectionSession = new ConnectionSession(auth.authenticator.anonymous, auth.sessions, (reason) => {
    log.info('closing a WebSocket connection', { reason, user: user() });
    ws.close(RoomcastCloseCode.Forbidden, closeReason(reason));
  });
  ws.once('close', (code: number, reason: Buffer) => {
    log.debug('WebSocket connection closed', { code, reason: reason.toString(), user: user() });
    session.dispose();
  });
  return {
    log,
    session,
    ws,
    socket,
    budget: createByteBudget(limit, () => ws.bufferedAmount, cutOff),
    roomQuota: new RoomQuota(options.maxRoomsPerConnection),
    overBudget: (bufferedBytes) => {
      if (bufferedBytes <= limit && !cut) return false;
      cutOff();
      return true;
    },
  };
}

/**
 * Takes the client id a client sent at connection_init (rooms/party.ts); an invalid one closes the
 * connection with 4400 and the reason. None: the connection keeps the random one it was given.
 */
function identifyClient(connection: Connection, params: Readonly<Record<string, unknown>> | undefined): boolean {
  try {
    const clientId = connectionClientId(params);
    if (clientId !== undefined) connection.session.clientId = clientId;
    return true;
  } catch (error) {
    if (!(error instanceof RoomcastError)) throw error;
    connection.log.info('refused a WebSocket connection', { reason: error.message });
    connection.ws.close(RoomcastCloseCode.BadRequest, closeReason(error.message));
    return false;
  }
}

/**
 * Checks the token a client sent at connection_init. A bad one closes the connection with 4403 and
 * the reason (never falling back to anonymous); a good one becomes the connection's identity. No
 * token: anonymous.
 */
async function authenticate(
  connection: Connection,
  params: Readonly<Record<string, unknown>> | undefined,
  authenticator: Authenticator,
): Promise<boolean> {
  if (!authenticator.enabled) return true;
  try {
    const token = connectionToken(params);
    if (token !== undefined) connection.session.identity = await authenticator.verify(token);
    return true;
  } catch (error) {
    if (!(error instanceof AuthError) && !(error instanceof RoomcastError)) throw error;
    const reason = error instanceof AuthError ? `invalid token: ${error.message}` : error.message;
    connection.log.info('refused a WebSocket connection', { reason });
    connection.ws.close(RoomcastCloseCode.Forbidden, closeReason(reason));
    return false;
  }
}
