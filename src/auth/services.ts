/**
 * What the transports and resolvers share for auth on one replica: the authenticator, the live
 * sessions (for revocation), and the revocation store. Started by the server, closed with it.
 */
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createAuthenticator, type Authenticator } from './authenticator.js';
import { memoryRevocations, redisRevocations, type Revocations } from './revocations.js';
import { SessionRegistry } from './sessions.js';

export interface AuthServices {
  readonly authenticator: Authenticator;
  readonly sessions: SessionRegistry;
  /** Undefined with auth off. */
  readonly revocations: Revocations | undefined;
  close(): Promise<void>;
}

export function startAuth(config: Config, log: Logger): AuthServices {
  const sessions = new SessionRegistry();
  if (!config.auth) return { authenticator: createAuthenticator(undefined), sessions, revocations: undefined, close: async () => {} };
  const lifetimeSeconds = config.auth.maxTokenLifetimeSeconds;
  const revocations = config.redisUrl
    ? redisRevocations({ url: config.redisUrl, keyPrefix: config.redisKeyPrefix, lifetimeSeconds, timeoutMs: config.brokerTimeoutMs, log })
    : memoryRevocations(lifetimeSeconds);
  revocations.onRevoke((user, at) => {
    // The user's sub is an identifier, not a secret: the line is the audit trail of a revocation.
    log.info("revoked a user's tokens", { user, issuedUpTo: at });
    sessions.revoke(user, at);
  });
  return { authenticator: createAuthenticator(config.auth, revocations), sessions, revocations, close: () => revocations.close() };
}
