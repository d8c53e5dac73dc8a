/**
 * Resume cursors. A cursor names one message: its room, the epoch of the room's history and its seq.
 * The format is part of the resume protocol, which lives with the client (`@roomcast/client/protocol`)
 * because both ends read it; here, what the server adds: refusing a client's bad cursor.
 */
import { decodeCursor, type Cursor } from '@roomcast/client/protocol';
import { badUserInput } from '../errors.js';

export { encodeCursor, type Cursor } from '@roomcast/client/protocol';

/** Decodes a client's cursor for `room`; BAD_USER_INPUT when it is malformed or names another room. */
export function parseCursor(text: string, room: string): Cursor {
  const cursor = decodeCursor(text);
  if (!cursor) throw badUserInput('after is not a valid cursor: pass the `cursor` of a message unchanged');
  if (cursor.room !== room) {
    throw badUserInput(`after is a cursor of another room, not of ${JSON.stringify(room)}`);
  }
  return cursor;
}
