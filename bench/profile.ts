/**
 * How much the benchmark does: the full profile (the figures of issue 4, about 25 minutes with six targets on a
 * 2-core machine) or the quick one (a smoke run of 2-3 minutes, for development). Every duration and
 * size lives here, so both modes run the very same code.
 */

export interface Layout {
  /** The name `--scenario` filters by. */
  readonly name: string;
  readonly rooms: number;
  /** Messages per second over all rooms, at every level (default: rateFor's rule). */
  readonly rate?: number;
  /** Messages sent together, in one tick, each time (default 1: evenly spread over the second). */
  readonly burst?: number;
  /** Subscribers per room, at one level only (default: the profile's subscriber levels). */
  readonly subscribersPerRoom?: number;
}

export const LAYOUTS: readonly Layout[] = [
  { name: '1room', rooms: 1 },
  { name: '100rooms', rooms: 100 },
  // The throughput regime of the publish path (issue 14).
  { name: '100rooms-500', rooms: 100, rate: 500 },
  // Where batching can beat the per-message floor: 20 messages in one tick, once a second.
  { name: 'burst', rooms: 1, rate: 20, burst: 20 },
  // Many small rooms, what most chat apps are: Redis does the same work per publish whatever the fan-out.
  { name: '1000rooms', rooms: 1_000, rate: 200, subscribersPerRoom: 3 },
];

export interface SaturationProfile {
  readonly subscribers: number;
  /** Deliveries per second of the first step. */
  readonly startDeliveriesPerSecond: number;
  /** Each step publishes this many times faster than the one before. */
  readonly factor: number;
  readonly stepSeconds: number;
  readonly maxSteps: number;
  /** A step whose p99 exceeds this has "blown up", even without a loss. */
  readonly maxP99Ms: number;
  /** A step the publisher could not keep to its rate (lag over this) is not a clean step. */
  readonly maxPublisherLagMs: number;
}

export interface Profile {
  readonly name: 'quick' | 'full';
  readonly runs: number;
  /** Subscriber counts, ascending: each is added to the previous ones' clients (a ladder). */
  readonly subscriberLevels: readonly number[];
  /** One-room scenarios publish at this many deliveries per second (5 msg/s at 1,000 subscribers). */
  readonly oneRoomDeliveriesPerSecond: number;
  /** Scenarios with many rooms publish at this many messages per second, over all rooms. */
  readonly manyRoomsRate: number;
  /** An unmeasured step at the same rate before each measured one: JIT, pools, buffers. */
  readonly warmSeconds: number;
  readonly stepSeconds: number;
  /** A step publishes at least this many messages, however low its rate (10,000 in one room: 0.5 msg/s). */
  readonly minMessages: number;
  /** Subscribers opened (and sent a few messages) before the baseline RSS is read; part of the first level. */
  readonly rssWarmSubscribers: number;
  /** Idle time after subscribing, before RSS is read. */
  readonly idleSettleMs: number;
  readonly drainTimeoutMs: number;
  readonly barrierTimeoutMs: number;
  readonly clientProcesses: number;
  readonly connectConcurrency: number;
  readonly publishInFlight: number;
  readonly saturation: SaturationProfile;
}

export const FULL: Profile = {
  name: 'full',
  runs: 3,
  subscriberLevels: [1_000, 5_000, 10_000],
  oneRoomDeliveriesPerSecond: 5_000,
  manyRoomsRate: 100,
  warmSeconds: 1,
  stepSeconds: 4,
  minMessages: 3,
  rssWarmSubscribers: 100,
  idleSettleMs: 1_000,
  drainTimeoutMs: 10_000,
  barrierTimeoutMs: 60_000,
  clientProcesses: 2,
  connectConcurrency: 32,
  publishInFlight: 64,
  saturation: {
    subscribers: 1_000,
    startDeliveriesPerSecond: 14_000,
    factor: 1.4,
    stepSeconds: 2,
    maxSteps: 10,
    maxP99Ms: 500,
    maxPublisherLagMs: 250,
  },
};

export const QUICK: Profile = {
  ...FULL,
  name: 'quick',
  runs: 1,
  subscriberLevels: [300],
  warmSeconds: 0.5,
  stepSeconds: 2,
  minMessages: 3,
  rssWarmSubscribers: 30,
  idleSettleMs: 500,
  drainTimeoutMs: 5_000,
  barrierTimeoutMs: 20_000,
  saturation: {
    ...FULL.saturation,
    subscribers: 300,
    startDeliveriesPerSecond: 6_000,
    factor: 2,
    stepSeconds: 1,
    maxSteps: 6,
  },
};

/** Messages per second of a ladder step. */
export function rateFor(profile: Profile, layout: Layout, subscribers: number): number {
  if (layout.rate !== undefined) return layout.rate;
  return layout.rooms === 1 ? profile.oneRoomDeliveriesPerSecond / subscribers : profile.manyRoomsRate;
}

/** The subscriber levels of a layout's ladder. */
export function levelsFor(profile: Profile, layout: Layout): readonly number[] {
  return layout.subscribersPerRoom === undefined ? profile.subscriberLevels : [layout.rooms * layout.subscribersPerRoom];
}

/** Messages of a measured step at `rate` lasting about `seconds`, never fewer than minMessages. */
export function messagesFor(profile: Profile, rate: number, seconds: number): number {
  return Math.max(profile.minMessages, Math.round(rate * seconds));
}

/** Messages of a warm-up step: two suffice to run the whole path twice, however low the rate. */
export function warmMessagesFor(profile: Profile, rate: number): number {
  return Math.max(2, Math.round(rate * profile.warmSeconds));
}
