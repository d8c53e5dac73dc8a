/**
 * Every HTTP request gets an id: the `X-Request-Id` a client or proxy sent, when it is a plain token,
 * or a new UUID. It is echoed in the response's `X-Request-Id` and carried as `request` on every log
 * line written for the request, so a client's report, the proxy's access log and Roomcast's lines meet.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { lazyChild, type Logger } from '../log.js';

const REQUEST_ID_HEADER = 'x-request-id';

/** What is kept of a sent id: 1-128 characters that need no quoting in a log or a header. */
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** What Roomcast's listener gives Yoga with each request; the context factory reads it (http.ts). */
export interface RequestServerContext {
  /** The server's logger, with this request's id on every line. */
  readonly log?: Logger;
}

/** Names the request (echoing its id in the response) and returns its logger. */
export function requestLog(req: IncomingMessage, res: ServerResponse, log: Logger): Logger {
  const sent = req.headers[REQUEST_ID_HEADER];
  const id = typeof sent === 'string' && REQUEST_ID.test(sent) ? sent : randomUUID();
  res.setHeader(REQUEST_ID_HEADER, id);
  return lazyChild(log, { request: id });
}
