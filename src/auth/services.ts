/**
 * What the transports and resolvers share for auth on one replica: the authenticator, the live
 * sessions (for revocation), and the revocation store. Started by the server, closed with it.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createAuthenticator, type Authenticator } from './authenticator.js';
import { hookDecision, type AuthorizeHook } from './policy.js';
import { memoryRevocations, redisRevocations, type Revocations } from './revocations.js';
import { SessionRegistry } from './sessions.js';

export interface AuthServices {
  readonly authenticator: Authenticator;
  readonly sessions: SessionRegistry;
  /** Undefined with auth off. */
  readonly revocations: Revocations | undefined;
  close(): Promise<void>;
}

/** `authorize`: an embedder's hook, which replaces the capabilities on every path (policy.ts). */
export function startAuth(config: Config, log: Logger, authorize?: AuthorizeHook): AuthServices {
  const sessions = new SessionRegistry();
  // The hook answers within BROKER_TIMEOUT_MS, as Redis must: past it the operation is UNAVAILABLE.
  const decide = authorize && hookDecision(authorize, log, config.brokerTimeoutMs);
  if (!config.auth) {
    return { authenticator: createAuthenticator(undefined, undefined, decide), sessions, revocations: undefined, close: async () => {} };
  }
  const lifetimeSeconds = config.auth.maxTokenLifetimeSeconds;
  const revocations = config.redis
    ? redisRevocations({ redis: config.redis, keyPrefix: config.redisKeyPrefix, lifetimeSeconds, timeoutMs: config.brokerTimeoutMs, log })
    : memoryRevocations(lifetimeSeconds);
  revocations.onRevoke((user, at) => {
    // On every replica; the one that took the revoke also logs who asked (graphql/resolvers/session.ts).
    log.info("closing a revoked user's connections", { revokedUser: user, issuedUpTo: at });
    sessions.revoke(user, at);
  });
  return { authenticator: createAuthenticator(config.auth, revocations, decide), sessions, revocations, close: () => revocations.close() };
}
