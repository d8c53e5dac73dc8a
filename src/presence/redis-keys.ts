/**
 * The Redis names of presence, from the key prefix. Each script touches one hash tag, so that on a
 * Redis Cluster every call goes to one slot: a room's own keys carry the room's tag, the replicas'
 * registry the tag `{presence}`.
 *
 * - `{room}:presence`: hash, member key -> member JSON (its HLEN is the count);
 * - `{room}:presence:order`: sorted set, member key by joinedAt (the order `presence` lists them in);
 * - `{room}:presence:holders`: hash, member key -> how many replicas hold it;
 * - `{room}:presence:held:<instance>`: set, the member keys a replica instance holds in the room;
 * - `{room}:presence:events`: the channel of the room's JOIN and LEAVE batches;
 * - `{presence}:replicas`: sorted set, replica instance -> its last heartbeat (Redis time, ms);
 * - `{presence}:rooms:<instance>`: set, the rooms where the instance holds (or held) members, where
 *   whoever reaps it looks;
 * - `{presence}:reaping`: instances taken for dead whose holds are being released.
 */
export interface PresenceKeys {
  members(room: string): string;
  order(room: string): string;
  holders(room: string): string;
  held(room: string, instance: string): string;
  events(room: string): string;
  readonly replicas: string;
  rooms(instance: string): string;
  readonly reaping: string;
}

export function presenceKeys(prefix: string): PresenceKeys {
  const room = (id: string, suffix: string) => `${prefix}{${id}}:presence${suffix}`;
  return {
    members: (id) => room(id, ''),
    order: (id) => room(id, ':order'),
    holders: (id) => room(id, ':holders'),
    held: (id, instance) => room(id, `:held:${instance}`),
    events: (id) => room(id, ':events'),
    replicas: `${prefix}{presence}:replicas`,
    rooms: (instance) => `${prefix}{presence}:rooms:${instance}`,
    reaping: `${prefix}{presence}:reaping`,
  };
}
