/**
 * A backend stores each room's sequence and history and carries published messages to every
 * replica. The memory and Redis backends implement this one interface; everything above it
 * (fan-out to local subscribers, resume, gap detection) is shared and lives in broker.ts.
 */
import { decodeMessage, type Message } from '../rooms/message.js';

/** A consistent read of one room: its position and the requested slice of history. */
export interface RoomSnapshot {
  /** The room's current epoch; null when the room has no history (never published, or expired). */
  readonly epoch: string | null;
  /** Seq of the newest message of the epoch; 0 when none. */
  readonly seq: number;
  /** Held messages with seq greater than `afterSeq`, oldest first, at most `limit` of them. */
  readonly messages: readonly Message[];
  /** Set when messages were left out for the query's `maxBytes`: the bytes counted, past it. */
  readonly overBytes?: number;
}

export type ReadQuery =
  /** The oldest `limit` held messages with seq > afterSeq. */
  (
    | { readonly afterSeq: number; readonly limit: number }
    /** The newest `latest` held messages (0 reads only the position). */
    | { readonly latest: number }
  ) & {
    /**
     * Messages are decoded only while their JSON adds up to at most this many bytes (the first always
     * is); the rest are left out, and `overBytes` says so. A parsed message can take many times its
     * JSON, so a reader that cannot use more (a response's budget, a replay's page) never builds it.
     */
    readonly maxBytes?: number;
  };

/**
 * The held JSON of messages, in the order given, decoded while it adds up to `maxBytes` (ReadQuery).
 * Both backends read through this.
 */
export function decodeWithin(entries: readonly string[], maxBytes = Infinity): { messages: Message[]; overBytes?: number } {
  let bytes = 0;
  let count = 0;
  for (; count < entries.length; count++) {
    bytes += entries[count]!.length;
    if (bytes > maxBytes && count > 0) break;
  }
  const messages = entries.slice(0, count).map(decodeMessage);
  return count < entries.length ? { messages, overBytes: bytes } : { messages };
}

export interface Backend {
  readonly kind: 'memory' | 'redis';
  /**
   * Atomically: assigns the room's next seq (starting a new epoch when the room has none), appends
   * the message to the bounded history, and publishes it to every replica's `onMessage`. Publishes
   * of one room reach every replica in seq order. `dataJson` is valid JSON text; `sender` is any
   * string (or null), stored JSON-encoded exactly as `encodeMessage` does.
   *
   * With an `idempotencyKey` (any text), in the same atomic step: when a message was stored under
   * (room, sender, key) less than the idempotency window ago (counted from that first publish, never
   * extended), that message is returned, byte for byte as first returned, and nothing is stored or
   * published; otherwise the new message is stored under it for the window, also after it leaves the
   * history.
   *
   * `exclude`: a party key (rooms/party.ts) stored with the message, so that subscriptions of that
   * party skip it, live and on replay; encoded exactly as `encodeMessage` does.
   */
  append(
    room: string,
    event: string,
    dataJson: string,
    sender: string | null,
    idempotencyKey?: string,
    exclude?: string | null,
  ): Promise<Message>;
  read(room: string, query: ReadQuery): Promise<RoomSnapshot>;
  /**
   * Ends the room's history if its epoch is still `epoch`: the next publish starts a new epoch, as
   * after an expiry. For a head that went back behind messages already delivered (broker.ts):
   * resolves true when it ended it, false when the room had moved to another epoch already.
   */
  renewEpoch(room: string, epoch: string): Promise<boolean>;
  /** Starts delivering the room's messages to `onMessage`; resolves once no later publish can be missed. */
  listen(room: string): Promise<void>;
  /** Stops delivering the room's messages. */
  unlisten(room: string): Promise<void>;
  /** Set once by the broker before the first listen. */
  onMessage: (message: Message) => void;
  /**
   * Set once by the broker: called when delivery of these rooms resumes after an interruption (a
   * Redis subscriber connection came back, a room's cluster slot moved to another master), since
   * messages published meanwhile never reached `onMessage`.
   */
  onResume: (rooms: ReadonlySet<string>) => void;
  /** True when publishes can be stored now. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}
