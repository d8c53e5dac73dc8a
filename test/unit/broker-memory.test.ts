import { createBroker } from '../../src/broker/broker.js';
import { createMemoryBackend } from '../../src/broker/memory.js';
import { createLogger } from '../../src/log.js';
import { describeBrokerContract } from '../contracts/broker.contract.js';

describeBrokerContract('memory', async ({ historySize }) => {
  let clock = Date.now();
  const ttlSeconds = 3600;
  const broker = createBroker(
    createMemoryBackend({ historySize, historyTtlSeconds: ttlSeconds, now: () => clock }),
    createLogger('silent'),
  );
  return {
    broker,
    // The memory broker loses a room's history when it expires: move its clock past the TTL.
    loseHistory: async () => {
      clock += ttlSeconds * 1000 + 1;
    },
    close: () => broker.close(),
  };
});
