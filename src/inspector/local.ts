/**
 * This replica's report, made from the counts the broker's fan-out keeps anyway: reading them is a
 * walk over its rooms, done only when the inspector asks or reports, never per message.
 */
import type { Broker } from '../broker/broker.js';
import type { ReplicaReport, RoomLoad } from './types.js';

export interface LocalReporter {
  /** The replica's report as of now. */
  report(): ReplicaReport;
}

export function localReporter(
  broker: Pick<Broker, 'roomSubscriptions'>,
  replica: string,
  instance: string,
  maxRooms: number,
): LocalReporter {
  return {
    report() {
      let roomCount = 0;
      let subscriptions = 0;
      const top = new TopRooms(maxRooms);
      for (const load of broker.roomSubscriptions()) {
        roomCount++;
        subscriptions += load[1];
        top.offer(load);
      }
      return { replica, instance, reportedAt: Date.now(), roomCount, subscriptions, rooms: top.rooms };
    },
  };
}

/** Most subscriptions first, then by room id, so that equal counts list the same way on every read. */
export const byLoad = (a: RoomLoad, b: RoomLoad): number => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

/**
 * The `size` heaviest rooms, kept sorted while offered: O(rooms × log size) compares and a shift of at
 * most `size` entries per room that makes it in, rather than sorting every room of a busy replica.
 */
class TopRooms {
  readonly rooms: RoomLoad[] = [];

  constructor(private readonly size: number) {}

  offer(load: RoomLoad): void {
    const { rooms } = this;
    if (rooms.length === this.size && byLoad(load, rooms[rooms.length - 1]!) >= 0) return;
    let low = 0;
    let high = rooms.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (byLoad(load, rooms[mid]!) < 0) high = mid;
      else low = mid + 1;
    }
    rooms.splice(low, 0, load);
    if (rooms.length > this.size) rooms.pop();
  }
}
