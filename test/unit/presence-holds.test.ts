/**
 * A replica's holds on their own, over a store that records what it is told: joins and leaves go in
 * batches, never one store call per subscription; failed batches are sent again as the state then;
 * a store that lost the replica's holds gets all of them; close sends what is pending and stops.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { LocalHolds } from '../../src/presence/holds.js';
import type { HoldState, PresenceStore } from '../../src/presence/store.js';
import { waitFor } from '../helpers/wait.js';

/** Applies into a map of what is held, like a store; `refuse` makes the next calls reject. */
function recordingStore() {
  const held = new Map<string, string>();
  const calls: HoldState[][] = [];
  let refuse = 0;
  const store: PresenceStore & { held: typeof held; calls: typeof calls; refuseNext(n: number): void } = {
    kind: 'memory',
    held,
    calls,
    refuseNext: (n) => void (refuse = n),
    onLost: () => {},
    async apply(holds) {
      calls.push([...holds]);
      if (refuse > 0) {
        refuse--;
        throw new Error('unreachable');
      }
      for (const { room, key, member } of holds) {
        if (member) held.set(`${room} ${key}`, member.clientId);
        else held.delete(`${room} ${key}`);
      }
    },
    read: async () => ({ room: '', count: 0, members: [] }),
    watch: async () => () => {},
    close: async () => {},
  };
  return store;
}

const log = createLogger('silent');
const member = (clientId: string) => ({ clientId, user: null, info: null });

describe('LocalHolds', () => {
  it('should send the joins of many subscriptions in a few batches of at most 500', async () => {
    const store = recordingStore();
    const holds = new LocalHolds(store, 1_000, log);
    for (let i = 0; i < 1_200; i++) holds.hold(`room-${i % 3}`, member(`c${i}`));
    await waitFor('every join stored', () => store.held.size === 1_200);
    expect(store.calls.map((batch) => batch.length)).toEqual([500, 500, 200]);
    await holds.close(1_000);
  });

  it('should tell the store nothing for more subscriptions of a held member, nor for one back within the grace', async () => {
    const store = recordingStore();
    const holds = new LocalHolds(store, 200, log);
    const first = holds.hold('r', member('c'));
    await waitFor('the join stored', () => store.held.size === 1);
    const second = holds.hold('r', member('c'));
    first();
    second();
    const back = holds.hold('r', member('c'));
    const from = Date.now();
    await waitFor('past the grace', () => Date.now() - from > 300);
    expect(store.calls).toHaveLength(1);
    back();
    await waitFor('the leave stored', () => store.held.size === 0);
    expect(store.calls).toHaveLength(2);
    await holds.close(1_000);
  });

  it('should send a failed batch again as the state it then has', async () => {
    const store = recordingStore();
    store.refuseNext(2);
    const holds = new LocalHolds(store, 0, log);
    const stays = holds.hold('r', member('stays'));
    const goes = holds.hold('r', member('goes'));
    await waitFor('a first refusal', () => store.calls.length >= 1);
    goes(); // released while the batch that held it failed
    await waitFor('the state stored', () => store.calls.length >= 3 && store.held.size === 1);
    expect([...store.held.values()]).toEqual(['stays']);
    stays();
    await waitFor('the leave stored', () => store.held.size === 0);
    await holds.close(1_000);
  });

  it('should send every hold again when the store lost them', async () => {
    const store = recordingStore();
    const holds = new LocalHolds(store, 60_000, log);
    holds.hold('a', member('c1'));
    const inGrace = holds.hold('b', member('c2'));
    inGrace();
    await waitFor('both stored', () => store.held.size === 2);
    store.held.clear();
    store.onLost();
    await waitFor('both stored again', () => store.held.size === 2);
    await holds.close(1_000);
  });

  it('should send what is pending when closed, and stop its grace timers', async () => {
    const store = recordingStore();
    const holds = new LocalHolds(store, 60_000, log);
    const release = holds.hold('r', member('c'));
    release();
    await holds.close(1_000);
    // Held in the store, to be released by the replicas left after the grace; nothing more from here.
    expect([...store.held.values()]).toEqual(['c']);
    holds.hold('r', member('late'));
    const calls = store.calls.length;
    const from = Date.now();
    await waitFor('a while', () => Date.now() - from > 50);
    expect(store.calls).toHaveLength(calls);
  });
});
