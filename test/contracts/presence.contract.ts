/**
 * The one suite every presence store must pass: memory and Redis keep the same promises. A cluster
 * is several replicas' presence services over one shared store (one in-process state, or one Redis).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Presence } from '../../src/presence/presence.js';
import type { MemberIdentity, PresenceEvent } from '../../src/presence/types.js';
import { waitFor } from '../helpers/wait.js';

interface PresenceCluster {
  /** A new replica's presence service, with this leave grace, over the cluster's store. */
  replica(graceMs: number): Presence;
  /** Closes every replica made. */
  close(): Promise<void>;
}

export type PresenceClusterFactory = () => Promise<PresenceCluster>;

/** A short grace keeps the suite quick; every wait below is measured against it. */
const GRACE_MS = 300;

/** Every event of a room seen by one watcher, in order. */
class Watcher {
  readonly events: PresenceEvent[] = [];
  stop: () => void = () => {};

  static async start(presence: Presence, room: string): Promise<Watcher> {
    const watcher = new Watcher();
    watcher.stop = await presence.watch(room, (event) => watcher.events.push(event));
    return watcher;
  }

  /** Waits for `count` events in all, then returns them as `ACTION clientId count` lines. */
  async lines(count: number, timeoutMs = 5_000): Promise<string[]> {
    await waitFor(`${count} presence events (have ${this.events.length})`, () => this.events.length >= count, timeoutMs);
    return this.events.map(line);
  }
}

const line = (e: PresenceEvent) => `${e.action} ${e.member.clientId} ${e.count}`;
const who = (clientId: string, user: string | null = null, info: unknown = null): MemberIdentity => ({ clientId, user, info });

