/**
 * One target, started, with its clients and its publisher: what a ladder or a saturation ramp works
 * on. Fresh processes for every session, so that one measurement's memory and JIT state never leak
 * into another's. Also hands out message ids, unique within the session.
 */
import { forkChild, type ChildHandle } from '../ipc/rpc.js';
import type { PublisherApi } from '../load/publisher-api.js';
import { track } from '../processes.js';
import type { RunningTarget, Target } from '../targets/target.js';
import { ClientPool } from './client-pool.js';

const PUBLISHER = 'bench/load/publisher.ts';

export interface SessionOptions {
  readonly rooms: number;
  readonly clientProcesses: number;
  readonly connectConcurrency: number;
  readonly publishInFlight: number;
}

export class Session {
  private nextId = 0;

  private constructor(
    readonly target: Target,
    readonly running: RunningTarget,
    readonly pool: ClientPool,
    readonly publisher: ChildHandle<PublisherApi>,
    readonly rooms: number,
  ) {}

  static async open(target: Target, options: SessionOptions): Promise<Session> {
    const running = await target.start();
    const pool = ClientPool.start(options.clientProcesses, target.clientProtocol, options.connectConcurrency);
    const publisher = forkChild<PublisherApi>(PUBLISHER);
    track(publisher.process);
    try {
      await publisher.call('configure', {
        protocol: target.publishProtocol,
        urls: [...running.publishUrls],
        rooms: options.rooms,
        maxInFlight: options.publishInFlight,
      });
    } catch (error) {
      await Promise.allSettled([pool.stop(), publisher.kill(), running.stop()]);
      throw error;
    }
    return new Session(target, running, pool, publisher, options.rooms);
  }

  /** Reserves `count` consecutive message ids and returns the first. */
  takeIds(count: number): number {
    const first = this.nextId;
    this.nextId += count;
    return first;
  }

  /** The id the next takeIds will return. */
  peekId(): number {
    return this.nextId;
  }

  async close(): Promise<void> {
    await this.pool.stop();
    await this.publisher.kill();
    await this.running.stop();
  }
}
