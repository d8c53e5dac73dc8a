/**
 * Waiting for the publisher's connection. It has no offline queue (a publish is sent now or fails), so
 * a publish made while it connects, or reconnects after Redis came back, waits for it instead of
 * failing at once; past the deadline it fails.
 */
import type { RedisClient } from '../broker/redis-connection.js';
import { withDeadline } from '../deadline.js';

export async function untilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'end') throw new Error('the connection is closed');
  let onReady = () => {};
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
    client.once('ready', onReady);
  });
  await withDeadline(ready, timeoutMs, () => {
    client.off('ready', onReady);
    throw new Error(`not connected within ${timeoutMs} ms`);
  });
}
