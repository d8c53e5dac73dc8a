/**
 * Room ids and event names: short strings of a safe character set, so they can be used as Redis
 * keys and spliced into JSON without escaping.
 */
import { badUserInput } from '../errors.js';

/** The room of messages sent with `broadcast`; outside the room-id character set, so no room collides with it. */
export const BROADCAST_ROOM = '*';

const ROOM_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const EVENT_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export function parseRoomId(value: string): string {
  if (!ROOM_ID.test(value)) {
    throw badUserInput(`room must be 1-128 characters of A-Z a-z 0-9 _ . : - (got ${describe(value)})`);
  }
  return value;
}

/** A room id as accepted by `history`, which also reads the broadcast room. */
export function parseReadableRoom(value: string): string {
  return value === BROADCAST_ROOM ? value : parseRoomId(value);
}

export function parseEventName(value: string): string {
  if (!EVENT_NAME.test(value)) {
    throw badUserInput(`event must be 1-64 characters of A-Z a-z 0-9 _ . : - (got ${describe(value)})`);
  }
  return value;
}

function describe(value: string): string {
  return value.length > 40 ? `${value.length} characters` : JSON.stringify(value);
}
