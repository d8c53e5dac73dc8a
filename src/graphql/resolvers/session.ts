import { capabilityJson } from '../../auth/capability.js';
import type { SessionResolvers } from '../../generated/resolvers.js';

export const Session: SessionResolvers = {
  user: (identity) => identity.user,
  inbox: (identity) => identity.inbox ?? null,
  expiresAt: (identity) => (identity.expiresAt === undefined ? null : new Date(identity.expiresAt)),
  capability: (identity) => capabilityJson(identity.capability),
};
