/**
 * Idempotency keys: a publisher names a message, and a repeat of that name within the window returns
 * the message first stored under it instead of publishing another (broker/backend.ts `append`). The
 * scope of a key is (room, sender): each token `sub`, and anonymous publishers together, have their own,
 * so nobody can read or block another sender's messages through a key.
 */
import { badUserInput } from '../errors.js';

/** Longest key, in characters (Unicode code points). */
const MAX_IDEMPOTENCY_KEY_LENGTH = 128;

/** Window of a key when the backend is given none: `IDEMPOTENCY_TTL_SECONDS`' default. */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 600;

/** A key as given by a client: 1 to 128 characters, any characters; null or absent means none. */
export function parseIdempotencyKey(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  const length = [...value].length;
  if (length < 1 || length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw badUserInput(`idempotencyKey must be 1-${MAX_IDEMPOTENCY_KEY_LENGTH} characters (got ${length})`);
  }
  return value;
}

/**
 * One text per (sender, key), unambiguous whatever either holds (JSON of the pair: `null` for
 * anonymous, quotes and separators escaped, lone surrogates as \uXXXX). The room is kept apart by
 * the caller (its own Redis key slot, its own map entry).
 */
export function idempotencyScope(sender: string | null, key: string): string {
  return JSON.stringify([sender, key]);
}
