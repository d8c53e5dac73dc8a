/**
 * The HTTP side, all on Yoga: queries and mutations (GET/POST), subscriptions over server-sent
 * events, GraphiQL (served from an installed package, so it works offline; its subscriptions run
 * over the WebSocket), `/graphql/schema.graphql` (the SDL, for client codegen), `/healthz` (the
 * process is up), `/readyz` (the broker can store publishes) and `/readyz/replica` (this replica's own
 * state only: not draining; what load balancers and Kubernetes readiness probes check).
 */
import { printSchema } from 'graphql';
import { createYoga, useReadinessCheck, type GraphiQLOptions, type Plugin, type YogaLogger } from 'graphql-yoga';
import { identify, partyOf, type AuthSource } from '../auth/requests.js';
import type { AuthServices } from '../auth/services.js';
import type { Broker } from '../broker/broker.js';
import { useOperationLimits } from '../graphql/armor.js';
import type { GraphQLContext } from '../graphql/context.js';
import { resumeCursorOf, useCursorExtension } from '../graphql/resume.js';
import { createRoomcastSchema } from '../graphql/schema.js';
import { useSourceStreams } from '../graphql/source-stream.js';
import { useErrorCodes } from '../graphql/error-codes.js';
import { useCompiledMutations } from '../graphql/compiled.js';
import { parseCaches, useValidationCache } from '../graphql/operation-cache.js';
import { useErrorLog } from '../graphql/error-log.js';
import { maskError, type ReportedErrors } from '../graphql/errors.js';
import type { RoomDirectory } from '../inspector/directory.js';
import type { LimitSource, Limits } from '../limits/index.js';
import { lazyChild, type Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Presence } from '../presence/index.js';
import { useHttpRequestRules } from './http-requests.js';
import { useBufferedBody } from './node-http.js';
import { useOrigins, type OriginPolicy } from './origins.js';
import type { RequestServerContext } from './request-id.js';
import { useNoIntrospection, useSchemaSdl } from './schema-sdl.js';
import { useResumableSse, useUnsentStreamRelease } from './sse.js';

export const GRAPHQL_PATH = '/graphql';
/** Kubernetes' `/readyz/<check>` convention (kube-apiserver): one named check of the whole `/readyz`. */
const REPLICA_READY_PATH = '/readyz/replica';

export interface HttpOptions {
  readonly broker: Broker;
  readonly presence: Presence;
  readonly auth: AuthServices;
  /** Answers `/readyz`: false while the server drains or the broker cannot store publishes. */
  readonly ready: () => Promise<boolean>;
  /**
   * Answers `/readyz/replica`: false while this replica drains, whatever the shared Redis does. A Redis
   * blip fails `/readyz` on every replica at once; a balancer that routed on it would empty its pool.
   */
  readonly replicaReady: () => boolean;
  readonly maxPayloadBytes: number;
  /** Most rooms one `messagesIn` may list (MAX_ROOMS_PER_SUBSCRIPTION). */
  readonly maxRoomsPerSubscription: number;
  /** Largest request body: Yoga answers 413 past it. */
  readonly maxBodyBytes: number;
  readonly log: Logger;
  /** CORS_ORIGINS: which pages may call from a browser (origins.ts). */
  readonly originPolicy: OriginPolicy;
  /** GRAPHIQL: serve the GraphiQL page. */
  readonly graphiql: boolean;
  /** INTROSPECTION: answer introspection and serve the SDL. */
  readonly introspection: boolean;
  /** Rate limits, connections per address, the history budget, the client's address (limits/). */
  readonly limits: Limits;
  /** More envelop plugins, run on every transport (HTTP, SSE, WebSocket), after Roomcast's own. */
  readonly plugins?: readonly Plugin[];
  /** Event streams open, frames delivered over them (metrics/). */
  readonly metrics?: Metrics | undefined;
  /** The rooms of every replica, for the inspector's queries (inspector/); undefined with INSPECTOR=off. */
  readonly inspector?: RoomDirectory | undefined;
}

const exampleQuery = `# Open a second tab, subscribe there, then run the mutation here.
subscription Lobby {
  messages(room: "lobby") {
    __typename
    ... on Message { seq event data publishedAt cursor }
    ... on HistoryGap { after missed }
  }
}

mutation Say {
  publish(room: "lobby", event: "chat", data: { text: "hello" }) { seq cursor }
}
`;

