/**
 * Automatic resume, the server's side of the protocol in `@roomcast/client/protocol`: every
 * subscription result carries its message's cursor (or its HistoryGap) in `extensions`, and a
 * transport hands the resolver the cursor a reconnecting client sent (`connectionParams.roomcastCursors`
 * over the WebSocket, `Last-Event-ID` or `?lastEventId=` over SSE). That cursor wins over the operation's own `after`,
 * which is the position the client started from, not the newest one it received. A subscription to
 * several rooms adds its position in all of them (`extensions.position`), which is then that cursor.
 */
import { CURSORS_PARAM } from '@roomcast/client/protocol';
import type { Plugin } from 'graphql-yoga';
import { encodeCursor } from '../rooms/cursor.js';
import { isHistoryGap, type RoomEvent } from '../rooms/message.js';

/** What the event being delivered on an operation adds to its result's extensions, keyed by its context. */
const delivering = new WeakMap<object, Record<string, unknown>>();

/** What a result delivering `event` carries in its extensions. */
export function resumeExtensions(event: RoomEvent): Record<string, unknown> {
  return isHistoryGap(event) ? { historyGap: { ...event } } : { cursor: encodeCursor(event) };
}

/** `position`: the combined cursor of a subscription to several rooms right after the event. */
export function noteDelivery(context: object, event: RoomEvent, position?: string): void {
  const extensions = resumeExtensions(event);
  delivering.set(context, position === undefined ? extensions : { ...extensions, position });
}

/** Adds the event's cursor (or HistoryGap) to every subscription result's extensions. */
export function useCursorExtension(): Plugin {
  return {
    onSubscribe: () => ({
      onSubscribeResult: () => ({
        onNext: ({ args, result, setResult }) => {
          const extensions = delivering.get(args.contextValue);
          if (extensions) setResult({ ...result, extensions: { ...result.extensions, ...extensions } });
        },
      }),
    }),
  };
}

/** The initial context a transport gives Yoga; only the parts resume looks at. */
export interface ResumeSource {
  readonly request?: { readonly method: string; readonly url: string; readonly headers: { get(name: string): string | null } };
  readonly connectionParams?: Readonly<Record<string, unknown>>;
  readonly operationId?: string;
}

export function resumeCursorOf(source: ResumeSource): string | undefined {
  if (source.operationId !== undefined) {
    const cursors = source.connectionParams?.[CURSORS_PARAM];
    if (cursors && typeof cursors === 'object') {
      const cursor = (cursors as Record<string, unknown>)[source.operationId];
      return typeof cursor === 'string' ? cursor : undefined;
    }
    return undefined;
  }
  const request = source.request;
  if (!request) return undefined;
  // An EventSource sends Last-Event-ID by itself; an app that opens a new one (a fresh `?token=`) cannot
  // set headers, so a GET event stream takes the same cursor as `?lastEventId=`.
  const header = request.headers.get('last-event-id');
  if (header !== null || request.method !== 'GET' || !request.headers.get('accept')?.includes('text/event-stream'))
    return header ?? undefined;
  return new URL(request.url).searchParams.get('lastEventId') ?? undefined;
}
