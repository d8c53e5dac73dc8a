/** What the parent can ask of the publisher process (load/publisher.ts). Types only. */

/**
 * `graphql`: Roomcast's `publish` mutation over HTTP; `rest`: `POST /publish {room, data}`;
 * `roomcast-publisher`: no HTTP, `publish()` of roomcast/publisher on the Redis at the first URL.
 */
export type PublishProtocol = 'graphql' | 'rest' | 'roomcast-publisher';

export interface PublishRun {
  /** Ids fromId .. fromId + count - 1; message i goes to room i % rooms (placement.ts). */
  readonly fromId: number;
  readonly count: number;
  /** Messages per second, spread evenly (message k is due k / rate seconds after the start)... */
  readonly rate: number;
  /** ...or in bursts of this many, sent in one tick (message k is due floor(k / burst) * burst / rate seconds after it). */
  readonly burst?: number;
}

export interface PublishReport {
  readonly sent: number;
  readonly ok: number;
  readonly failedIds: number[];
  /** Failure messages, counted. */
  readonly errors: Record<string, number>;
  readonly elapsedMs: number;
  /** Worst delay of a send behind its due time: how far the publisher (or the server) fell behind the rate. */
  readonly maxLagMs: number;
  /** Round-trip of the publish request (HTTP), µs: p50 and max. */
  readonly requestP50Us: number | undefined;
  readonly requestMaxUs: number | undefined;
}

export type PublisherApi = {
  configure(arg: { protocol: PublishProtocol; urls: string[]; rooms: number; maxInFlight: number }): Promise<void>;
  run(arg: PublishRun): Promise<PublishReport>;
};
