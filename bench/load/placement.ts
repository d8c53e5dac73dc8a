/**
 * Where subscriber k and message i go: which room, which replica. One formula for both, so that every
 * room has subscribers on, and is published through, every replica (a naive `k % replicas` with
 * `k % rooms` would put every subscriber of a room, and every publish to it, on the same replica
 * whenever the replica count divides the room count, and Redis would carry nothing between replicas).
 */
export function roomName(index: number): string {
  return `bench-r${index}`;
}

export function roomIndexOf(k: number, rooms: number): number {
  return k % rooms;
}

/** The j-th member of room r goes to replica (j + r) % replicas: each room alternates over the replicas. */
export function replicaIndexOf(k: number, rooms: number, replicas: number): number {
  const r = k % rooms;
  const j = Math.floor(k / rooms);
  return (j + r) % replicas;
}
