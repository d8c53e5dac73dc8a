/**
 * The room directory: every live replica's rooms and subscription counts, for the inspector. Over
 * Redis each replica reports every INSPECTOR_INTERVAL_MS (redis.ts); in one process it is just this
 * process (memory.ts). Either way the delivery path pays nothing: reports read the fan-out's counts.
 */
import type { ReplicaReport } from './types.js';

export interface RoomDirectory {
  readonly kind: 'memory' | 'redis';
  /**
   * The live replicas' reports, this replica's made now, the others' as they last reported (at most
   * an interval old; a replica silent for 3 intervals is gone). Rejects when Redis cannot be read.
   */
  replicas(): Promise<ReplicaReport[]>;
  /** Stops reporting and withdraws this replica's report at once. Idempotent. */
  close(): Promise<void>;
}
