/**
 * A client worker process: holds its share of the subscribers of a target, and records for every
 * delivery the publish -> deliver latency and which message it was, for the parent to count losses.
 * Several of these run at once (harness/client-pool.ts) so that the clients do not share an event loop
 * with each other or with a server. Forked by the parent; speaks ClientWorkerApi over IPC.
 */
import { Histogram } from '../measure/histogram.js';
import { serveParent } from '../ipc/rpc.js';
import type { ClientWorkerApi, PhaseReport } from './client-api.js';
import { nowMs } from './clock.js';
import type { ClientConnection } from './connections/connection.js';
import { connectors } from './connections/index.js';

interface Subscriber {
  readonly room: string;
  /** Highest message id seen; -1 before the first. Tells the barrier this subscription is live. */
  maxId: number;
  connection: ClientConnection | undefined;
  open: boolean;
}

const subscribers: Subscriber[] = [];
let fromId = Number.MAX_SAFE_INTEGER;
let counts = new Map<number, number>();
let latency = new Histogram();
let received = 0;
let closed: Record<string, number> = {};
let anomalies: Record<string, number> = {};

function bump(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

function sinkFor(subscriber: Subscriber) {
  return {
    deliver(stamp: { t: number; i: number }) {
      if (stamp.i > subscriber.maxId) subscriber.maxId = stamp.i;
      if (stamp.i < fromId) return; // a barrier probe, or late from an earlier phase
      received++;
      counts.set(stamp.i, (counts.get(stamp.i) ?? 0) + 1);
      latency.record((nowMs() - stamp.t) * 1000);
    },
    anomaly(what: string) {
      bump(anomalies, what);
    },
    closed(reason: string) {
      subscriber.open = false;
      bump(closed, reason || 'no reason');
    },
  };
}

const api: ClientWorkerApi = {
  async open({ protocol, connections, concurrency }) {
    const connect = connectors[protocol];
    let next = 0;
    let opened = 0;
    let failed = 0;
    const errors: Record<string, number> = {};
    // A bounded number of handshakes in flight: thousands at once would overflow the server's
    // listen backlog and measure SYN retries instead of the server.
    const lane = async () => {
      while (next < connections.length) {
        const spec = connections[next++]!;
        const subscriber: Subscriber = { room: spec.room, maxId: -1, connection: undefined, open: false };
        try {
          subscriber.connection = await connect(spec.url, spec.room, sinkFor(subscriber));
          subscriber.open = true;
          subscribers.push(subscriber);
          opened++;
        } catch (error) {
          failed++;
          bump(errors, error instanceof Error ? error.message.slice(0, 120) : String(error));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
    return { opened, failed, errors };
  },

  phase(arg) {
    fromId = arg.fromId;
    counts = new Map();
    latency = new Histogram();
    received = 0;
    closed = {};
    anomalies = {};
    const openByRoom = new Map<string, number>();
    for (const s of subscribers) if (s.open) openByRoom.set(s.room, (openByRoom.get(s.room) ?? 0) + 1);
    return openByRoom;
  },

  progress({ probeFrom }) {
    let ready = 0;
    let open = 0;
    for (const s of subscribers) {
      if (!s.open) continue;
      open++;
      if (s.maxId >= probeFrom) ready++;
    }
    return { received, ready, open };
  },

  report(): PhaseReport {
    return { counts, latency: latency.data(), received, closed, anomalies };
  },

  close() {
    for (const s of subscribers) {
      s.connection?.close();
      s.open = false;
    }
    subscribers.length = 0;
  },
};

serveParent(api);
