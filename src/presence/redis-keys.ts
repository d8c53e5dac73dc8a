/**
 * The Redis names of presence, from the key prefix. The scripts (scripts/common.lua) build the same
 * names; the Redis integration test checks both agree.
 *
 * - `{room}:presence`: hash, member key -> member JSON (its HLEN is the count);
 * - `{room}:presence:order`: sorted set, member key by joinedAt (the order `presence` lists them in);
 * - `{room}:presence:holders`: hash, member key -> how many replicas hold it;
 * - `{room}:presence:events`: the channel of the room's JOIN and LEAVE batches;
 * - `presence:replicas`: sorted set, replica instance -> its last heartbeat (Redis time, ms);
 * - `presence:replica:<instance>`: set of the instance's holds, `<room> <member key>`;
 * - `presence:reaping`: instances taken for dead whose holds are being released.
 */
export interface PresenceKeys {
  members(room: string): string;
  order(room: string): string;
  holders(room: string): string;
  events(room: string): string;
  readonly replicas: string;
  heldBy(instance: string): string;
  readonly reaping: string;
}

export function presenceKeys(prefix: string): PresenceKeys {
  const room = (id: string, suffix: string) => `${prefix}{${id}}:presence${suffix}`;
  return {
    members: (id) => room(id, ''),
    order: (id) => room(id, ':order'),
    holders: (id) => room(id, ':holders'),
    events: (id) => room(id, ':events'),
    replicas: `${prefix}presence:replicas`,
    heldBy: (instance) => `${prefix}presence:replica:${instance}`,
    reaping: `${prefix}presence:reaping`,
  };
}
