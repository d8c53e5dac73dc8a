/**
 * Where presence is kept, for every replica: in this process (no REDIS_URL) or in Redis. A store
 * knows holds: "replica R holds member M in room X". A member is present while at least one replica
 * holds it; its first hold is its JOIN and its last release its LEAVE, each published with the count
 * right after it. Both stores keep this one contract (test/contracts/presence.contract.ts).
 */
import type { MemberIdentity, PresenceEvent, PresenceSnapshot } from './types.js';

/**
 * The state one of this replica's holds should have: held (with its member) or released. Stores
 * apply it idempotently, so a batch whose answer was lost can simply be sent again.
 */
export interface HoldState {
  readonly room: string;
  /** The member's key: its (sub, client id) pair, rooms/party.ts. */
  readonly key: string;
  /** The member while this replica holds it; undefined once released. */
  readonly member: MemberIdentity | undefined;
}

export interface PresenceStore {
  readonly kind: 'memory' | 'redis';
  /** Stores this replica's holds in order, publishing their JOIN and LEAVE events; rejects when unreachable. */
  apply(holds: readonly HoldState[]): Promise<void>;
  /** The room's exact count and its `limit` earliest members, read together. */
  read(room: string, limit: number): Promise<PresenceSnapshot>;
  /** Resolves once every later event of the room reaches `listener`; returns the function that stops it. */
  watch(room: string, listener: (event: PresenceEvent) => void): Promise<() => void>;
  /**
   * Set once by the replica's holds: the store no longer has this replica's holds (other replicas
   * took it for dead, or Redis lost its data) and needs every one of them again.
   */
  onLost: () => void;
  /**
   * Stops. This replica's holds are released `graceMs` from now, by the replicas left (so that
   * clients reconnecting to them within the grace stay members), or at once by the memory store.
   */
  close(graceMs: number): Promise<void>;
}
