/**
 * One subscriber of one room: an async iterator of RoomEvents that never skips or repeats a message
 * of the room's history without saying so.
 *
 * It tracks its position (epoch, seq). Live messages arrive from the fan-out; history is read from
 * the backend whenever the live stream cannot continue the position by itself: at the start of a
 * resume, and whenever a live message is not the next one (a replica missed pub/sub messages).
 * While history is read, live messages are buffered and afterwards delivered only if newer, so the
 * hand-over has no gap and no duplicate.
 */
import type { RoomPosition } from '@roomcast/client/protocol';
import { badUserInput, ErrorCode, RoomcastError } from '../errors.js';
import { encodeCursor } from '../rooms/cursor.js';
import type { Message } from '../rooms/message.js';
import type { RoomSnapshot } from './backend.js';
import type { DeliveryBudget } from './budget.js';
import { EventQueue } from './event-queue.js';
import type { FanoutMember } from './fanout.js';

export interface SubscriptionOptions {
  readonly room: string;
  /**
   * The subscriber's party key (rooms/party.ts), if any: messages whose `exclude` is this key are
   * skipped, live and on replay, while the position still moves past them.
   */
  readonly party?: string | undefined;
  /**
   * The text the client resumed from, for a HistoryGap's `after` when the position names no message
   * (a combined cursor's start position in a room that had no history).
   */
  readonly resumedFrom?: string | undefined;
  /** Messages of history read per backend call while catching up. */
  readonly pageSize: number;
  /** Bounds the bytes waiting to be consumed; when exhausted the subscription ends with SLOW_CONSUMER. */
  readonly budget: DeliveryBudget;
  readHistory(room: string, afterSeq: number, limit: number): Promise<RoomSnapshot>;
  /** Called for each HistoryGap queued (metrics). */
  readonly onGap?: (() => void) | undefined;
  leave(member: FanoutMember): void;
}

export type { SubscriptionEvent } from './event-queue.js';

const UNKNOWN = -1;

