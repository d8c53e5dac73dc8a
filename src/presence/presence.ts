/**
 * The presence service the GraphQL layer uses: this replica's holds (holds.ts) over a store shared by
 * every replica (store.ts). One implementation over either store, so memory and Redis keep the same
 * promises:
 *
 * - A member is present from its first hold on any replica until its last release plus the grace;
 *   a hold within the grace (on any replica) continues the same presence: no LEAVE, no JOIN.
 * - Each JOIN and LEAVE is published once, with the room's count right after it, in the order the
 *   store applied them; `read` counts exactly.
 * - Holding and releasing never wait for the store.
 */
import type { Logger } from '../log.js';
import { LocalHolds } from './holds.js';
import type { PresenceStore } from './store.js';
import type { MemberIdentity, PresenceEvent, PresenceSnapshot } from './types.js';

export interface Presence {
  readonly kind: PresenceStore['kind'];
  /**
   * Makes `member` present in `room` until the returned function is called (calling it again does
   * nothing), and for the leave grace after that. Returns at once: the store is told in batches.
   */
  hold(room: string, member: MemberIdentity): () => void;
  read(room: string, limit: number): Promise<PresenceSnapshot>;
  /** Resolves once every later event of the room reaches `listener`; returns the function that stops it. */
  watch(room: string, listener: (event: PresenceEvent) => void): Promise<() => void>;
  /** Sends pending joins and leaves, stops every timer and connection; held members leave after the grace. */
  close(): Promise<void>;
}

export interface PresenceOptions {
  /** PRESENCE_LEAVE_GRACE_MS. */
  readonly graceMs: number;
  /** How long `close` may try to send what is pending. */
  readonly timeoutMs: number;
  readonly log: Logger;
}

export function createPresence(store: PresenceStore, { graceMs, timeoutMs, log }: PresenceOptions): Presence {
  const holds = new LocalHolds(store, graceMs, log);
  let closing: Promise<void> | undefined;
  return {
    kind: store.kind,
    hold: (room, member) => holds.hold(room, member),
    read: (room, limit) => store.read(room, limit),
    watch: (room, listener) => store.watch(room, listener),
    close() {
      closing ??= (async () => {
        await holds.close(timeoutMs);
        await store.close(graceMs);
      })();
      return closing;
    },
  };
}
