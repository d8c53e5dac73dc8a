/**
 * A target is a stack under test, started as real processes: Roomcast (memory broker or Redis) or a
 * baseline. The harness needs from it the pids to measure, where clients connect and where the
 * publisher posts (one of each per replica), and the protocols to speak.
 */
import type { ClientProtocol } from '../load/connections/connection.js';
import type { PublishProtocol } from '../load/publisher-api.js';

export const TARGET_NAMES = [
  'roomcast-memory',
  'roomcast-redis',
  'roomcast-redis-per-subscriber',
  'roomcast-redis-bare-publish',
  'roomcast-publisher',
  'floor',
  'textbook',
  'socketio',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** What `npm run bench` runs without --targets: all but the diagnostic bare-publish target and the backend publisher. */
export const DEFAULT_TARGETS: readonly TargetName[] = TARGET_NAMES.filter(
  (name) => name !== 'roomcast-redis-bare-publish' && name !== 'roomcast-publisher',
);

/** Baselines: what Roomcast's figures are divided by. */
export const BASELINE_NAMES = ['floor', 'textbook', 'socketio'] as const satisfies readonly TargetName[];
export type BaselineName = (typeof BASELINE_NAMES)[number];

export interface RunningTarget {
  /** The server processes (not redis-server): their CPU and RSS are the target's cost. */
  readonly serverPids: readonly number[];
  /** redis-server, measured and reported apart. */
  readonly redisPid: number | undefined;
  /** Its URL, for `INFO commandstats`. */
  readonly redisUrl: string | undefined;
  /** One per replica, in replica order. */
  readonly subscribeUrls: readonly string[];
  readonly publishUrls: readonly string[];
  /** Warnings the servers logged so far (e.g. slow consumers closed), for the report. */
  warnings(): string[];
  stop(): Promise<void>;
}

export interface Target {
  readonly name: TargetName;
  readonly description: string;
  readonly clientProtocol: ClientProtocol;
  readonly publishProtocol: PublishProtocol;
  /**
   * The publisher process is part of the target (a backend publishing through roomcast/publisher, no
   * HTTP): its CPU counts as the servers'. Otherwise it is the load generator's, and does not.
   */
  readonly publisherIsServer?: boolean;
  start(): Promise<RunningTarget>;
}
