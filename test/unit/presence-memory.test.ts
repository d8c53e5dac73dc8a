/**
 * The presence contract on the memory store: several "replicas" over one in-process state, as Redis
 * is one state for every replica.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMemoryPresenceStore, MemoryPresenceState } from '../../src/presence/memory.js';
import { createPresence, type Presence } from '../../src/presence/presence.js';
import { describePresenceContract } from '../contracts/presence.contract.js';
import { waitFor } from '../helpers/wait.js';

const log = createLogger('silent');

describePresenceContract('memory', async () => {
  const state = new MemoryPresenceState();
  const made: Presence[] = [];
  return {
    replica(graceMs) {
      const presence = createPresence(createMemoryPresenceStore(state), { graceMs, timeoutMs: 1_000, log });
      made.push(presence);
      return presence;
    },
    close: async () => {
      for (const presence of made) await presence.close();
    },
  };
});

describe('memory presence, when its process stops', () => {
  it('should let its members leave at once: no replica is left to keep their grace', async () => {
    const state = new MemoryPresenceState();
    const presence = createPresence(createMemoryPresenceStore(state), { graceMs: 60_000, timeoutMs: 1_000, log });
    const watcher = createPresence(createMemoryPresenceStore(state), { graceMs: 60_000, timeoutMs: 1_000, log });
    const actions: string[] = [];
    await watcher.watch('r', (event) => actions.push(`${event.action} ${event.count}`));
    const release = presence.hold('r', { clientId: 'c', user: null, info: null });
    await waitFor('the JOIN', () => actions.length === 1);
    release();
    await presence.close();
    expect(actions).toEqual(['JOIN 1', 'LEAVE 0']);
    expect((await watcher.read('r', 10)).count).toBe(0);
    await watcher.close();
  });
});
