/**
 * The resume protocol Roomcast adds to graphql-transport-ws and SSE, shared by the server and this
 * client (as graphql-ws shares `common.ts`): what a subscription result carries, what a client sends
 * back, and the cursor format. Applications treat cursors as opaque strings; only the client and the
 * server look inside, the client to recognise a message it already delivered.
 *
 * - Every subscription result that delivers a message carries its cursor in `extensions.cursor`,
 *   and one that delivers a HistoryGap carries it in `extensions.historyGap`, whatever the selection.
 * - On every connect a WebSocket client may send `connectionParams.roomcastCursors`
 *   (operation id -> cursor): each resubscribed operation continues right after its cursor.
 * - Over SSE, each message's cursor is the event's `id:`, which EventSource sends back as `Last-Event-ID`.
 * - A subscription to several rooms (`messagesIn`) also has a position: where it stands in every one
 *   of its rooms, as one combined cursor (`encodePosition`). Its results carry it in
 *   `extensions.position`: every result over SSE (where it is the `id:`) and through Yoga's execution,
 *   at least the first result of each subscription with direct WebSocket delivery, where each later
 *   result's `extensions.cursor` moves its own room within it. A client resumes with the position as
 *   the operation's cursor, which covers the rooms that delivered nothing yet as well.
 */

/** The connection parameter that carries each operation's cursor (operation id -> cursor). */
export const CURSORS_PARAM = 'roomcastCursors';

/** One message's position: its room, the epoch of the room's history, and its seq in that history. */
export interface Cursor {
  readonly room: string;
  readonly epoch: string;
  readonly seq: number;
}

/** What `extensions.historyGap` holds: the resume after `after` cannot be complete. */
export interface HistoryGapInfo {
  readonly room: string;
  /** The cursor the subscription resumed after. */
  readonly after: string;
  /** Messages that cannot be replayed; null when the room's history was reset. */
  readonly missed: number | null;
}

const VERSION = '1';
const EPOCH = /^[A-Za-z0-9_-]{1,32}$/;
const SEQ = /^[1-9][0-9]{0,15}$/;

// btoa/atob rather than Buffer, so this runs in browsers as well. Every character of a cursor's
// text is ASCII (room ids and epochs are restricted), so they are exact.
export function encodeCursor(cursor: Cursor): string {
  return btoa(`${VERSION}:${cursor.epoch}:${cursor.seq}:${cursor.room}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The cursor's parts, or undefined when the text is not a cursor. */
export function decodeCursor(text: string): Cursor | undefined {
  if (text.length > 256 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let plain: string;
  try {
    plain = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  const [version, epoch, seq, ...roomParts] = plain.split(':');
  if (version !== VERSION || !epoch || !EPOCH.test(epoch) || !seq || !SEQ.test(seq) || roomParts.length === 0) {
    return undefined;
  }
  const n = Number(seq);
  if (!Number.isSafeInteger(n)) return undefined;
  const cursor = { room: roomParts.join(':'), epoch, seq: n };
  // Only the canonical encoding is accepted, so one message has exactly one cursor.
  return encodeCursor(cursor) === text ? cursor : undefined;
}

/**
 * Where a subscription stands in one room: after the message (epoch, seq), or, with a null epoch
 * and seq 0, at a room that had no history when the subscription started there.
 */
export interface RoomPosition {
  readonly room: string;
  readonly epoch: string | null;
  readonly seq: number;
}

const POSITION_VERSION = 'p1';
const SEGMENT_SEQ = /^(0|[1-9][0-9]{0,15})$/;
/** Far above any position of MAX_ROOMS_PER_SUBSCRIPTION rooms, so a huge text is refused unread. */
const MAX_POSITION_LENGTH = 1 << 20;

/**
 * A combined cursor: `p1`, then `,epoch:seq:room` per room (an empty epoch for a room without
 * history). Plain text of the cursor character sets (no base64): it is sent on every SSE event and
 * grows with the number of rooms. Commas appear in no room id, so the segments split unambiguously.
 */
export function encodePosition(rooms: Iterable<RoomPosition>): string {
  let text = POSITION_VERSION;
  for (const { room, epoch, seq } of rooms) text += `,${epoch ?? ''}:${seq}:${room}`;
  return text;
}

/** The rooms of a combined cursor, or undefined when the text is not one (duplicate rooms included). */
export function decodePosition(text: string): RoomPosition[] | undefined {
  if (text.length > MAX_POSITION_LENGTH || !text.startsWith(`${POSITION_VERSION},`)) return undefined;
  const rooms: RoomPosition[] = [];
  const seen = new Set<string>();
  for (const segment of text.slice(POSITION_VERSION.length + 1).split(',')) {
    const [epoch = '', seq = '', ...roomParts] = segment.split(':');
    const room = roomParts.join(':');
    if ((epoch !== '' && !EPOCH.test(epoch)) || !SEGMENT_SEQ.test(seq) || !/^[A-Za-z0-9_.:-]{1,128}$/.test(room) || seen.has(room))
      return undefined;
    const n = Number(seq);
    if (!Number.isSafeInteger(n) || (epoch === '' && n !== 0)) return undefined;
    seen.add(room);
    rooms.push({ room, epoch: epoch === '' ? null : epoch, seq: n });
  }
  return rooms;
}

/** The combined cursor a result's extensions carry, if any. */
export function positionOf(extensions: unknown): string | undefined {
  const position = (extensions as { position?: unknown } | undefined)?.position;
  return typeof position === 'string' ? position : undefined;
}

/** The message cursor a result's extensions carry, if any. */
export function cursorOf(extensions: unknown): string | undefined {
  const cursor = (extensions as { cursor?: unknown } | undefined)?.cursor;
  return typeof cursor === 'string' ? cursor : undefined;
}

/** The HistoryGap a result's extensions carry, if any. */
export function historyGapOf(extensions: unknown): HistoryGapInfo | undefined {
  const gap = (extensions as { historyGap?: unknown } | undefined)?.historyGap;
  return gap && typeof gap === 'object' ? (gap as HistoryGapInfo) : undefined;
}