export function describePresenceContract(name: string, factory: PresenceClusterFactory): void {
  describe(`Presence contract: ${name}`, () => {
    let cluster: PresenceCluster;
    let room: string;
    let counter = 0;
    const watchers: Watcher[] = [];

    beforeEach(async () => {
      cluster = await factory();
      room = `presence-${Date.now()}-${counter++}`;
    });
    afterEach(async () => {
      for (const watcher of watchers.splice(0)) watcher.stop();
      await cluster.close();
    });

    const watch = async (presence: Presence, target = room) => {
      const watcher = await Watcher.start(presence, target);
      watchers.push(watcher);
      return watcher;
    };
    /**
     * A probe member joins on `presence` after `afterMs`: events come in order, so once its JOIN is
     * seen, everything before it (a LEAVE that the grace would have let out) has been seen too.
     */
    const probe = async (presence: Presence, watcher: Watcher, afterMs: number) => {
      const from = Date.now();
      await waitFor('the probe time', () => Date.now() - from >= afterMs, afterMs + 1_000, 10);
      presence.hold(room, who('probe'));
      await waitFor('the probe JOIN', () => watcher.events.some((e) => e.member.clientId === 'probe'));
      return watcher.events.map(line);
    };

    it('should publish a JOIN with the count at a first hold, and list the member', async () => {
      const a = cluster.replica(GRACE_MS);
      const watcher = await watch(a);
      const before = Date.now();
      a.hold(room, who('c1', 'alice', { name: 'Alice' }));
      expect(await watcher.lines(1)).toEqual(['JOIN c1 1']);
      const [joined] = watcher.events;
      expect(joined).toMatchObject({ room, action: 'JOIN', count: 1, member: { clientId: 'c1', user: 'alice', info: { name: 'Alice' } } });
      // Within a second either way: the Redis store stamps joinedAt by Redis's clock.
      expect(Math.abs(joined!.member.joinedAt.getTime() - before)).toBeLessThan(1_000);
      expect(await a.read(room, 100)).toEqual({ room, count: 1, members: [joined!.member] });
    });

    it('should make several holds of one member one member, which leaves once, a grace after the last release', async () => {
      const a = cluster.replica(GRACE_MS);
      const watcher = await watch(a);
      const releases = [1, 2, 3].map(() => a.hold(room, who('c1')));
      await watcher.lines(1);
      releases[0]!();
      releases[0]!(); // twice is once
      releases[1]!();
      expect(await probe(a, watcher, GRACE_MS + 100)).toEqual(['JOIN c1 1', 'JOIN probe 2']);
      const released = Date.now();
      releases[2]!();
      expect(await watcher.lines(3)).toEqual(['JOIN c1 1', 'JOIN probe 2', 'LEAVE c1 1']);
      expect(Date.now() - released).toBeGreaterThanOrEqual(GRACE_MS - 20);
      expect((await a.read(room, 100)).members.map((m) => m.clientId)).toEqual(['probe']);
    });

    it('should count exactly and list at most `limit` members, earliest joined first', async () => {
      const a = cluster.replica(GRACE_MS);
      const watcher = await watch(a);
      for (const id of ['m1', 'm2', 'm3', 'm4', 'm5']) {
        a.hold(room, who(id));
        // One by one, so that each has its own joinedAt.
        await waitFor(`${id} to join`, () => watcher.events.some((e) => e.member.clientId === id));
      }
      const two = await a.read(room, 2);
      expect(two.count).toBe(5);
      expect(two.members.map((m) => m.clientId)).toEqual(['m1', 'm2']);
      expect((await a.read(room, 1000)).members.map((m) => m.clientId)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
      expect(await a.read(`${room}-empty`, 10)).toEqual({ room: `${room}-empty`, count: 0, members: [] });
    });

    it('should keep a member held on two replicas until both release it', async () => {
      const [a, b] = [cluster.replica(GRACE_MS), cluster.replica(GRACE_MS)];
      const watcher = await watch(b);
      const onA = a.hold(room, who('c1'));
      await watcher.lines(1);
      const onB = b.hold(room, who('c1'));
      onA();
      expect(await probe(a, watcher, GRACE_MS + 100)).toEqual(['JOIN c1 1', 'JOIN probe 2']);
      onB();
      expect(await watcher.lines(3)).toEqual(['JOIN c1 1', 'JOIN probe 2', 'LEAVE c1 1']);
    });

    it('should keep a member back within the grace, on the same replica or another, with no LEAVE and no JOIN', async () => {
      const [a, b] = [cluster.replica(GRACE_MS), cluster.replica(GRACE_MS)];
      const watcher = await watch(a);
      const first = a.hold(room, who('c1'));
      await watcher.lines(1);
      const { joinedAt } = watcher.events[0]!.member;
      first();
      const again = a.hold(room, who('c1')); // a resubscription on the same replica
      again();
      expect((await a.read(room, 10)).count).toBe(1); // still a member during the grace
      const elsewhere = b.hold(room, who('c1')); // reconnected to another replica
      expect(await probe(a, watcher, GRACE_MS + 100)).toEqual(['JOIN c1 1', 'JOIN probe 2']);
      expect((await b.read(room, 10)).members.find((m) => m.clientId === 'c1')?.joinedAt).toEqual(joinedAt);
      elsewhere();
      expect(await watcher.lines(3)).toEqual(['JOIN c1 1', 'JOIN probe 2', 'LEAVE c1 1']);
    });

    it('should tell members apart by the pair (user, client id)', async () => {
      const a = cluster.replica(GRACE_MS);
      const watcher = await watch(a);
      a.hold(room, who('same', 'alice', 'A'));
      a.hold(room, who('same', 'mallory', 'M'));
      a.hold(room, who('same', null));
      a.hold(room, who('same', 'alice', 'A again'));
      await watcher.lines(3);
      const { count, members } = await a.read(room, 10);
      expect(count).toBe(3);
      expect(members.map((m) => [m.user, m.info]).sort()).toEqual(
        [
          ['alice', 'A'],
          ['mallory', 'M'],
          [null, null],
        ].sort(),
      );
    });

    it('should give every watcher on every replica the same events in one order, with counts that reads match', async () => {
      const replicas = [cluster.replica(GRACE_MS), cluster.replica(GRACE_MS), cluster.replica(GRACE_MS)];
      const seen = await Promise.all(replicas.map((r) => watch(r)));
      // 10 members per replica, all at once; one of them on every replica.
      const releases = replicas.flatMap((r, i) => [
        ...Array.from({ length: 10 }, (_, n) => r.hold(room, who(`r${i}-${n}`))),
        r.hold(room, who('everywhere')),
      ]);
      const joins = await seen[0]!.lines(31);
      expect(joins.map((l) => Number(l.split(' ')[2]))).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
      expect(new Set(joins.map((l) => l.split(' ')[1])).size).toBe(31);
      for (const watcher of seen.slice(1)) expect(await watcher.lines(31)).toEqual(joins);
      for (const r of replicas) expect((await r.read(room, 1000)).count).toBe(31);

      for (const release of releases) release();
      const all = await seen[0]!.lines(62);
      expect(all.slice(31).map((l) => l.split(' ')[0])).toEqual(Array(31).fill('LEAVE'));
      expect(all.slice(31).map((l) => Number(l.split(' ')[2]))).toEqual(Array.from({ length: 31 }, (_, i) => 30 - i));
      for (const watcher of seen.slice(1)) expect(await watcher.lines(62)).toEqual(all);
      expect(await replicas[2]!.read(room, 10)).toEqual({ room, count: 0, members: [] });
    });

    it('should keep users and info exactly as given, whatever they hold', async () => {
      const a = cluster.replica(GRACE_MS);
      const watcher = await watch(a);
      const user = 'quote " backslash \\ space é 😀 </script> \u0000 ","x":"';
      const info = { name: 'Zoë "Z" \\', nested: [1, 2.5, -3e-7, true, null, { deep: '\u2028' }], big: 9007199254740991, empty: {} };
      a.hold(room, who('c1', user, info));
      a.hold(room, who('c2', null, 'just a string'));
      await watcher.lines(2);
      expect(watcher.events.map((e) => [e.member.user, e.member.info])).toEqual([
        [user, info],
        [null, 'just a string'],
      ]);
      const { members } = await a.read(room, 10);
      expect(members.map((m) => [m.user, m.info])).toEqual([
        [user, info],
        [null, 'just a string'],
      ]);
    });

    it('should keep rooms apart, and stop delivering once a watch stops', async () => {
      const a = cluster.replica(GRACE_MS);
      const here = await watch(a);
      const there = await watch(a, `${room}-other`);
      const stopped = await watch(a);
      stopped.stop();
      a.hold(`${room}-other`, who('elsewhere'));
      a.hold(room, who('here'));
      expect(await here.lines(1)).toEqual(['JOIN here 1']);
      expect(await there.lines(1)).toEqual(['JOIN elsewhere 1']);
      expect(stopped.events).toEqual([]);
      expect((await a.read(room, 10)).members.map((m) => m.clientId)).toEqual(['here']);
    });
  });
}
