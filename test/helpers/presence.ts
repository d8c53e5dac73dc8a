/**
 * Presence from a client's side: members are WebSocket clients subscribed to a room's messages, and
 * watchers are `presence` subscriptions, read as `ACTION clientId count` lines.
 */
import type { ExecutionResult } from 'graphql';
import type { Client, ClientOptions } from 'graphql-ws';
import { PresenceEventsDocument, RoomMessagesDocument, type PresenceEventsSubscription } from '../generated/graphql.js';
import { subscribeWs, wsClient, type Stream } from './clients.js';
import { waitFor } from './wait.js';

export type PresenceStream = Stream<ExecutionResult<PresenceEventsSubscription>>;

/** `JOIN c1 3`; throws on an error result. */
function presenceLine(result: ExecutionResult<PresenceEventsSubscription>): string {
  if (!result.data) throw new Error(`presence event with errors: ${JSON.stringify(result.errors)}`);
  const { action, member, count } = result.data.presence;
  return `${action} ${member.clientId} ${count}`;
}

/** Reads `count` more events as lines. */
export async function nextLines(stream: PresenceStream, count: number, timeoutMs = 10_000): Promise<string[]> {
  return (await stream.take(count, timeoutMs)).map(presenceLine);
}

export interface RoomMember {
  readonly client: Client;
  /** Its subscription to the room's messages (what makes it a member). */
  readonly messages: Stream<unknown>;
  /** Ends the subscription and closes the connection. */
  leave(): Promise<void>;
}

/** A WebSocket client with `clientId` (and more connection params, such as a token) subscribed to `room`. */
export function joinRoom(
  wsUrl: string,
  room: string,
  clientId: string,
  connectionParams: Record<string, unknown> = {},
  options: Partial<ClientOptions> = {},
): RoomMember {
  const client = wsClient(wsUrl, { connectionParams: { clientId, ...connectionParams }, ...options });
  const messages = subscribeWs(client, RoomMessagesDocument, { room });
  return {
    client,
    messages,
    async leave() {
      messages.dispose();
      await client.dispose();
    },
  };
}

export interface LivePresence {
  readonly stream: PresenceStream;
  /** The probe members that made sure of it (still members: they count). */
  readonly probes: RoomMember[];
  /** The room's count after the last probe joined. */
  readonly base: number;
}

/** One `presence` subscription known to be live (livePresenceAll). */
export async function livePresence(
  watcher: Client,
  room: string,
  probeUrl: string,
  probeParams: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<LivePresence> {
  const { streams, probes, base } = await livePresenceAll([watcher], room, probeUrl, probeParams, timeoutMs);
  return { stream: streams[0]!, probes, base };
}

/**
 * `presence` subscriptions, one per watcher, known to be live. graphql-transport-ws has no
 * "subscribed" acknowledgement, so probe members (`probe-<n>`, on `probeUrl`, with `probeParams` such
 * as a token) join until every watcher has seen one; each stream is then read past the last probe's JOIN.
 */
export async function livePresenceAll(
  watchers: readonly Client[],
  room: string,
  probeUrl: string,
  probeParams: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<{ streams: PresenceStream[]; probes: RoomMember[]; base: number }> {
  const streams: PresenceStream[] = watchers.map((watcher) => subscribeWs(watcher, PresenceEventsDocument, { room }));
  const probes: RoomMember[] = [];
  const deadline = Date.now() + timeoutMs;
  const allSeen = () => streams.every((stream) => stream.items.length > 0);
  while (!allSeen()) {
    if (Date.now() > deadline) throw new Error(`presence subscriptions not live after ${timeoutMs} ms`);
    probes.push(joinRoom(probeUrl, room, `probe-${probes.length}`, probeParams));
    await waitFor('a probe JOIN everywhere', () => allSeen() || streams.some((s) => s.error !== undefined), 300).catch(() => {});
    const failed = streams.find((s) => s.error !== undefined);
    if (failed) throw new Error(`presence subscription failed: ${JSON.stringify(failed.error)}`);
  }
  const last = `probe-${probes.length - 1}`;
  let base = 0;
  for (const stream of streams) {
    for (;;) {
      const result = await stream.next(Math.max(1, deadline - Date.now()));
      if (result.data?.presence.member.clientId !== last) continue;
      base = result.data.presence.count;
      break;
    }
  }
  return { streams, probes, base };
}
