import type { RoomcastClient } from '@roomcast/client';
import { useEffect, useState } from 'react';
import { useClient } from 'urql';
import { PresenceChangesDocument, WhoIsHereDocument, type WhoIsHereQuery } from './gql/graphql';

export type Member = WhoIsHereQuery['presence']['members'][number];

export interface Presence {
  readonly count: number;
  readonly members: ReadonlyMap<string, Member>;
}

/** A member is the (token sub, client id) pair. */
const keyOf = (member: Member) => `${member.clientId} ${member.user ?? ''}`;

/**
 * Who is in the room. The server sends no snapshot with the events: subscribe, then query (over the
 * same WebSocket, so the query is answered after the subscription started), then apply each JOIN and
 * LEAVE. After a reconnect, or when the count says the list missed something, query again.
 */
export function usePresence(room: string, ws: RoomcastClient): Presence {
  const client = useClient();
  const [presence, setPresence] = useState<Presence>({ count: 0, members: new Map() });
  const [asked, setAsked] = useState(0);
  const askAgain = () => setAsked((n) => n + 1);

  useEffect(() => {
    const events = client.subscription(PresenceChangesDocument, { room }).subscribe(({ data }) => {
      const change = data?.presence;
      if (!change) return;
      setPresence((before) => {
        const members = new Map(before.members);
        if (change.action === 'JOIN') members.set(keyOf(change.member), change.member);
        else members.delete(keyOf(change.member));
        return { count: change.count, members };
      });
    });
    return () => events.unsubscribe();
  }, [client, room]);

  useEffect(() => {
    const query = client.query(WhoIsHereDocument, { room }, { requestPolicy: 'network-only', viaWebSocket: true }).subscribe(({ data }) => {
      if (data) setPresence({ count: data.presence.count, members: new Map(data.presence.members.map((m) => [keyOf(m), m])) });
    });
    return () => query.unsubscribe();
  }, [client, room, asked]);

  // Events sent while the connection was down are lost: ask again on every (re)connect.
  useEffect(() => ws.on('connected', askAgain), [ws]);

  // Only the first 100 are listed; below that, the list and the count must agree.
  const { count, members } = presence;
  useEffect(() => {
    if (members.size !== count && members.size < 100) askAgain();
  }, [count, members]);

  return presence;
}
