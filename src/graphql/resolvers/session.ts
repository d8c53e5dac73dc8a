import { AuthError } from '../../auth/authenticator.js';
import { ADMIN_KEY, capabilityJson } from '../../auth/capability.js';
import { authorize } from '../../auth/guard.js';
import { ErrorCode, RoomcastError } from '../../errors.js';
import type { MutationResolvers, SessionResolvers } from '../../generated/resolvers.js';

export const Session: SessionResolvers = {
  user: (identity) => identity.user,
  inbox: (identity) => identity.inbox ?? null,
  expiresAt: (identity) => (identity.expiresAt === undefined ? null : new Date(identity.expiresAt)),
  capability: (identity) => capabilityJson(identity.capability),
};

export const SessionMutations: Pick<MutationResolvers, 'authenticate' | 'revoke'> = {
  authenticate: async (_root, { token }, { identity, connection, auth }) => {
    let next;
    try {
      next = await auth.authenticator.verify(token);
    } catch (error) {
      if (error instanceof AuthError) throw new RoomcastError(ErrorCode.UNAUTHENTICATED, `invalid token: ${error.message}`);
      throw error;
    }
    if (identity.user !== null && next.user !== identity.user) {
      throw new RoomcastError(ErrorCode.FORBIDDEN, "the token is of another user than this connection's");
    }
    // Its subscriptions the new identity no longer allows have ended when the answer goes out.
    if (connection) await connection.replace(next);
    return next;
  },
  revoke: async (_root, { user }, { identity, auth, log }) => {
    await authorize(identity, ADMIN_KEY, 'revoke');
    if (!auth.revocations) throw new RoomcastError(ErrorCode.BAD_USER_INPUT, 'revoke needs auth on');
    try {
      const issuedUpTo = await auth.revocations.revoke(user);
      // The audit line: its request (or connection) id and `user`, who asked; subs are identifiers, not secrets.
      log.info("revoked a user's tokens", { revokedUser: user, issuedUpTo });
      return new Date(issuedUpTo * 1000);
    } catch (error) {
      throw new RoomcastError(
        ErrorCode.UNAVAILABLE,
        `could not store the revocation: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  },
};