export function createHttpHandler(options: HttpOptions) {
  const { broker, auth, ready, maxPayloadBytes, maxBodyBytes, log, plugins = [] } = options;
  const schema = createRoomcastSchema();
  const reported: ReportedErrors = new WeakSet();
  return createYoga<RequestServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    // Every transport builds its context here: HTTP (both paths), SSE, and each WebSocket operation.
    context: async (initial) => {
      const identity = await identify(auth.authenticator, initial);
      // The request's logger (request-id.ts) or the WebSocket connection's (ws.ts), naming the user.
      const operationLog = (initial as { log?: Logger }).log ?? log;
      return {
        log: identity.user === null ? operationLog : lazyChild(operationLog, { user: identity.user }),
        broker,
        presence: options.presence,
        maxPayloadBytes,
        maxRoomsPerSubscription: options.maxRoomsPerSubscription,
        ...options.limits.forOperation(initial as LimitSource),
        resumeAfter: resumeCursorOf(initial),
        identity,
        party: partyOf(identity, initial),
        connection: (initial as AuthSource).connection,
        auth,
        inspector: options.inspector,
      };
    },
    logging: yogaLogger(log, reported),
    maskedErrors: { maskError: maskError(reported) },
    maxRequestBodySize: maxBodyBytes,
    parserAndValidationCache: parseCaches(), // with useValidationCache below (graphql/operation-cache.ts)
    landingPage: false,
    healthCheckEndpoint: '/healthz',
    renderGraphiQL: loadAndRenderGraphiQL,
    graphiql: options.graphiql && { title: 'Roomcast', subscriptionsProtocol: 'WS', defaultQuery: exampleQuery },
    cors: false, // origins.ts
    plugins: [
      useValidationCache(),
      useOrigins(options.originPolicy),
      ...options.limits.plugins,
      useReadinessCheck({ endpoint: '/readyz', check: ready }),
      useReadinessCheck({ endpoint: REPLICA_READY_PATH, check: options.replicaReady }),
      ...(options.introspection ? [useSchemaSdl(`${GRAPHQL_PATH}/schema.graphql`, printSchema(schema))] : useNoIntrospection()),
      useCursorExtension(),
      useResumableSse(options.metrics),
      // Before useBufferedBody, which hands the parser it chooses the buffered body.
      useHttpRequestRules(),
      useBufferedBody(),
      useErrorCodes(),
      useErrorLog(reported, log),
      ...useOperationLimits(),
      useCompiledMutations(),
      ...plugins,
      // Last: direct delivery's subscriptions stop at the source stream, after every other onSubscribe.
      useSourceStreams(),
      // Last too: after every other plugin had its chance to send the result.
      useUnsentStreamRelease(),
    ],
  });
}

export type HttpHandler = ReturnType<typeof createHttpHandler>;

/**
 * GraphiQL's page inlines its whole bundle: loading the package holds ~29 MB of strings in the heap,
 * so it is loaded on the first request for the page, not at start-up (most replicas never serve it).
 */
async function loadAndRenderGraphiQL(options: GraphiQLOptions): Promise<string> {
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  return renderGraphiQL(options);
}

/**
 * Yoga's own lines, on the server's logger; the errors it masks, only those not already accounted for
 * (graphql/errors.ts). Not its debug lines: a trace of every request's stages, without the request's
 * id (Yoga's logger is the server's, not the request's), which would only bury the lines that have one.
 */
function yogaLogger(log: Logger, reported: ReportedErrors): YogaLogger {
  const fields = (args: unknown[]) => (args.length > 0 ? { details: args } : undefined);
  return {
    debug: () => {},
    info: (msg: unknown, ...args: unknown[]) => log.info(String(msg), fields(args)),
    warn: (msg: unknown, ...args: unknown[]) => log.warn(String(msg), fields(args)),
    error: (msg: unknown, ...args: unknown[]) => {
      if (typeof msg === 'object' && msg !== null && reported.has(msg)) return;
      // A client that went away mid-request (Node's `aborted`, a reset) is no failure of the server's.
      if ((msg as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET')
        log.debug('a client went away during its request', { error: msg });
      else log.error(String(msg), fields(args));
    },
  };
}
