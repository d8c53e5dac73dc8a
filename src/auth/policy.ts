/**
 * Who decides what an identity may do. By default its capability (capability.ts); an embedder's
 * `authorize(identity, operation, room)` hook (src/index.ts) replaces that on every path when given:
 * the guard (guard.ts) asks the identity's policy, and so does a connection whose token is replaced
 * (sessions.ts). The identity itself still comes from the token check (authenticator.ts).
 */
import { ErrorCode, RoomcastError } from '../errors.js';
import type { Logger } from '../log.js';
import { withDeadline } from '../deadline.js';
import type { Identity } from './authenticator.js';
import { capabilityJson, type Operation } from './capability.js';

/** Who is asking, as the hook sees it: what the token check produced. */
export interface RoomcastIdentity {
  /** True without a token (and when auth is off: then every client is anonymous). */
  readonly anonymous: boolean;
  /** The token's `sub`; null without a token, and when auth is off. */
  readonly user: string | null;
  /** Every claim of the verified token (`sub`, `iat`, `exp`, your own claims); null without a token. */
  readonly claims: Readonly<Record<string, unknown>> | null;
  /** The token's `info` claim; null without it. */
  readonly info: unknown;
  /** What the token's capability (and ANONYMOUS_CAPABILITY) would allow, as in `Session.capability`. */
  readonly capability: Readonly<Record<string, readonly string[]>>;
}

/**
 * Whether `identity` may do `operation` on `room`: a room id, `@broadcast` for the broadcast stream,
 * `@admin` for administration (`revoke`). Exactly `true` allows; anything else refuses, with the
 * same UNAUTHENTICATED (anonymous) or FORBIDDEN error the capabilities give. A hook that throws (or
 * rejects) fails the operation with UNAVAILABLE and is logged; the server goes on serving.
 */
export type AuthorizeHook = (identity: RoomcastIdentity, operation: Operation, room: string) => boolean | Promise<boolean>;

/** The decision for one identity: a boolean at once for capabilities, a promise for a hook. */
export type Decide = (identity: Identity, key: string, operation: Operation) => boolean | Promise<boolean>;

/** The view of an identity the hook gets, made once per identity. */
const views = new WeakMap<Identity, RoomcastIdentity>();

function viewOf(identity: Identity): RoomcastIdentity {
  let view = views.get(identity);
  if (!view) {
    view = Object.freeze({
      anonymous: identity.anonymous,
      user: identity.user,
      claims: identity.claims ?? null,
      info: identity.info,
      capability: capabilityJson(identity.capability),
    });
    views.set(identity, view);
  }
  return view;
}

/**
 * The hook as a decision: a throw, a rejection or no answer within `timeoutMs` becomes UNAVAILABLE
 * (logged with the operation, the room and the user, never the token), so one failing permission
 * service fails the operations that need it, not the server.
 */
export function hookDecision(hook: AuthorizeHook, log: Logger, timeoutMs: number): Decide {
  return async (identity, key, operation) => {
    const where = { operation, room: key, user: identity.user };
    const unavailable = () =>
      new RoomcastError(
        ErrorCode.UNAVAILABLE,
        `could not authorize ${operation} on ${JSON.stringify(key)}: the authorization check failed; try again`,
      );
    try {
      const answer = await withDeadline(
        Promise.resolve().then(() => hook(viewOf(identity), operation, key)),
        timeoutMs,
        () => {
          log.error('the authorize hook did not answer in time', { ...where, timeoutMs });
          throw unavailable();
        },
      );
      return answer === true;
    } catch (error) {
      if (error instanceof RoomcastError) throw error;
      log.error('the authorize hook failed', { ...where, error });
      throw unavailable();
    }
  };
}
