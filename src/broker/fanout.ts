/**
 * Local fan-out: which subscribers of this replica listen to which room. The first subscriber of a
 * room makes the backend listen (one upstream subscription per room per replica, however many local
 * subscribers); the last one to leave releases it. Concurrent first subscribers share the pending
 * listen, and a failed listen is rolled back so the next subscriber retries.
 */
import type { Logger } from '../log.js';
import type { Message } from '../rooms/message.js';
import type { Backend } from './backend.js';

export interface FanoutMember {
  deliver(message: Message): void;
}

interface RoomGroup {
  readonly members: Set<FanoutMember>;
  readonly listening: Promise<void>;
  live: boolean;
}

export class Fanout {
  private readonly rooms = new Map<string, RoomGroup>();

  constructor(
    private readonly backend: Pick<Backend, 'listen' | 'unlisten'>,
    private readonly log: Logger,
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
    group.listening
      .then(() => this.backend.unlisten(room))
      .catch((error: unknown) => this.log.warn('could not stop listening to a room', { room, error }));
  }

  deliver(message: Message): void {
    const group = this.rooms.get(message.room);
    if (!group) return;
    for (const member of group.members) member.deliver(message);
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  /** Each room with local subscribers and how many (read now and then by the inspector, never per message). */
  *memberCounts(): IterableIterator<[room: string, members: number]> {
    for (const [room, group] of this.rooms) if (group.members.size > 0) yield [room, group.members.size];
  }

  private open(room: string): RoomGroup {
    const group: RoomGroup = { members: new Set(), listening: this.backend.listen(room), live: false };
    this.rooms.set(room, group);
    group.listening.then(
      () => {
        group.live = true;
      },
      () => {
        if (this.rooms.get(room) === group) this.rooms.delete(room);
      },
    );
    return group;
  }
}
