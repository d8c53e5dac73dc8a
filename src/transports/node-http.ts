/**
 * Node's HTTP requests into Yoga, three ways, all through Yoga's own handlers and plugins:
 *
 * - A POST with a JSON body of known length (Content-Length within HTTP_MAX_BODY_BYTES) is read whole.
 *   - From a server-side client (no Origin), with a plain Accept and well-formed parameters, and not
 *     a subscription (a publish from a backend, typically): Yoga's getResultForParams runs it (params
 *     hooks, envelop plugins, execution, result hooks) and Yoga's JSON result processor answers.
 *   - Otherwise it goes to Yoga's fetch handler as a Request (routing, CORS, request checks included).
 * - Everything else (GET, GraphiQL, health checks, event streams, chunked bodies) goes through Yoga's
 *   Node adapter unchanged.
 *
 * Every request is named first (request-id.ts): its id is echoed and is on its log lines.
 *
 * Checks belong in the context factory or in envelop hooks (onParams onwards), which every path
 * runs: Yoga's onRequest hooks do not run for the first kind (test/integration/guarded-path.test.ts).
 *
 * Why: for a publish, the adapter's streaming of bodies through web streams and abort signals, and
 * the request parsing and routing a plain server-side POST does not need, cost more server CPU than
 * the rest of the publish (bench/README.md). test/integration/http.test.ts holds the ways to the same
 * answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendNodeResponse } from '@whatwg-node/server';
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, processRegularResult, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { Logger } from '../log.js';
import type { HttpHandler } from './http.js';
import { GRAPHQL_RESPONSE_JSON, isJsonContentType } from './http-requests.js';
import { requestLog, type RequestServerContext } from './request-id.js';

/** Bodies read by the listener, for the requests it handed to Yoga without one. */
const bodies = new WeakMap<Request, string>();

/**
 * Gives Yoga's own request parser the buffered body. The Request goes in without one, so Yoga's
 * body limit checks only its Content-Length header (which the listener already held to the limit).
 */
export function useBufferedBody(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser, fetchAPI }) {
      const body = bodies.get(request);
      if (body === undefined || !requestParser) return;
      const parse = requestParser;
      setRequestParser(() => parse(new fetchAPI.Request(request.url, { method: 'POST', headers: request.headers, body })));
    },
  };
}

export interface NodeRequestOptions {
  /** Bodies up to this size (by Content-Length) are read whole; Yoga refuses larger ones with 413. */
  readonly maxBodyBytes: number;
  readonly log: Logger;
}

export function nodeRequestListener(
  yoga: HttpHandler,
  { maxBodyBytes, log }: NodeRequestOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const requestLogger = requestLog(req, res, log);
    if (!isBufferable(req, maxBodyBytes)) {
      // Yoga's adapter answers a URL it cannot make (a bad Host) with 500: it is the client's, 400.
      if (urlOf(req) === undefined) res.writeHead(400).end();
      else void yoga(req, res, { log: requestLogger });
      return;
    }
    // Plugins may hand Yoga background work; its failures are logged, never left unhandled.
    const waitUntil = (work: Promise<unknown> | void) =>
      void Promise.resolve(work).catch((error: unknown) => requestLogger.warn('background work of a request failed', { error }));
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      const request = fetchRequestOf(yoga, req);
      if (!request) {
        res.writeHead(400).end();
        return;
      }
      const body = Buffer.concat(chunks).toString();
      const direct = directRequest(req, body, yoga.graphqlEndpoint);
      const serverContext = { req, res, waitUntil, log: requestLogger };
      const answered = direct
        ? respondWithResult(yoga, request, serverContext, direct)
        : respondThroughYoga(yoga, request, serverContext, body);
      answered.catch((error: unknown) => {
        requestLogger.error('could not answer an HTTP request', { error });
        if (res.headersSent) res.destroy();
        else res.writeHead(500).end();
      });
    });
  };
}

/** The request as Yoga sees it, without its body; undefined when its URL cannot be made sense of (bad Host). */
function fetchRequestOf(yoga: HttpHandler, req: IncomingMessage): Request | undefined {
  const url = urlOf(req);
  return url && new yoga.fetchAPI.Request(url, { method: 'POST', headers: headerPairs(req.rawHeaders) });
}

/** The request's URL, or undefined when its target and Host make none. */
function urlOf(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  } catch {
    return undefined;
  }
}

function isBufferable(req: IncomingMessage, maxBodyBytes: number): boolean {
  const { accept, 'content-type': contentType, 'content-length': contentLength } = req.headers;
  return (
    req.method === 'POST' &&
    isJsonContentType(contentType) &&
    contentLength !== undefined &&
    /^\d+$/.test(contentLength) &&
    Number(contentLength) <= maxBodyBytes &&
    !accept?.includes('text/event-stream') &&
    !accept?.includes('multipart/mixed')
  );
}

/** What Yoga's Node adapter gives Yoga's handlers besides the request. */
interface ServerContext extends RequestServerContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly waitUntil: (work: Promise<unknown> | void) => void;
}

