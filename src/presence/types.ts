/**
 * Presence: who is in a room. A member is a client (a WebSocket connection's client id, owned by its
 * token's `sub` when auth is on) with at least one live subscription to the room's messages, on any
 * replica. Plain data here; the service, its store and the GraphQL wiring live beside this file.
 */
export type PresenceAction = 'JOIN' | 'LEAVE';

/** Who enters: set by the server from the connection and its token, never from a client's arguments. */
export interface MemberIdentity {
  readonly clientId: string;
  /** The token's `sub`; null when anonymous or with auth off. */
  readonly user: string | null;
  /** The token's `info` claim; null without one. */
  readonly info: unknown;
}

export interface Member extends MemberIdentity {
  /** When the member's first subscription began (on any replica), by the store's clock. */
  readonly joinedAt: Date;
}

export interface PresenceEvent {
  readonly room: string;
  readonly action: PresenceAction;
  readonly member: Member;
  /** Members of the room right after this event, as `read` would have counted them then. */
  readonly count: number;
}

export interface PresenceSnapshot {
  readonly room: string;
  /** Every member, exactly. */
  readonly count: number;
  /** At most the `limit` asked for, earliest joined first. */
  readonly members: Member[];
}
