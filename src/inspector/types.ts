/**
 * What each replica tells the others about its rooms, and what the inspector shows of them together.
 * Pure: no I/O.
 */

/** A room and how many subscriptions it has on one replica. */
export type RoomLoad = readonly [room: string, subscriptions: number];

/** One replica's rooms, as of `reportedAt`. */
export interface ReplicaReport {
  /** Its REPLICA_ID (shown; not necessarily unique). */
  readonly replica: string;
  /** A random id per process: the key of its report, unique even when two replicas share a REPLICA_ID. */
  readonly instance: string;
  /** When the report was made, ms since the epoch, by the replica's clock. */
  readonly reportedAt: number;
  /** Rooms with subscriptions on the replica, all of them. */
  readonly roomCount: number;
  /** Room subscriptions on the replica, in all its rooms. */
  readonly subscriptions: number;
  /** Its rooms with the most subscriptions (at most INSPECTOR_MAX_ROOMS), most first. */
  readonly rooms: readonly RoomLoad[];
}
