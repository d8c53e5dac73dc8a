/**
 * The delivery hot path's counter: two plain numbers, added to per frame written, read into
 * Prometheus counters only when scraped (metrics.ts). No label lookup and no prom-client call per
 * frame, and nothing here imports prom-client, so delivery code depends on nothing but this class.
 */
export class DeliveryTally {
  /** Frames of room events written to subscribers. */
  frames = 0;
  /** Their bytes. */
  bytes = 0;
}
