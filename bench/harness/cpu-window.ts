/**
 * CPU used by every process of a session over a window: the target's servers (what the figures
 * divide), its redis-server (reported apart), the client workers and the publisher (to tell when the
 * load generator, not the server, was the limit), and the whole machine.
 */
import { cpus } from 'node:os';
import { nowMs } from '../load/clock.js';
import { cpuMs, machineCpu, sum, type MachineCpu } from '../measure/proc.js';
import type { Session } from './session.js';

interface Snapshot {
  readonly wallMs: number;
  readonly servers: (number | undefined)[];
  readonly redis: number | undefined;
  readonly clients: (number | undefined)[];
  readonly publisher: number | undefined;
  readonly machine: MachineCpu;
}

export interface CpuUsage {
  readonly wallMs: number;
  /** All server processes together (with the publisher when the target says it is one), ms of CPU. */
  readonly serverMs: number;
  /** Each server process's share of one core over the window (1 = a whole core). */
  readonly serverCores: number[];
  readonly redisMs: number;
  readonly clientCores: number[];
  readonly publisherCores: number;
  /** Busy share of all the machine's cores. */
  readonly machineBusy: number;
  /**
   * Cores used by processes other than the session's (the harness itself, and whatever else runs on
   * the machine, such as a test suite): more than a little means the step was disturbed.
   */
  readonly otherCores: number;
}

function take(session: Session): Snapshot {
  const publisherPid = session.publisher.process.pid!;
  const serverPids = session.target.publisherIsServer ? [...session.running.serverPids, publisherPid] : session.running.serverPids;
  return {
    wallMs: nowMs(),
    servers: serverPids.map(cpuMs),
    redis: session.running.redisPid === undefined ? undefined : cpuMs(session.running.redisPid),
    clients: session.pool.pids.map(cpuMs),
    publisher: cpuMs(publisherPid),
    machine: machineCpu(),
  };
}

export class CpuWindow {
  private readonly start: Snapshot;

  constructor(private readonly session: Session) {
    this.start = take(session);
  }

  end(): CpuUsage {
    const end = take(this.session);
    const wallMs = end.wallMs - this.start.wallMs;
    const delta = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? 0 : b - a);
    const servers = end.servers.map((v, i) => delta(this.start.servers[i], v));
    const machineTotal = end.machine.totalMs - this.start.machine.totalMs;
    const machineBusy = machineTotal > 0 ? (end.machine.busyMs - this.start.machine.busyMs) / machineTotal : 0;
    const serverMs = sum(servers);
    const redisMs = delta(this.start.redis, end.redis);
    const clientCores = end.clients.map((v, i) => delta(this.start.clients[i], v) / wallMs);
    const publisherCores = delta(this.start.publisher, end.publisher) / wallMs;
    // A publisher that is one of the servers is in serverMs already.
    const ours = (serverMs + redisMs) / wallMs + sum(clientCores) + (this.session.target.publisherIsServer ? 0 : publisherCores);
    return {
      wallMs,
      serverMs,
      serverCores: servers.map((ms) => ms / wallMs),
      redisMs,
      clientCores,
      publisherCores,
      machineBusy,
      otherCores: Math.max(0, machineBusy * cpus().length - ours),
    };
  }
}
