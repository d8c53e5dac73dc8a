/**
 * Capabilities (Ably's model): what an identity may do, as room pattern -> operations, carried in a
 * token's `roomcast` claim and in ANONYMOUS_CAPABILITY. Pure: no GraphQL, no I/O.
 *
 * - A pattern is an exact room id, a prefix ending in `*` (`team:42:*` matches `team:42:x`), or `*`
 *   alone for every room. The broadcast stream is the key `@broadcast` and administration `@admin`;
 *   `*` includes neither.
 * - Operations: subscribe, publish, history, presence (rooms and `@broadcast`), revoke and inspect
 *   (`@admin`), or `*` for all of them.
 */

const OPERATIONS = ['subscribe', 'publish', 'history', 'presence', 'revoke', 'inspect'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The broadcast stream (`broadcast`, `broadcasts`, `history(room: "*")`) as a capability key. */
export const BROADCAST_KEY = '@broadcast';
export const ADMIN_KEY = '@admin';
const SPECIAL_KEYS = [BROADCAST_KEY, ADMIN_KEY];

const ROOM_CHARS = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface Capability {
  /** Operations per exact key (room id, `@broadcast`, `@admin`). */
  readonly exact: ReadonlyMap<string, ReadonlySet<string>>;
  /** Operations per room-id prefix (`team:42:` for `team:42:*`; `` for `*`). */
  readonly prefixes: readonly (readonly [prefix: string, operations: ReadonlySet<string>])[];
}

export class CapabilityError extends Error {
  override readonly name = 'CapabilityError';
}

export const NO_CAPABILITY: Capability = { exact: new Map(), prefixes: [] };

/** Parses a capability object; CapabilityError names the first problem. */
export function parseCapability(value: unknown): Capability {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CapabilityError('a capability must be an object of room pattern -> list of operations');
  }
  const exact = new Map<string, Set<string>>();
  const prefixes: [string, Set<string>][] = [];
  for (const [pattern, operations] of Object.entries(value)) {
    const ops = parseOperations(pattern, operations);
    if (SPECIAL_KEYS.includes(pattern) || ROOM_CHARS.test(pattern)) {
      exact.set(pattern, union(exact.get(pattern), ops));
    } else if (pattern.endsWith('*') && (pattern === '*' || ROOM_CHARS.test(pattern.slice(0, -1)))) {
      prefixes.push([pattern.slice(0, -1), ops]);
    } else {
      throw new CapabilityError(
        `${JSON.stringify(pattern)} is not a room pattern: a room id, a prefix ending in *, *, ${BROADCAST_KEY} or ${ADMIN_KEY}`,
      );
    }
  }
  return { exact, prefixes };
}

function parseOperations(pattern: string, operations: unknown): Set<string> {
  if (!Array.isArray(operations) || operations.some((op) => typeof op !== 'string')) {
    throw new CapabilityError(`the operations of ${JSON.stringify(pattern)} must be a list of strings`);
  }
  for (const op of operations as string[]) {
    if (op !== '*' && !(OPERATIONS as readonly string[]).includes(op)) {
      throw new CapabilityError(
        `unknown operation ${JSON.stringify(op)} for ${JSON.stringify(pattern)}: use ${OPERATIONS.join(', ')} or *`,
      );
    }
  }
  return new Set(operations as string[]);
}

function union(a: ReadonlySet<string> | undefined, b: ReadonlySet<string>): Set<string> {
  return new Set([...(a ?? []), ...b]);
}

/** Both capabilities' grants (a token's capability adds to the anonymous one). */
export function mergeCapabilities(a: Capability, b: Capability): Capability {
  const exact = new Map<string, ReadonlySet<string>>(a.exact);
  for (const [key, ops] of b.exact) exact.set(key, union(exact.get(key), ops));
  return { exact, prefixes: [...a.prefixes, ...b.prefixes] };
}

/** Whether `capability` allows `operation` on `key` (a room id, `@broadcast` or `@admin`). */
export function allows(capability: Capability, key: string, operation: Operation): boolean {
  const grants = (ops: ReadonlySet<string> | undefined) => ops !== undefined && (ops.has(operation) || ops.has('*'));
  if (grants(capability.exact.get(key))) return true;
  if (key.startsWith('@')) return false;
  return capability.prefixes.some(([prefix, ops]) => key.startsWith(prefix) && grants(ops));
}

/** The capability as its JSON object (`Session.capability`). */
export function capabilityJson(capability: Capability): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (key: string, ops: ReadonlySet<string>) => (out[key] = [...new Set([...(out[key] ?? []), ...ops])].sort());
  for (const [key, ops] of capability.exact) add(key, ops);
  for (const [prefix, ops] of capability.prefixes) add(`${prefix}*`, ops);
  return out;
}

/**
 * A user's own room, `user:<sub>`: the `sub` claim (any text: `auth0|123`, e-mail addresses) encoded
 * so it is a room id. Letters, digits and `_ . -` stay as they are; every other UTF-8 byte, `:`
 * included, becomes `:` and two upper-case hex digits, which makes the encoding reversible
 * (`auth0|123` -> `user:auth0:7C123`). Undefined when the result would exceed 128 characters.
 */
export function inboxOf(sub: string): string | undefined {
  let encoded = '';
  for (const byte of new TextEncoder().encode(sub)) {
    const char = String.fromCharCode(byte);
    encoded += /[A-Za-z0-9_.-]/.test(char) ? char : `:${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  const room = `user:${encoded}`;
  return sub.length > 0 && room.length <= 128 ? room : undefined;
}
