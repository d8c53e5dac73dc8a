/**
 * The authenticated parties alive on this replica (WebSocket connections, event streams), by user,
 * so that a revocation ends them, and a WebSocket connection's session, whose identity a client may
 * replace in-band (`authenticate`) before its token expires.
 */
import { at } from '../deadline.js';
import { ErrorCode, RoomcastError } from '../errors.js';
import type { EventQueue } from '../broker/event-queue.js';
import type { Identity } from './authenticator.js';
import { decide } from './guard.js';
import { randomClientId } from '../rooms/party.js';

export interface LiveSession {
  readonly identity: Identity;
  /** Ends the session: closes its connection, or ends its stream, with `reason`. */
  end(reason: string): void;
}

export class SessionRegistry {
  private readonly byUser = new Map<string, Set<LiveSession>>();

  /** Tracks a session of an identity with a user; returns the function that stops tracking it. */
  add(session: LiveSession): () => void {
    const user = session.identity.user;
    if (user === null) return () => {};
    let sessions = this.byUser.get(user);
    if (!sessions) this.byUser.set(user, (sessions = new Set()));
    sessions.add(session);
    return () => {
      sessions.delete(session);
      if (sessions.size === 0 && this.byUser.get(user) === sessions) this.byUser.delete(user);
    };
  }

  /** Ends the sessions of `user` whose token was issued at or before `atSeconds`. */
  revoke(user: string, atSeconds: number): void {
    for (const session of [...(this.byUser.get(user) ?? [])]) {
      if ((session.identity.issuedAt ?? 0) <= atSeconds) session.end('revoked');
    }
  }
}

/** An event stream's subscription, as a session: it ends with UNAUTHENTICATED and the reason. */
export function streamSession(identity: Identity, subscription: EventQueue): LiveSession {
  return { identity, end: (reason) => subscription.fail(new RoomcastError(ErrorCode.UNAUTHENTICATED, reason)) };
}

/**
 * A WebSocket connection's identity over its life: anonymous until connection_init proves a token,
 * replaced by `authenticate`; its expiry closes the connection, and a new identity ends the
 * connection's subscriptions it no longer allows (the others go on untouched).
 */
export class ConnectionSession implements LiveSession {
  private current: Identity;
  private cancelExpiry: () => void = () => {};
  private untrack: () => void = () => {};
  private readonly rooms = new Map<EventQueue, readonly string[]>();
  /**
   * The client id of the connection (rooms/party.ts): `connectionParams.clientId`, validated at
   * connection_init, or a random one the server gives a connection without one.
   */
  clientId: string = randomClientId();

  constructor(
    anonymous: Identity,
    private readonly registry: SessionRegistry,
    private readonly close: (reason: string) => void,
  ) {
    this.current = anonymous;
  }

  get identity(): Identity {
    return this.current;
  }

  set identity(identity: Identity) {
    void this.replace(identity);
  }

  /**
   * Replaces the identity (connection_init, `authenticate`); resolves once the subscriptions the new
   * one no longer allows have ended. With capabilities that happens before this returns; an
   * authorize hook (policy.ts) answers later, and whichever identity is current by then decides.
   */
  async replace(identity: Identity): Promise<void> {
    this.current = identity;
    this.cancelExpiry();
    this.untrack();
    this.untrack = this.registry.add(this);
    this.cancelExpiry = identity.validUntil === undefined ? () => {} : at(identity.validUntil, () => this.end('token expired'));
    const checks: Promise<void>[] = [];
    for (const [subscription, keys] of this.rooms) {
      const lost = this.firstLost(identity, keys);
      if (lost instanceof Promise) {
        checks.push(
          lost.then((error) => {
            if (error && this.current === identity) subscription.fail(error);
          }),
        );
      } else if (lost) subscription.fail(lost);
    }
    await Promise.all(checks);
  }

  /** The refusal of the first of `keys` the identity may not subscribe to; a promise with a hook. */
  private firstLost(identity: Identity, keys: readonly string[]): RoomcastError | undefined | Promise<RoomcastError | undefined> {
    const forbidden = (key: string) =>
      new RoomcastError(ErrorCode.FORBIDDEN, `the new token does not allow subscribe on ${JSON.stringify(key)}`);
    const answers = keys.map((key) => decide(identity, key, 'subscribe'));
    if (!answers.some((answer) => answer instanceof Promise)) {
      const lost = keys.find((_key, i) => answers[i] !== true);
      return lost === undefined ? undefined : forbidden(lost);
    }
    return Promise.all(answers.map(async (answer) => answer)).then(
      (allowed) => {
        const lost = keys.find((_key, i) => allowed[i] !== true);
        return lost === undefined ? undefined : forbidden(lost);
      },
      // The hook failed (policy.ts logged it): the subscription cannot be vouched for any more.
      (error: unknown) =>
        error instanceof RoomcastError ? error : new RoomcastError(ErrorCode.UNAVAILABLE, 'the authorization check failed'),
    );
  }

  /** A subscription of this connection to the rooms with capability keys `keys`, until it closes. */
  track(subscription: EventQueue, keys: readonly string[]): void {
    this.rooms.set(subscription, keys);
    subscription.onClose(() => this.rooms.delete(subscription));
  }

  end(reason: string): void {
    this.close(reason);
  }

  /** The connection closed: nothing more to watch. */
  dispose(): void {
    this.cancelExpiry();
    this.untrack();
    this.rooms.clear();
  }
}
