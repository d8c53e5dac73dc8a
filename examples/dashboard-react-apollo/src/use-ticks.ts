import { useQuery, useSubscription } from '@apollo/client/react';
import { useState } from 'react';
import { LatestTickDocument, TicksDocument } from './gql/graphql';

export interface Tick {
  readonly seq: number;
  readonly price: number;
  readonly publishedAt: string;
}

export interface TickStats {
  readonly latest: Tick | undefined;
  /** Ticks this page was given (each one a render). */
  readonly updates: number;
  /** Ticks published since the page started watching, from the seqs it saw. */
  readonly published: number;
  readonly error: string | undefined;
}

function tickOf(seq: number, data: unknown, publishedAt: string): Tick {
  const { price } = (data ?? {}) as { price?: unknown };
  return { seq, price: typeof price === 'number' ? price : Number.NaN, publishedAt };
}

/** The room's newest tick, then the ticks after it, throttled by the server to one per `throttleMs`. */
export function useTicks(room: string, throttleMs: number): TickStats {
  const newest = useQuery(LatestTickDocument, { variables: { room }, fetchPolicy: 'network-only' });
  const loaded = newest.data?.history.at(-1);
  const [stats, setStats] = useState<{ latest?: Tick; firstSeq?: number; updates: number }>({ updates: 0 });

  const live = useSubscription(TicksDocument, {
    // Right after the newest tick shown, so nothing between the query and the subscription is lost.
    variables: { room, after: loaded?.cursor ?? null, throttleMs },
    skip: newest.loading,
    onData: ({ data }) => {
      const event = data.data?.messages;
      if (event?.__typename !== 'Message') return;
      const tick = tickOf(event.seq, event.data, event.publishedAt);
      setStats((before) => ({ latest: tick, firstSeq: before.firstSeq ?? tick.seq, updates: before.updates + 1 }));
    },
  });

  const latest = stats.latest ?? (loaded && tickOf(loaded.seq, loaded.data, ''));
  const published = stats.latest && stats.firstSeq !== undefined ? stats.latest.seq - stats.firstSeq + 1 : 0;
  const error = newest.error?.message ?? live.error?.message;
  return { latest, updates: stats.updates, published, error };
}