interface DirectRequest {
  readonly params: GraphQLParams;
  /** The media type Yoga would answer with, from the Accept header. */
  readonly mediaType: 'application/json' | 'application/graphql-response+json';
}

/**
 * A request from a server-side client (no Origin, so no CORS) to the GraphQL endpoint, with a plain
 * Accept and well-formed parameters, that is not a subscription: one of Yoga's JSON answers is all it
 * can get, and Yoga's own request checks would all pass. Anything else is left to Yoga whole.
 */
function directRequest(req: IncomingMessage, body: string, endpoint: string): DirectRequest | undefined {
  const mediaType = mediaTypeFor(req.headers.accept);
  if (req.headers.origin !== undefined || req.url !== endpoint || !mediaType) return undefined;
  let params: unknown;
  try {
    params = JSON.parse(body);
  } catch {
    return undefined;
  }
  return isPlainParams(params) && !/\bsubscription\b/.test(params.query) ? { params, mediaType } : undefined;
}

/**
 * What Yoga (with useHttpRequestRules, http-requests.ts) answers a plain Accept with; undefined for
 * anything else. No Accept, and the wildcard curl and fetch send, get the preferred media type.
 */
function mediaTypeFor(accept: string | undefined): DirectRequest['mediaType'] | undefined {
  if (accept === undefined || accept === '*/*' || accept === GRAPHQL_RESPONSE_JSON) return GRAPHQL_RESPONSE_JSON;
  if (accept === 'application/json') return accept;
  return undefined;
}

function isPlainParams(value: unknown): value is GraphQLParams & { query: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const params = value as Record<string, unknown>;
  const isObject = (v: unknown) => v == null || (typeof v === 'object' && !Array.isArray(v));
  return (
    typeof params.query === 'string' &&
    isObject(params.variables) &&
    isObject(params.extensions) &&
    (params.operationName == null || typeof params.operationName === 'string') &&
    Object.keys(params).every((key) => PARAMS.has(key))
  );
}

const PARAMS = new Set(['query', 'variables', 'operationName', 'extensions']);

/**
 * Runs the operation with Yoga's getResultForParams (its params hooks, envelop plugins, execution and
 * result hooks) and answers with Yoga's own JSON result processor, skipping the request parsing,
 * routing and response plumbing that this kind of request does not need. A plain success (no
 * errors, no status or headers asked for) is written as that processor writes it, without building
 * a fetch Response for it: what a publish gets back.
 */
async function respondWithResult(yoga: HttpHandler, request: Request, serverContext: ServerContext, direct: DirectRequest): Promise<void> {
  const result = await yoga.getResultForParams({ params: direct.params, request }, serverContext);
  if (result === undefined) throw new Error('Yoga produced no result');
  if (isPlainSuccess(result)) {
    const body = Buffer.from((result.stringify ?? JSON.stringify)(result));
    serverContext.res.writeHead(200, ['content-type', `${direct.mediaType}; charset=utf-8`, 'content-length', String(body.length)]);
    serverContext.res.end(body);
    return;
  }
  await send(serverContext.res, processRegularResult(result, yoga.fetchAPI, direct.mediaType));
}

type YogaResult = NonNullable<Awaited<ReturnType<HttpHandler['getResultForParams']>>>;

/** A result processRegularResult answers with 200, its content type and the result's JSON, nothing else. */
function isPlainSuccess(result: YogaResult): result is ExecutionResult & { stringify?: (result: ExecutionResult) => string } {
  if (Array.isArray(result) || isAsyncIterable(result)) return false;
  const { errors, extensions } = result;
  return !errors?.length && !(extensions as { http?: unknown } | undefined)?.http;
}

/** Yoga's fetch handler, with the body already read (useBufferedBody hands it to Yoga's parser). */
async function respondThroughYoga(yoga: HttpHandler, request: Request, serverContext: ServerContext, body: string): Promise<void> {
  bodies.set(request, body);
  const response = await yoga.handleRequest(request, serverContext);
  // A subscription POSTed with a wildcard Accept is answered with an event stream: piped as it
  // comes (and ended when the client goes), never buffered whole.
  if (!STREAMS.test(response.headers.get('content-type') ?? '')) await send(serverContext.res, response);
  // sendNodeResponse leaves the stream of a client already gone untouched: cancelled here, or it
  // would hold its subscription forever.
  else if (serverContext.res.destroyed) await response.body?.cancel();
  else await sendNodeResponse(response, serverContext.res, serverContext.req, true);
}

const STREAMS = /^(text\/event-stream|multipart\/mixed)/i;

async function send(res: ServerResponse, response: Response): Promise<void> {
  const payload = Buffer.from(await response.arrayBuffer());
  const headers: string[] = [];
  response.headers.forEach((value, name) => {
    if (name !== 'content-length') headers.push(name, value);
  });
  headers.push('content-length', String(payload.length));
  if (response.statusText) res.writeHead(response.status, response.statusText, headers);
  else res.writeHead(response.status, headers);
  res.end(payload);
}

function headerPairs(raw: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}
