/**
 * Members as the Redis store keeps and publishes them: JSON made here (the script adds `joinedAt`,
 * in ms since the epoch), so a token's `info` claim is stored exactly as it came.
 */
import type { Member, MemberIdentity, PresenceEvent } from './types.js';

class MalformedPresenceError extends Error {
  override readonly name = 'MalformedPresenceError';
}

/** The identity as JSON: an object, so the script can splice `joinedAt` in front. */
export function encodeIdentity({ clientId, user, info }: MemberIdentity): string {
  return JSON.stringify({ clientId, user, info: info ?? null });
}

export function decodeMember(json: string): Member {
  return memberOf(JSON.parse(json));
}

/** A published batch: the events of one room, in the order the store applied them. */
export function decodeEvents(room: string, json: string): PresenceEvent[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new MalformedPresenceError('presence events must be a list');
  return parsed.map((value: unknown) => {
    const { action, count, member } = (value ?? {}) as { action?: unknown; count?: unknown; member?: unknown };
    if ((action !== 'JOIN' && action !== 'LEAVE') || !Number.isInteger(count)) throw new MalformedPresenceError('malformed presence event');
    return { room, action, count: count as number, member: memberOf(member) };
  });
}

function memberOf(value: unknown): Member {
  const { clientId, user, info, joinedAt } = (value ?? {}) as Record<string, unknown>;
  if (typeof clientId !== 'string' || (user !== null && typeof user !== 'string') || typeof joinedAt !== 'number') {
    throw new MalformedPresenceError('malformed presence member');
  }
  return { clientId, user, info: info ?? null, joinedAt: new Date(joinedAt) };
}
