/**
 * The subscribe side of the Redis backend: the channels of the rooms this replica listens to, and
 * nothing else. Fan-out (fanout.ts) counts a room's local subscribers and asks for its channel once,
 * and gives it back once; here each channel is simply subscribed or not, with no count of its own.
 *
 * Two ways, one contract:
 * - `plainChannels`: one connection, SUBSCRIBE (one Redis, or the master Sentinel names);
 * - `shardedChannels` (sharded-channels.ts): one connection per cluster master, SSUBSCRIBE, each
 *   channel on the master of its slot.
 *
 * graphql-redis-subscriptions' RedisPubSub served here once; it has no sharded pub/sub
 * (davidyaha/graphql-redis-subscriptions#569) and counts subscriptions itself, so ioredis is used directly.
 */
import type { Redis } from 'ioredis';
import { withDeadline } from '../deadline.js';
import type { Logger } from '../log.js';
import { quit } from './redis-connection.js';

export interface ChannelEvents {
  /** A message on a subscribed channel. */
  message(channel: string, payload: string): void;
  /**
   * Subscriptions are back after an interruption (a lost connection, a slot moved to another master):
   * messages published meanwhile on these channels never arrived, and are in the rooms' history.
   * Called once every listed channel is subscribed again.
   */
  resumed(channels: readonly string[]): void;
  /** A connection is ready (subscribed as asked), or failed: for the log. */
  state(role: string, error?: Error): void;
  /** A subscriber connection is trying again (for metrics). */
  reconnecting(): void;
}

export interface RoomChannels {
  /** Subscribes; resolves once Redis acknowledged it, so no later publish on it can be missed. */
  listen(channel: string): Promise<void>;
  /** Unsubscribes; resolves once Redis acknowledged it, or could not be asked. */
  unlisten(channel: string): Promise<void>;
  /**
   * True when new subscriptions can be made: the one subscriber connection is up and subscribed as
   * asked; on a cluster, the slot map is known (one master down leaves the others' rooms served).
   */
  ready(): boolean;
  close(): Promise<void>;
}

/** SUBSCRIBE and UNSUBSCRIBE within `timeoutMs`, or fail. */
export async function acknowledged(sent: Promise<unknown>, timeoutMs: number, what: string): Promise<void> {
  await withDeadline(sent, timeoutMs, () => {
    sent.catch(() => {});
    throw new Error(`Redis did not answer ${what} within ${timeoutMs} ms`);
  });
}

/**
 * One subscriber connection (owned: closed with it) for every channel. ioredis subscribes it again to every channel after a
 * reconnect; a PING queued behind those SUBSCRIBEs answers once they are all acknowledged, and from
 * then on nothing more can be missed.
 */
export function plainChannels(subscriber: Redis, timeoutMs: number, events: ChannelEvents, log: Logger): RoomChannels {
  const channels = new Set<string>();
  let connectedBefore = false;
  let confirmed = false;
  subscriber.on('message', (channel: string, payload: string) => events.message(channel, payload));
  subscriber.on('error', (error: Error) => events.state('subscriber', error));
  subscriber.on('close', () => (confirmed = false));
  subscriber.on('reconnecting', () => events.reconnecting());
  subscriber.on('ready', () => {
    const resumed = connectedBefore;
    connectedBefore = true;
    subscriber.ping().then(
      () => {
        confirmed = true;
        events.state('subscriber');
        if (resumed) events.resumed([...channels]);
      },
      (error: unknown) => events.state('subscriber', error instanceof Error ? error : new Error(String(error))),
    );
  });

  return {
    async listen(channel) {
      channels.add(channel);
      await acknowledged(subscriber.subscribe(channel), timeoutMs, 'SUBSCRIBE');
    },
    async unlisten(channel) {
      channels.delete(channel);
      // Sent even while the connection is down: queued, it follows the SUBSCRIBEs a reconnect repeats.
      await acknowledged(subscriber.unsubscribe(channel), timeoutMs, 'UNSUBSCRIBE').catch((error: unknown) =>
        log.debug('redis: an UNSUBSCRIBE was not answered', { channel, error }),
      );
    },
    ready: () => confirmed && subscriber.status === 'ready',
    close: () => quit(subscriber, timeoutMs),
  };
}
