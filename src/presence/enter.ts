/**
 * What makes a subscription's client a member: the one call room subscriptions make (`messages`, and
 * each room of `messagesIn`). Only WebSocket connections have a client id, so event streams (SSE)
 * are not members; nor are `broadcasts`, which belong to no room.
 */
import { BROADCAST_ROOM } from '../rooms/names.js';
import type { Presence } from './presence.js';

/** The parts of a GraphQL context (graphql/context.ts) presence looks at. */
export interface PresenceContext {
  readonly presence: Presence;
  readonly identity: { readonly user: string | null; readonly info: unknown };
  /** The WebSocket connection running the operation; undefined over HTTP and SSE. */
  readonly connection: { readonly clientId: string } | undefined;
}

/** Makes the context's client a member of `room` until `subscription` closes (then for the grace). */
export function enterPresence(context: PresenceContext, room: string, subscription: { onClose(fn: () => void): void }): void {
  const { presence, identity, connection } = context;
  if (!connection || room === BROADCAST_ROOM) return;
  subscription.onClose(presence.hold(room, { clientId: connection.clientId, user: identity.user, info: identity.info }));
}
