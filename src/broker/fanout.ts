/**
 * Local fan-out: which subscribers of this replica listen to which room. The first subscriber of a
 * room makes the backend listen (one upstream subscription per room per replica, however many local
 * subscribers); the last one to leave releases it. This is the one count of a room's subscriptions:
 * the backend is asked to listen and unlisten in turn, one request after the other settled, so it
 * needs no count of its own. Concurrent first subscribers share the pending listen, and a failed
 * listen is undone (what Redis answers late is released) so the next subscriber retries.
 *
 * It also watches each listened room's head for going back, which only a Redis that lost
 * acknowledged messages does (a failover, a restart from an older snapshot): a live message at or
 * below the last live one of its epoch, or a read answering a head below one seen before the read
 * was sent. `onBehind` is told (broker.ts ends the epoch).
 */
import type { Logger } from '../log.js';
import type { Message } from '../rooms/message.js';
import type { Backend, RoomSnapshot } from './backend.js';

export interface FanoutMember {
  deliver(message: Message): void;
}

/** A room's position as this replica saw it. */
export interface SeenHead {
  epoch: string | null;
  seq: number;
}

interface RoomGroup {
  readonly members: Set<FanoutMember>;
  readonly listening: Promise<void>;
  live: boolean;
  /** The last live message. Pub/sub keeps a room's order, so only a rollback repeats or lowers its seq. */
  lastLive: Message | undefined;
  /**
   * The highest head seen, live or read. Not for comparing live messages with: a read's reply can
   * overtake a message already published (two connections), never a rollback.
   */
  readonly known: SeenHead;
}

/** The room's head went back: `seen` was delivered or read here, and now Redis is at `head`. */
export type OnBehind = (room: string, epoch: string, seen: number, head: number) => void;

export class Fanout {
  private readonly rooms = new Map<string, RoomGroup>();
  /** Per room, the last listen or unlisten asked of the backend, settled: the next waits for it. */
  private readonly upstream = new Map<string, Promise<void>>();

  constructor(
    private readonly backend: Pick<Backend, 'listen' | 'unlisten'>,
    private readonly log: Logger,
    private readonly onBehind: OnBehind = () => {},
  ) {}

  /** True when the room is already listened to, so a new member misses nothing from now on. */
  isLive(room: string): boolean {
    return this.rooms.get(room)?.live === true;
  }

  /** Adds a member; resolves once the room is listened to. On failure the member is not added. */
  async join(room: string, member: FanoutMember): Promise<void> {
    let group = this.rooms.get(room);
    if (!group) group = this.open(room);
    group.members.add(member);
    try {
      await group.listening;
    } catch (error) {
      group.members.delete(member);
      throw error;
    }
  }

  leave(room: string, member: FanoutMember): void {
    const group = this.rooms.get(room);
    if (!group || !group.members.delete(member) || group.members.size > 0) return;
    this.rooms.delete(room);
    this.inTurn(room, () => this.backend.unlisten(room)).catch((error: unknown) =>
      this.log.warn('could not stop listening to a room', { room, error }),
    );
  }

  deliver(message: Message): void {
    const group = this.rooms.get(message.room);
    if (!group) return;
    const last = group.lastLive;
    if (last && message.epoch === last.epoch && message.seq <= last.seq) this.onBehind(message.room, message.epoch, last.seq, message.seq);
    group.lastLive = message;
    raise(group.known, message.epoch, message.seq);
    for (const member of group.members) member.deliver(message);
  }

  /** The highest head seen of a listened room, taken before a read is sent (`observeRead`). */
  knownHead(room: string): SeenHead | undefined {
    const known = this.rooms.get(room)?.known;
    return known && { ...known };
  }

  /**
   * Takes in a read's head; true when it is behind `before`, what was seen before the read was sent
   * (Redis answers a read sent after a message was stored with that message or later, unless it lost it).
   */
  observeRead(room: string, before: SeenHead | undefined, snapshot: RoomSnapshot): boolean {
    if (before && snapshot.epoch !== null && snapshot.epoch === before.epoch && snapshot.seq < before.seq) {
      this.onBehind(room, snapshot.epoch, before.seq, snapshot.seq);
      return true;
    }
    const group = this.rooms.get(room);
    if (group && snapshot.epoch !== null) raise(group.known, snapshot.epoch, snapshot.seq);
    return false;
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  /** Each room with local subscribers and how many (read now and then by the inspector, never per message). */
  *memberCounts(): IterableIterator<[room: string, members: number]> {
    for (const [room, group] of this.rooms) if (group.members.size > 0) yield [room, group.members.size];
  }

  private open(room: string): RoomGroup {
    const group: RoomGroup = {
      members: new Set(),
      listening: this.inTurn(room, () => this.backend.listen(room)),
      live: false,
      lastLive: undefined,
      known: { epoch: null, seq: 0 },
    };
    this.rooms.set(room, group);
    group.listening.then(
      () => {
        group.live = true;
      },
      () => {
        if (this.rooms.get(room) === group) this.rooms.delete(room);
        void this.inTurn(room, () => this.backend.unlisten(room)).catch(() => {});
      },
    );
    return group;
  }

  /** Asks the backend once its previous request for the room has settled. */
  private inTurn(room: string, request: () => Promise<void>): Promise<void> {
    const previous = this.upstream.get(room);
    const asked = previous ? previous.then(request) : request();
    const settled = asked.catch(() => {});
    this.upstream.set(room, settled);
    void settled.then(() => {
      if (this.upstream.get(room) === settled) this.upstream.delete(room);
    });
    return asked;
  }
}

/** Moves `seen` up to (epoch, seq): a new epoch replaces it, the same one only goes forward. */
function raise(seen: SeenHead, epoch: string, seq: number): void {
  if (seen.epoch !== epoch) {
    seen.epoch = epoch;
    seen.seq = seq;
  } else if (seq > seen.seq) seen.seq = seq;
}
