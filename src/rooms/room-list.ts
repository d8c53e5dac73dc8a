/**
 * The arguments of a subscription to several rooms (`messagesIn(rooms, after)`), checked into where
 * each room starts: `after` holds at most one message cursor per room, or, as its only element, the
 * combined cursor of a subscription to these rooms (its SSE `id:`, `extensions.position`).
 */
import { decodeCursor, decodePosition } from '@roomcast/client/protocol';
import { badUserInput } from '../errors.js';
import { parseRoomId } from './names.js';

/** Where one room of the list starts: right after `after`, or at its head at acceptance without it. */
export interface RoomListEntry {
  readonly room: string;
  readonly after?: { readonly epoch: string | null; readonly seq: number; readonly resumedFrom: string } | undefined;
}

export function parseRoomList(rooms: readonly string[], after: readonly string[] | null | undefined, max: number): RoomListEntry[] {
  if (rooms.length < 1 || rooms.length > max) {
    throw badUserInput(`rooms must list 1 to ${max} rooms (MAX_ROOMS_PER_SUBSCRIPTION), got ${rooms.length}`);
  }
  const starts = new Map<string, RoomListEntry['after']>();
  for (const room of rooms) {
    if (starts.has(parseRoomId(room))) throw badUserInput(`rooms lists ${JSON.stringify(room)} twice`);
    starts.set(room, undefined);
  }
  for (const [room, start] of startsOf(after ?? [])) {
    if (!starts.has(room)) throw badUserInput(`after holds a cursor of ${JSON.stringify(room)}, which is not in rooms`);
    starts.set(room, start);
  }
  return [...starts].map(([room, start]) => ({ room, after: start }));
}

function startsOf(after: readonly string[]): Map<string, NonNullable<RoomListEntry['after']>> {
  const starts = new Map<string, NonNullable<RoomListEntry['after']>>();
  const combined = after.length === 1 ? decodePosition(after[0]!) : undefined;
  if (combined) {
    for (const { room, epoch, seq } of combined) starts.set(room, { epoch, seq, resumedFrom: after[0]! });
    return starts;
  }
  for (const text of after) {
    const cursor = decodeCursor(text);
    if (!cursor) {
      throw badUserInput(
        decodePosition(text)
          ? 'after may hold a combined cursor only as its only element'
          : 'after holds something that is not a cursor: pass `cursor`s of messages, or the combined cursor of `extensions.position`, unchanged',
      );
    }
    if (starts.has(cursor.room)) throw badUserInput(`after holds two cursors of ${JSON.stringify(cursor.room)}: one per room`);
    starts.set(cursor.room, { epoch: cursor.epoch, seq: cursor.seq, resumedFrom: text });
  }
  return starts;
}
