/**
 * The in-process presence store, for one replica without Redis. Its state is an object of its own so
 * that tests can give several stores ("replicas") one state, as Redis is one state for every replica;
 * it keeps holds per store exactly as the Redis store does.
 */
import { randomUUID } from 'node:crypto';
import type { HoldState, PresenceStore } from './store.js';
import type { Member, PresenceAction, PresenceEvent } from './types.js';

interface RoomState {
  /** Members in the order they joined (a Map keeps insertion order), by member key. */
  readonly members: Map<string, Member>;
  /** How many stores hold each member. */
  readonly holders: Map<string, number>;
}

type Listener = (event: PresenceEvent) => void;

export class MemoryPresenceState {
  private readonly rooms = new Map<string, RoomState>();
  /** `room key` ids held, per store. */
  private readonly holds = new Map<string, Set<string>>();
  private readonly listeners = new Map<string, Set<Listener>>();

  apply(store: string, changes: readonly HoldState[]): void {
    const events: PresenceEvent[] = [];
    for (const change of changes) {
      const event = change.member ? this.hold(store, change) : this.release(store, change.room, change.key);
      if (event) events.push(event);
    }
    // After the whole batch, as Redis publishes after its script.
    for (const event of events) for (const listener of this.listeners.get(event.room) ?? []) listener(event);
  }

  /** Releases everything `store` holds. */
  releaseAll(store: string): void {
    const held = [...(this.holds.get(store) ?? [])].map((id) => {
      const space = id.indexOf(' ');
      return { room: id.slice(0, space), key: id.slice(space + 1), member: undefined };
    });
    this.apply(store, held);
  }

  read(room: string, limit: number): { count: number; members: Member[] } {
    const members = this.rooms.get(room)?.members;
    return { count: members?.size ?? 0, members: [...(members?.values() ?? [])].slice(0, limit) };
  }

  watch(room: string, listener: Listener): () => void {
    let set = this.listeners.get(room);
    if (!set) this.listeners.set(room, (set = new Set()));
    const own = set;
    own.add(listener);
    return () => {
      own.delete(listener);
      if (own.size === 0 && this.listeners.get(room) === own) this.listeners.delete(room);
    };
  }

  private hold(store: string, { room, key, member }: HoldState): PresenceEvent | undefined {
    const held = this.heldBy(store);
    if (held.has(`${room} ${key}`)) return undefined;
    held.add(`${room} ${key}`);
    let state = this.rooms.get(room);
    if (!state) this.rooms.set(room, (state = { members: new Map(), holders: new Map() }));
    const holders = (state.holders.get(key) ?? 0) + 1;
    state.holders.set(key, holders);
    if (holders > 1) return undefined;
    const joined: Member = { clientId: member!.clientId, user: member!.user, info: member!.info, joinedAt: new Date() };
    state.members.set(key, joined);
    return event(room, 'JOIN', joined, state.members.size);
  }

  private release(store: string, room: string, key: string): PresenceEvent | undefined {
    const held = this.holds.get(store);
    if (!held?.delete(`${room} ${key}`)) return undefined;
    if (held.size === 0) this.holds.delete(store);
    const state = this.rooms.get(room)!;
    const holders = state.holders.get(key)! - 1;
    if (holders > 0) {
      state.holders.set(key, holders);
      return undefined;
    }
    const left = state.members.get(key)!;
    state.holders.delete(key);
    state.members.delete(key);
    if (state.members.size === 0) this.rooms.delete(room);
    return event(room, 'LEAVE', left, state.members.size);
  }

  /** Present while it holds something, so that an idle store costs nothing. */
  private heldBy(store: string): Set<string> {
    let held = this.holds.get(store);
    if (!held) this.holds.set(store, (held = new Set()));
    return held;
  }
}

const event = (room: string, action: PresenceAction, member: Member, count: number): PresenceEvent => ({ room, action, member, count });

/** A store over `state` (a new one by default: the process's own presence). */
export function createMemoryPresenceStore(state = new MemoryPresenceState()): PresenceStore {
  const id = randomUUID();
  const unwatchers = new Set<() => void>();
  return {
    kind: 'memory',
    onLost: () => {},
    apply: async (changes) => state.apply(id, changes),
    read: async (room, limit) => ({ room, ...state.read(room, limit) }),
    async watch(room, listener) {
      const unwatch = state.watch(room, listener);
      unwatchers.add(unwatch);
      return () => {
        unwatchers.delete(unwatch);
        unwatch();
      };
    },
    // No other replica is left to keep the grace for this one: its members leave now.
    async close() {
      state.releaseAll(id);
      for (const unwatch of unwatchers) unwatch();
      unwatchers.clear();
    },
  };
}
