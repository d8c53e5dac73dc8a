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

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${VERSION}:${cursor.epoch}:${cursor.seq}:${cursor.room}`).toString('base64url');
}

/** Decodes a client's cursor for `room`; BAD_USER_INPUT when it is malformed or names another room. */
export function parseCursor(text: string, room: string): Cursor {
  const cursor = text.length <= 256 ? tryDecode(text) : undefined;
  if (!cursor) throw badUserInput('after is not a valid cursor: pass the `cursor` of a message unchanged');
  if (cursor.room !== room) {
    throw badUserInput(`after is a cursor of another room, not of ${JSON.stringify(room)}`);
  }
  return cursor;
}

function tryDecode(text: string): Cursor | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const plain = Buffer.from(text, 'base64url').toString('utf8');
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
