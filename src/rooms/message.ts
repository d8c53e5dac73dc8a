/**
 * The message envelope, as stored in history and sent between replicas. Its JSON form is built by the
 * Redis publish script, so the decoder is strict: a malformed frame is rejected, never passed on.
 * Field order in that form: room, seq, epoch, event, publishedAt, sender, exclude (only when set), data
 * (data last, spliced).
 */
import { badUserInput, ErrorCode, RoomcastError } from '../errors.js';

export interface Message {
  readonly room: string;
  /** 1, 2, 3 ... within the room's epoch. */
  readonly seq: number;
  /** Identifies one continuous history of the room; changes when that history is lost or expires. */
  readonly epoch: string;
  readonly event: string;
  /** The published JSON value, parsed. */
  readonly data: unknown;
  /** Milliseconds since the Unix epoch, by the broker's clock. */
  readonly publishedAt: number;
  /**
   * The `sub` claim of the token that published it, set by the server; null for anonymous publishes
   * and when auth is off. Arbitrary text: always JSON-encoded, never spliced raw.
   */
  readonly sender: string | null;
  /**
   * The party (rooms/party.ts) that published with `excludeSelf`: subscriptions of that party skip the
   * message, live and on replay. Null when none. Never shown to clients.
   */
  readonly exclude: string | null;
  /** Length of the message's JSON form: what it costs to hold and to send. */
  readonly size: number;
}

/** Tells a client that some messages after `after` cannot be replayed. */
export interface HistoryGap {
  readonly room: string;
  readonly after: string;
  /** Exact count of messages no longer held, or null when the room's history was reset. */
  readonly missed: number | null;
}

/** What a room subscription yields. */
export type RoomEvent = Message | HistoryGap;

export function isHistoryGap(event: RoomEvent): event is HistoryGap {
  return 'after' in event;
}

/**
 * The sender as the JSON text the publish script splices: a JSON string literal, or `null`.
 * JSON.stringify of any string is valid JSON (quotes, backslashes and control characters escaped,
 * lone surrogates as \uXXXX), so whatever a token holds cannot break out of the value.
 */
export function encodeSender(sender: string | null): string {
  return sender === null ? 'null' : JSON.stringify(sender);
}

/**
 * The `exclude` field as the publish script splices it: nothing when null, else `,"exclude":` and a
 * JSON string literal, so messages without an exclusion keep the form they always had.
 */
export function encodeExclude(exclude: string | null): string {
  return exclude === null ? '' : `,"exclude":${JSON.stringify(exclude)}`;
}

/** Largest `data` as serialized JSON, in bytes, unless configured otherwise: `MAX_PAYLOAD_BYTES`' default. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 65_536;

/**
 * A publish's `data` as the JSON text stored (once serialized, for the size limit and the store):
 * BAD_USER_INPUT when it is no JSON value, PAYLOAD_TOO_LARGE past `maxBytes` (named `setting` in the
 * message, the limit's name where the caller configures it).
 */
export function encodeData(data: unknown, maxBytes: number, setting = 'MAX_PAYLOAD_BYTES'): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    // Thousands of levels of nesting overflow JSON.stringify's stack; cycles and BigInts throw TypeError.
    if (error instanceof RangeError) throw badUserInput('data is nested too deeply to be stored');
    if (error instanceof TypeError) throw badUserInput(`data is not a JSON value: ${error.message}`);
    throw error;
  }
  // undefined, functions and symbols have no JSON form (only a GraphQL-less caller can pass them).
  if (json === undefined) throw badUserInput('data is not a JSON value');
  // `Message.data` is `JSON!`: the mutation's variables refuse null, a backend's call must too.
  if (json === 'null') throw badUserInput('data must not be null (send an object or another JSON value)');
  // A UTF-16 unit is at most 3 bytes of UTF-8: most payloads are clearly within the limit, uncounted.
  if (json.length * 3 <= maxBytes) return json;
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new RoomcastError(ErrorCode.PAYLOAD_TOO_LARGE, `data is ${bytes} bytes as JSON; the limit is ${maxBytes} (${setting})`);
  }
  return json;
}

/** Serializes a message byte for byte as the Redis publish script does (data is already JSON text). */
export function encodeMessage(
  m: Omit<Message, 'data' | 'size' | 'exclude'> & { readonly exclude?: string | null },
  dataJson: string,
): string {
  return `{"room":${JSON.stringify(m.room)},"seq":${m.seq},"epoch":${JSON.stringify(m.epoch)},"event":${JSON.stringify(m.event)},"publishedAt":${m.publishedAt},"sender":${encodeSender(m.sender)}${encodeExclude(m.exclude ?? null)},"data":${dataJson}}`;
}

export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
}

export function decodeMessage(json: string): Message {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new MalformedMessageError('message is not JSON');
  }
  if (typeof value !== 'object' || value === null) throw new MalformedMessageError('message is not an object');
  const m = value as Record<string, unknown>;
  if (
    typeof m.room !== 'string' ||
    typeof m.epoch !== 'string' ||
    typeof m.event !== 'string' ||
    !Number.isSafeInteger(m.seq) ||
    (m.seq as number) < 1 ||
    !Number.isSafeInteger(m.publishedAt) ||
    !('data' in m)
  ) {
    throw new MalformedMessageError('message lacks room, seq, epoch, event, publishedAt or data');
  }
  // Absent in messages stored before senders existed: those have none.
  if (m.sender === undefined) m.sender = null;
  else if (m.sender !== null && typeof m.sender !== 'string') throw new MalformedMessageError('message sender is not a string');
  if (m.exclude === undefined) m.exclude = null;
  else if (typeof m.exclude !== 'string') throw new MalformedMessageError('message exclude is not a string');
  m.size = json.length;
  return m as unknown as Message;
}
