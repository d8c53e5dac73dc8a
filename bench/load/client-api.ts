/**
 * What the parent can ask of a client worker process (load/client-worker.ts). Types only, shared by
 * both sides of the IPC channel.
 */
import type { HistogramData } from '../measure/histogram.js';
import type { ClientProtocol } from './connections/connection.js';

export interface ConnectionSpec {
  readonly url: string;
  readonly room: string;
}

export interface OpenResult {
  readonly opened: number;
  readonly failed: number;
  /** A few failure messages, counted. */
  readonly errors: Record<string, number>;
}

export interface Progress {
  /** Deliveries of messages with id >= the phase's `fromId`. */
  readonly received: number;
  /** Open connections that have received a message with id >= `probeFrom`. */
  readonly ready: number;
  readonly open: number;
}

export interface PhaseReport {
  /** Message id -> deliveries received by this worker's connections, for ids >= `fromId`. */
  readonly counts: Map<number, number>;
  /** publish -> deliver latency of those deliveries, µs. */
  readonly latency: HistogramData;
  readonly received: number;
  /** Connections the server closed (or that broke) during the phase, by reason. */
  readonly closed: Record<string, number>;
  /** Frames that were neither deliveries nor housekeeping, by kind. */
  readonly anomalies: Record<string, number>;
}

export type ClientWorkerApi = {
  /** Opens and subscribes `connections`, at most `concurrency` at a time. */
  open(arg: { protocol: ClientProtocol; connections: ConnectionSpec[]; concurrency: number }): Promise<OpenResult>;
  /** Starts counting deliveries of ids >= fromId (and forgets the previous phase); answers the open connections per room. */
  phase(arg: { fromId: number }): Map<string, number>;
  progress(arg: { probeFrom: number }): Progress;
  report(arg: null): PhaseReport;
  /** Closes every connection. */
  close(arg: null): void;
};
