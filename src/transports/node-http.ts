/**
 * Node's HTTP requests into Yoga. A POST with a JSON body of known length (Content-Length, within
 * the body limit) whose answer is one JSON document (every query and mutation, publishes included)
 * is read whole and handed to Yoga's request handler as a fetch Request; Yoga's Response is written
 * back in one piece. Everything else (GET, GraphiQL, health checks, event streams, chunked bodies)
 * goes through Yoga's Node adapter unchanged.
 *
 * Why: the adapter streams every request and response body through web streams, and Yoga pipes a
 * streamed body through a size-limiting stream with an abort signal; for a publish that cost more
 * server CPU than the rest of Yoga's work (bench/README.md). Both ways run the same handler with the
 * same plugins, so routing, CORS, limits, error masking and status codes are Yoga's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Plugin } from 'graphql-yoga';
import type { HttpHandler } from './http.js';

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

export function nodeRequestListener(yoga: HttpHandler, maxBodyBytes: number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!isBufferable(req, maxBodyBytes)) {
      void yoga(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => void respond(yoga, req, res, Buffer.concat(chunks).toString()));
  };
}

function isBufferable(req: IncomingMessage, maxBodyBytes: number): boolean {
  const { accept, 'content-type': contentType, 'content-length': contentLength } = req.headers;
  return (
    req.method === 'POST' &&
    contentType?.startsWith('application/json') === true &&
    contentLength !== undefined &&
    /^\d+$/.test(contentLength) &&
    Number(contentLength) <= maxBodyBytes &&
    !accept?.includes('text/event-stream') &&
    !accept?.includes('multipart/mixed')
  );
}

async function respond(yoga: HttpHandler, req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
  let request: Request;
  try {
    request = new yoga.fetchAPI.Request(new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`), {
      method: 'POST',
      headers: headerPairs(req.rawHeaders),
    });
  } catch {
    res.writeHead(400).end();
    return;
  }
  bodies.set(request, body);
  try {
    // The server context Yoga's Node adapter passes, too.
    const serverContext = { req, res } as Parameters<HttpHandler['handleRequest']>[1];
    const response = await yoga.handleRequest(request, serverContext);
    const payload = Buffer.from(await response.arrayBuffer());
    const headers: string[] = [];
    response.headers.forEach((value, name) => {
      if (name !== 'content-length') headers.push(name, value);
    });
    headers.push('content-length', String(payload.length));
    if (response.statusText) res.writeHead(response.status, response.statusText, headers);
    else res.writeHead(response.status, headers);
    res.end(payload);
  } catch {
    // Yoga turns errors into responses itself: this one could not be built or written.
    if (res.headersSent) res.destroy();
    else res.writeHead(500).end();
  }
}

function headerPairs(raw: string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) pairs.push([raw[i]!, raw[i + 1]!]);
  return pairs;
}