export class RoomSubscription extends EventQueue implements FanoutMember {
  private epoch: string | null = null;
  /** Seq of the last message yielded or skipped past; UNKNOWN means "adopt the next live message". */
  private seq = 0;
  /** Whether the client holds a cursor of (epoch, seq), so that losing it deserves a HistoryGap. */
  private hasCursor = false;
  private syncing = false;
  private readonly buffered: Message[] = [];
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: SubscriptionOptions) {
    super(options.budget);
  }

  /** Where the subscription stands: after the last message it yielded or skipped past. */
  get roomPosition(): RoomPosition {
    return { room: this.options.room, epoch: this.epoch, seq: this.seq };
  }

  /**
   * Starts right after a known position: a client's cursor, or the room's head at acceptance.
   * Live messages are buffered from now until `catchUp` has read the history after the position.
   */
  startAt(epoch: string | null, seq: number, hasCursor: boolean): void {
    this.syncing = true;
    this.epoch = epoch;
    this.seq = seq;
    this.hasCursor = hasCursor;
  }

  /** Starts with the next live message: only valid once the room is already listened to. */
  startLive(): void {
    this.seq = UNKNOWN;
  }

  /** Catches up from history; resolves once everything held after the position is queued. */
  async catchUp(): Promise<void> {
    this.syncing = true;
    try {
      for (;;) {
        const snapshot = await this.options.readHistory(this.options.room, this.seq, this.options.pageSize);
        if (this.finished) return;
        if (snapshot.epoch !== this.epoch && this.epoch !== null) {
          this.resetEpoch();
          continue;
        }
        // Ahead of what this replica ever saw of the room (a replica that saw it ends the epoch
        // instead, broker.ts): a made-up cursor, or one of messages Redis lost before anyone here saw it.
        if (snapshot.seq < this.seq) {
          throw badUserInput(
            'after is ahead of the room: not a cursor the room gave, or one of messages Redis lost (a failover); subscribe without it, or after an older message',
          );
        }
        this.epoch = snapshot.epoch;
        if (!this.replay(snapshot)) break;
      }
    } finally {
      this.syncing = false;
    }
    const pending = this.buffered.splice(0);
    for (const message of pending) this.deliver(message);
  }

  deliver(message: Message): void {
    if (this.finished) return;
    if (this.syncing) {
      this.buffered.push(message);
      return;
    }
    if (this.seq === UNKNOWN) {
      this.epoch = message.epoch;
      this.seq = message.seq - 1;
    } else if (this.epoch === null) {
      // The room had no history when the subscription started: its first epoch is ours.
      this.epoch = message.epoch;
    }
    if (message.epoch !== this.epoch) {
      this.buffered.push(message);
      this.resync(true);
      return;
    }
    if (message.seq <= this.seq) return;
    if (message.seq > this.seq + 1) {
      this.buffered.push(message);
      this.resync(false);
      return;
    }
    this.seq = message.seq;
    if (this.excludes(message)) return;
    this.hasCursor = true;
    this.enqueue(message);
  }

  /** One compare, and only for a message published with excludeSelf. */
  private excludes(message: Message): boolean {
    return message.exclude !== null && message.exclude === this.options.party;
  }

  /** Queues the held messages after the position; true when more pages may follow. */
  private replay(snapshot: RoomSnapshot): boolean {
    const first = snapshot.messages[0];
    const missedUpTo = first ? first.seq - 1 : snapshot.seq;
    if (missedUpTo > this.seq) {
      const after = this.cursorText();
      const missed = missedUpTo - this.seq;
      // The position moves before the gap is queued: a subscriber that stops right after it resumes past it.
      this.seq = missedUpTo;
      if (this.hasCursor) this.gap(after, missed);
    }
    for (const message of snapshot.messages) {
      if (message.seq <= this.seq) continue;
      this.seq = message.seq;
      if (this.excludes(message)) continue;
      this.hasCursor = true;
      this.enqueue(message);
    }
    const full = snapshot.messages.length >= this.options.pageSize || snapshot.overBytes !== undefined;
    return full && this.seq < snapshot.seq;
  }

  /** The room's history was reset (Redis lost it, or it expired): what came before is unknowable. */
  private resetEpoch(): void {
    const after = this.cursorText();
    const hadCursor = this.hasCursor;
    this.hasCursor = false;
    this.epoch = null;
    this.seq = 0;
    if (hadCursor) this.gap(after, null);
  }

  /** Reads history after the position in case live messages were lost (the backend reconnected). */
  recheck(): void {
    if (!this.finished && !this.syncing && this.seq !== UNKNOWN) this.resync(false);
  }

  /**
   * Catches up in the background. While the backend is unreachable it retries with backoff, and
   * the subscriber stays connected: it receives what it missed once the backend is back.
   */
  private resync(reset: boolean, attempt = 0): void {
    if (reset) this.resetEpoch();
    this.catchUp().catch((error: unknown) => {
      if (this.finished) return;
      if (error instanceof RoomcastError) {
        this.fail(error);
        return;
      }
      this.syncing = true;
      this.retry = setTimeout(() => this.resync(false, attempt + 1), Math.min(5_000, 100 * 2 ** attempt));
      this.retry.unref();
    });
  }

  private gap(after: string, missed: number | null): void {
    this.enqueue({ room: this.options.room, after, missed });
    this.options.onGap?.();
  }

  /** The cursor of the position, for a HistoryGap's `after`; what the client resumed from when no message names it. */
  private cursorText(): string {
    if (this.epoch === null || this.seq <= 0) return this.options.resumedFrom ?? '';
    return encodeCursor({ room: this.options.room, epoch: this.epoch, seq: this.seq });
  }

  /** Stops listening: leaves the fan-out, stops retrying, forgets what waited for a catch-up. */
  protected stop(): void {
    clearTimeout(this.retry);
    this.buffered.length = 0;
    this.options.leave(this);
  }
}

export function asUnavailable(error: unknown): RoomcastError {
  if (error instanceof RoomcastError) return error;
  return new RoomcastError(ErrorCode.UNAVAILABLE, 'the message broker is unavailable; retry later');
}
