/**
 * Server-sent events with resume: Yoga's SSE framing (`event: next` / `event: complete`, a `:` ping
 * every 12 s), plus an `id:` line carrying the cursor of each message (for `messagesIn`, the position in all its rooms). A browser EventSource that
 * reconnects by itself sends it back as `Last-Event-ID`, which the subscription treats as `after`.
 */
import { isAsyncIterable, processRegularResult, type Plugin } from 'graphql-yoga';
import type { ExecutionResult } from 'graphql';
import type { Metrics } from '../metrics/metrics.js';

const PING_INTERVAL_MS = 12_000;

/** `metrics`: streams open, and the frames of events written (metrics/). */
export function useResumableSse(metrics?: Metrics): Plugin {
  return {
    onResultProcess({ request, result, setResultProcessor }) {
      if (!request.headers.get('accept')?.includes('text/event-stream')) return;
      if (isAsyncIterable(result)) {
        setResultProcessor(
          (streamed, fetchAPI) => eventStream(streamed as AsyncIterable<ExecutionResult>, fetchAPI, metrics, request.signal),
          'text/event-stream',
        );
      } else if (hasErrors(result)) {
        // A stream that cannot start (refused: 401, 403; a bad operation or variables: 400) is an HTTP
        // status, not a 200 stream with an error in it: an EventSource then gives up instead of
        // reconnecting every few seconds to fail again.
        setResultProcessor(processRegularResult, 'application/json');
      }
    },
  };
}

/**
 * Last in the plugin list: a subscription whose result nobody can send (an Accept with neither event
 * streams nor multipart) is answered 406 by Yoga, which never reads nor ends the stream it started.
 * Ended here, or the room subscription would stay for good.
 */
export function useUnsentStreamRelease(): Plugin {
  return {
    onResultProcess({ result, resultProcessor }) {
      if (!resultProcessor && isAsyncIterable(result)) void result[Symbol.asyncIterator]().return?.();
    },
  };
}

function hasErrors(result: unknown): boolean {
  return ((result as ExecutionResult | undefined)?.errors?.length ?? 0) > 0;
}

type FetchAPI = { ReadableStream: typeof ReadableStream; Response: typeof Response; TextEncoder: typeof TextEncoder };

/**
 * `signal`: the request's, aborted when the client goes. The stream's cancel() releases the
 * subscription once Node is piping the body; a client gone before that (while a token was verified or
 * Redis answered) never gets a body to cancel: the Node adapter does not send to a closed response.
 */
function eventStream(
  results: AsyncIterable<ExecutionResult>,
  fetchAPI: FetchAPI,
  metrics: Metrics | undefined,
  signal: AbortSignal,
): Response {
  const encoder = new fetchAPI.TextEncoder();
  const iterator = results[Symbol.asyncIterator]();
  let ping: ReturnType<typeof setInterval> | undefined;
  let open = false;
  const opened = (now: boolean) => {
    if (metrics && open !== now) metrics.sseStreams += now ? 1 : -1;
    open = now;
  };
  let released = false;
  const release = async () => {
    released = true;
    clearInterval(ping);
    opened(false);
    await iterator.return?.();
  };
  if (signal.aborted) void release();
  else signal.addEventListener('abort', () => void release(), { once: true });
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      // A client gone before its stream started: nothing to open, no ping to keep.
      if (released) return;
      // Some browsers wait for a first chunk before they report the stream open.
      controller.enqueue(encoder.encode(':\n\n'));
      opened(true);
      ping = setInterval(() => {
        if (controller.desiredSize !== null && controller.desiredSize > 0) controller.enqueue(encoder.encode(':\n\n'));
      }, PING_INTERVAL_MS);
    },
    async pull(controller) {
      const next = await iterator.next();
      if (!next.done) {
        const bytes = encoder.encode(frame(next.value));
        controller.enqueue(bytes);
        if (metrics) {
          metrics.sseDelivery.frames++;
          metrics.sseDelivery.bytes += bytes.byteLength;
        }
      } else {
        clearInterval(ping);
        opened(false);
        controller.enqueue(encoder.encode('event: complete\ndata:\n\n'));
        controller.close();
      }
    },
    cancel: release,
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream', Connection: 'keep-alive', 'Cache-Control': 'no-cache', 'Content-Encoding': 'none' },
  });
}

function frame(result: ExecutionResult): string {
  // A subscription to several rooms resumes from its position in all of them, not the message's own cursor.
  const cursor = result.extensions?.position ?? result.extensions?.cursor;
  const id = typeof cursor === 'string' ? `id: ${cursor}\n` : '';
  return `${id}event: next\ndata: ${JSON.stringify(publicResult(result))}\n\n`;
}

/** Errors carry their HTTP status in `extensions.http` for Yoga; it is not for the client. */
function publicResult(result: ExecutionResult): ExecutionResult {
  if (!result.errors) return result;
  const errors = result.errors.map((error) => {
    const { http: _http, ...extensions } = (error.extensions ?? {}) as Record<string, unknown>;
    return { ...error.toJSON(), extensions };
  });
  return { ...result, errors } as unknown as ExecutionResult;
}
