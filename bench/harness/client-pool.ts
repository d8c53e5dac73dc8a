/**
 * The client side of a target: several client worker processes (load/client-worker.ts) holding the
 * subscribers between them, driven as one. Subscriber k goes to room k % rooms, to the replica
 * placement.ts picks, and to worker k % processes, so every worker holds a fair slice of every room.
 */
import { forkChild, type ChildHandle } from '../ipc/rpc.js';
import type { ClientWorkerApi, ConnectionSpec, OpenResult, PhaseReport, Progress } from '../load/client-api.js';
import type { ClientProtocol } from '../load/connections/connection.js';
import { replicaIndexOf, roomIndexOf, roomName } from '../load/placement.js';
import { Histogram } from '../measure/histogram.js';
import { track } from '../processes.js';

const WORKER = 'bench/load/client-worker.ts';

export class ClientPool {
  private added = 0;

  private constructor(
    private readonly workers: ChildHandle<ClientWorkerApi>[],
    private readonly protocol: ClientProtocol,
    private readonly concurrency: number,
  ) {}

  static start(processes: number, protocol: ClientProtocol, concurrency: number): ClientPool {
    const workers = Array.from({ length: processes }, () => forkChild<ClientWorkerApi>(WORKER));
    for (const worker of workers) track(worker.process);
    return new ClientPool(workers, protocol, concurrency);
  }

  get pids(): number[] {
    return this.workers.map((worker) => worker.process.pid!);
  }

  /** Subscribers opened so far (whether they succeeded or not). */
  get size(): number {
    return this.added;
  }

  /** Opens `count` more subscribers over `rooms` rooms on the replicas at `urls`. */
  async add(count: number, urls: readonly string[], rooms: number): Promise<OpenResult> {
    const slices: ConnectionSpec[][] = this.workers.map(() => []);
    for (let k = this.added; k < this.added + count; k++) {
      slices[k % this.workers.length]!.push({
        url: urls[replicaIndexOf(k, rooms, urls.length)]!,
        room: roomName(roomIndexOf(k, rooms)),
      });
    }
    this.added += count;
    const results = await Promise.all(
      this.workers.map((worker, w) =>
        worker.call('open', { protocol: this.protocol, connections: slices[w]!, concurrency: this.concurrency }),
      ),
    );
    const errors: Record<string, number> = {};
    for (const result of results) addCounts(errors, result.errors);
    return {
      opened: results.reduce((n, r) => n + r.opened, 0),
      failed: results.reduce((n, r) => n + r.failed, 0),
      errors,
    };
  }

  /** Starts a phase counting ids >= fromId; answers the open subscribers per room. */
  async phase(fromId: number): Promise<Map<string, number>> {
    const parts = await Promise.all(this.workers.map((worker) => worker.call('phase', { fromId })));
    const byRoom = new Map<string, number>();
    for (const part of parts) for (const [room, n] of part) byRoom.set(room, (byRoom.get(room) ?? 0) + n);
    return byRoom;
  }

  async progress(probeFrom: number): Promise<Progress> {
    const parts = await Promise.all(this.workers.map((worker) => worker.call('progress', { probeFrom })));
    return {
      received: parts.reduce((n, p) => n + p.received, 0),
      ready: parts.reduce((n, p) => n + p.ready, 0),
      open: parts.reduce((n, p) => n + p.open, 0),
    };
  }

  async report(): Promise<PhaseReport> {
    const parts = await Promise.all(this.workers.map((worker) => worker.call('report', null)));
    const counts = new Map<number, number>();
    const closed: Record<string, number> = {};
    const anomalies: Record<string, number> = {};
    for (const part of parts) {
      for (const [id, n] of part.counts) counts.set(id, (counts.get(id) ?? 0) + n);
      addCounts(closed, part.closed);
      addCounts(anomalies, part.anomalies);
    }
    return {
      counts,
      latency: Histogram.merge(parts.map((part) => part.latency)),
      received: parts.reduce((n, p) => n + p.received, 0),
      closed,
      anomalies,
    };
  }

  /** Closes the connections (so servers see clients leave), then ends the processes. */
  async stop(): Promise<void> {
    await Promise.allSettled(this.workers.map((worker) => worker.call('close', null)));
    await Promise.all(this.workers.map((worker) => worker.kill()));
  }
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}
