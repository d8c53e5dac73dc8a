/**
 * Waits until every open subscriber is really subscribed. None of the protocols acknowledges a
 * subscription as set up (graphql-ws has no such message; a Redis SUBSCRIBE on another replica
 * completes later still), so the barrier publishes a probe to every room, again every round, until
 * every open subscriber has received one. Probes take ids below the next measured phase's, so no
 * figure counts them.
 */
import type { Session } from './session.js';

const ROUND_MS = 300;
const POLL_MS = 25;

export interface BarrierResult {
  readonly ready: number;
  readonly open: number;
  readonly ms: number;
}

export async function awaitSubscribed(session: Session, timeoutMs: number): Promise<BarrierResult> {
  const started = Date.now();
  const probeFrom = session.peekId();
  for (;;) {
    const fromId = session.takeIds(session.rooms);
    await session.publisher.call('run', { fromId, count: session.rooms, rate: 2_000 });
    const roundEnd = Date.now() + ROUND_MS;
    while (Date.now() < roundEnd) {
      const progress = await session.pool.progress(probeFrom);
      if (progress.ready >= progress.open || Date.now() - started > timeoutMs) {
        return { ready: progress.ready, open: progress.open, ms: Date.now() - started };
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
