/**
 * Resume cursors. A cursor names one message: its room, the epoch of the room's history and its seq.
 * It is opaque to clients (base64url text) but versioned, so its format can change compatibly.
 */
import { badUserInput } from '../errors.js';

export interface Cursor {
  readonly room: string;
  readonly epoch: string;
  readonly seq: number;
}

const VERSION = '1';
const EPOCH = /^[A-Za-z0-9_-]{1,32}$/;
const SEQ = /^[1-9][0-9]{0,15}$/;

// btoa/atob rather than Buffer, so the client module can decode cursors in a browser. Every
// character of a cursor's text is ASCII (room ids and epochs are restricted), so they are exact.
export function encodeCursor(cursor: Cursor): string {
  return btoa(`${VERSION}:${cursor.epoch}:${cursor.seq}:${cursor.room}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes a client's cursor for `room`; BAD_USER_INPUT when it is malformed or names another room. */
export function parseCursor(text: string, room: string): Cursor {
  const cursor = decodeCursor(text);
  if (!cursor) throw badUserInput('after is not a valid cursor: pass the `cursor` of a message unchanged');
  if (cursor.room !== room) {
    throw badUserInput(`after is a cursor of another room, not of ${JSON.stringify(room)}`);
  }
  return cursor;
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
