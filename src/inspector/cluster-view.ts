/**
 * The cluster's rooms from every replica's report: each room's subscriptions summed, with each
 * replica's share. Pure.
 */
import { byLoad } from './local.js';
import type { ReplicaReport } from './types.js';

export interface RoomView {
  readonly room: string;
  readonly subscribers: number;
  /** Replicas with subscriptions to the room, most first (then by name). */
  readonly replicas: readonly { readonly replica: string; readonly subscribers: number }[];
}

/** The `limit` rooms with the most subscriptions on all the replicas together, most first. */
export function roomsOf(reports: readonly ReplicaReport[], limit: number): RoomView[] {
  const shares = new Map<string, { replica: string; subscribers: number }[]>();
  for (const report of reports) {
    for (const [room, subscribers] of report.rooms) {
      let list = shares.get(room);
      if (!list) shares.set(room, (list = []));
      list.push({ replica: report.replica, subscribers });
    }
  }
  const totals = [...shares].map(([room, list]) => [room, list.reduce((sum, share) => sum + share.subscribers, 0)] as const);
  return totals
    .sort(byLoad)
    .slice(0, limit)
    .map(([room, subscribers]) => ({
      room,
      subscribers,
      replicas: shares.get(room)!.sort((a, b) => byLoad([a.replica, a.subscribers], [b.replica, b.subscribers])),
    }));
}
