import { useCallback, useEffect, useReducer, useState } from 'react';
import { useClient } from 'urql';
import { lineOf, reduceChat, type ChatLine } from './chat-lines';
import { ChatHistoryDocument, ChatMessagesDocument, SendChatDocument } from './gql/graphql';

export interface Chat {
  readonly lines: ChatLine[];
  readonly error: string | undefined;
  send(text: string): void;
  retry(line: ChatLine): void;
  reload(): void;
}

/**
 * A room's messages: its history, then a subscription right after the newest one loaded (no gap, no
 * duplicate; resumed by @roomcast/client after every reconnect). After a HistoryGap, loaded again.
 */
export function useChat(room: string, name: string): Chat {
  const client = useClient();
  const [lines, dispatch] = useReducer(reduceChat, []);
  const [error, setError] = useState<string>();
  const [generation, setGeneration] = useState(0);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);

  useEffect(() => {
    let live: { unsubscribe(): void } | undefined;
    let stopped = false;
    setError(undefined);
    void client
      .query(ChatHistoryDocument, { room }, { requestPolicy: 'network-only' })
      .toPromise()
      .then(({ data, error: failed }) => {
        if (stopped) return;
        if (!data) return setError(`could not load the room: ${failed?.message ?? 'no answer'}`);
        dispatch({ type: 'loaded', lines: data.history.map((m) => lineOf(m.seq, m.data)) });
        const after = data.history.at(-1)?.cursor ?? null;
        live = client.subscription(ChatMessagesDocument, { room, after }).subscribe((result) => {
          const event = result.data?.messages;
          if (result.error) setError(result.error.message);
          else if (event?.__typename === 'Message') dispatch({ type: 'received', line: lineOf(event.seq, event.data) });
          // Some messages could not be replayed: what is shown cannot be patched up, load it again.
          else if (event?.__typename === 'HistoryGap') reload();
        });
      });
    return () => {
      stopped = true;
      live?.unsubscribe();
    };
  }, [client, room, generation, reload]);

  const publish = useCallback(
    async (line: ChatLine) => {
      // The key makes a retry safe: a publish whose answer was lost is not stored twice.
      const result = await client
        .mutation(SendChatDocument, { room, data: { name: line.name, text: line.text }, key: line.key })
        .toPromise();
      if (result.data) dispatch({ type: 'stored', key: line.key, seq: result.data.publish.seq });
      else dispatch({ type: 'failed', key: line.key });
    },
    [client, room],
  );

  const send = useCallback(
    (text: string) => {
      const line: ChatLine = { key: crypto.randomUUID(), name, text, state: 'pending' };
      dispatch({ type: 'pending', line });
      void publish(line);
    },
    [name, publish],
  );

  const retry = useCallback(
    (line: ChatLine) => {
      dispatch({ type: 'retrying', key: line.key });
      void publish(line);
    },
    [publish],
  );

  return { lines, error, send, retry, reload };
}
