/**
 * This replica's holds: how many live subscriptions each member has per room here, and the leave
 * grace. Subscribing and unsubscribing never wait for the store: they change counts in memory, and
 * only a member's first hold here and its release after the grace are sent, in batches, as the state
 * they should have (so a failed batch is sent again as it is then, not replayed).
 */
import type { Logger } from '../log.js';
import { partyKey } from '../rooms/party.js';
import type { HoldState, PresenceStore } from './store.js';
import type { MemberIdentity } from './types.js';

/** Changes per store call: bounds how long one call may keep Redis busy. */
const MAX_BATCH = 500;
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

interface Entry {
  readonly room: string;
  readonly key: string;
  readonly member: MemberIdentity;
  count: number;
  /** Set while no subscription holds the member and its grace runs. */
  grace: ReturnType<typeof setTimeout> | undefined;
}

export class LocalHolds {
  /** Held members, by `room key` (a room id has no space); those in their grace included. */
  private readonly entries = new Map<string, Entry>();
  /** Holds whose state the store may not have yet, by the same id. */
  private readonly dirty = new Map<string, { room: string; key: string }>();
  private scheduled: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;
  private retryMs = 0;
  private closed = false;

  constructor(
    private readonly store: PresenceStore,
    private readonly graceMs: number,
    private readonly log: Logger,
  ) {
    store.onLost = () => this.resendAll();
  }

  /** Holds `member` in `room` until the returned function is called (idempotent), then for the grace. */
  hold(room: string, member: MemberIdentity): () => void {
    const key = partyKey(member.user, member.clientId);
    const id = `${room} ${key}`;
    let entry = this.entries.get(id);
    if (!entry) {
      entry = { room, key, member, count: 0, grace: undefined };
      this.entries.set(id, entry);
      this.markDirty(id, entry);
    } else if (entry.grace) {
      // Back within the grace: for the store nothing happened.
      clearTimeout(entry.grace);
      entry.grace = undefined;
    }
    entry.count++;
    const held = entry;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(id, held);
    };
  }

  /** Members held here (in their grace too), for tests and logs. */
  get size(): number {
    return this.entries.size;
  }

  /** Sends what is pending, then stops every timer; the store is left to close. */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    clearTimeout(this.scheduled);
    for (const entry of this.entries.values()) clearTimeout(entry.grace);
    const until = Date.now() + deadlineMs;
    await this.flushing;
    while (this.dirty.size > 0 && Date.now() < until) {
      if (!(await this.flush())) break;
    }
  }

  private release(id: string, entry: Entry): void {
    if (--entry.count > 0 || this.closed) return;
    if (this.graceMs === 0) return this.drop(id, entry);
    entry.grace = setTimeout(() => this.drop(id, entry), this.graceMs);
  }

  private drop(id: string, entry: Entry): void {
    if (this.entries.get(id) !== entry) return;
    this.entries.delete(id);
    this.markDirty(id, entry);
  }

  private resendAll(): void {
    for (const [id, entry] of this.entries) this.markDirty(id, entry);
  }

  private markDirty(id: string, { room, key }: { room: string; key: string }): void {
    this.dirty.set(id, { room, key });
    this.schedule(0);
  }

  /** One flush at a time: what changes meanwhile waits for the next batch (which is how batches form). */
  private schedule(delayMs: number): void {
    if (this.closed || this.scheduled || this.flushing) return;
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.flushing = this.flush().then(() => {
        this.flushing = undefined;
        if (this.dirty.size > 0) this.schedule(this.retryMs);
      });
    }, delayMs);
  }

  /** Sends one batch; false when the store refused it (it stays pending). */
  private async flush(): Promise<boolean> {
    const batch: HoldState[] = [];
    for (const [id, { room, key }] of this.dirty) {
      if (batch.length === MAX_BATCH) break;
      this.dirty.delete(id);
      batch.push({ room, key, member: this.entries.get(id)?.member });
    }
    if (batch.length === 0) return true;
    try {
      await this.store.apply(batch);
      this.retryMs = 0;
      return true;
    } catch (error) {
      // Newer changes of the same holds were marked meanwhile; whichever is sent, it is the state then.
      for (const { room, key } of batch) {
        const id = `${room} ${key}`;
        if (!this.dirty.has(id)) this.dirty.set(id, { room, key });
      }
      // Once per outage at warn level; the retries after it at debug.
      (this.retryMs === 0 ? this.log.warn : this.log.debug)('presence: could not store joins and leaves; retrying', {
        pending: this.dirty.size,
        error,
      });
      this.retryMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, this.retryMs * 2));
      return false;
    }
  }
}
