/**
 * Who a client is: a verified token (jose) becomes an Identity; no token is the anonymous identity.
 * Verification failures carry a reason fit for the client and the logs (never the token itself).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type KeyObject } from 'jose';
import { ADMIN_KEY, BROADCAST_KEY, CapabilityError, inboxOf, mergeCapabilities, parseCapability, type Capability } from './capability.js';
import type { AuthConfig } from './keys.js';
import type { Decide } from './policy.js';

export interface Identity {
  /** True without a token (and when auth is off). */
  readonly anonymous: boolean;
  /** The token's `sub`; null without a token, and when auth is off. */
  readonly user: string | null;
  /** What this identity may do: the anonymous capability, the token's, and the user's inbox. */
  readonly capability: Capability;
  /**
   * The token's `info` claim (any JSON, such as a display name), shown with the user's presence;
   * null without a token, without the claim, and with auth off. Never taken from a client's arguments.
   */
  readonly info: unknown;
  /** The user's own room, `user:<encoded sub>` (capability.ts); undefined without a `sub`. */
  readonly inbox: string | undefined;
  /** The token's `iat`, in seconds since the epoch (revocations compare it); undefined without a token. */
  readonly issuedAt: number | undefined;
  /** The token's `exp` in ms since the epoch; undefined when there is none. */
  readonly expiresAt: number | undefined;
  /** When the identity stops being valid: `exp` plus the clock tolerance; undefined: never. */
  readonly validUntil: number | undefined;
  /** Every claim of the verified token; undefined without a token. For an embedder's authorize hook. */
  readonly claims?: Readonly<Record<string, unknown>> | undefined;
  /**
   * Who decides what this identity may do (policy.ts): an embedder's authorize hook; undefined: its
   * capability. Set by the authenticator on every identity it makes, so every path asks the same one.
   */
  readonly decide?: Decide | undefined;
}

export class AuthError extends Error {
  override readonly name = 'AuthError';
}

export interface Authenticator {
  /** False when no key is configured: everyone may do everything, and tokens are ignored. */
  readonly enabled: boolean;
  /** The identity of a request or connection without a token. */
  readonly anonymous: Identity;
  /** The identity a token proves; AuthError says why it proves none. */
  verify(token: string): Promise<Identity>;
}

/** With auth off: every room, the broadcast stream and administration. */
const EVERYTHING: Capability = parseCapability({ '*': ['*'], [BROADCAST_KEY]: ['*'], [ADMIN_KEY]: ['*'] });
const identityOf = (capability: Capability): Identity => ({
  anonymous: true,
  user: null,
  info: null,
  capability,
  inbox: undefined,
  issuedAt: undefined,
  expiresAt: undefined,
  validUntil: undefined,
});

/** Where revocations are kept (revocations.ts): the instant up to which a user's tokens are revoked. */
export interface RevocationCheck {
  revokedUntil(user: string): Promise<number | undefined>;
}

export function createAuthenticator(config: AuthConfig | undefined, revocations?: RevocationCheck, decide?: Decide): Authenticator {
  if (!config) {
    const everyone = { ...identityOf(EVERYTHING), decide };
    return { enabled: false, anonymous: everyone, verify: async () => everyone };
  }
  const anonymous = { ...identityOf(config.anonymousCapability), decide };
  const key = verificationKey(config);
  const options = {
    algorithms: [...config.key.algorithms],
    issuer: config.issuer,
    audience: config.audience,
    clockTolerance: config.clockToleranceSeconds,
  };
  return {
    enabled: true,
    anonymous,
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key as never, options));
      } catch (error) {
        throw new AuthError(reasonOf(error));
      }
      checkLifetime(payload, config.maxTokenLifetimeSeconds, config.clockToleranceSeconds);
      const identity = { ...identityFrom(payload, config), decide };
      const revoked = identity.user === null ? undefined : await revocations?.revokedUntil(identity.user);
      if (revoked !== undefined && (identity.issuedAt ?? 0) <= revoked) throw new AuthError('revoked');
      return identity;
    },
  };
}

function verificationKey(config: AuthConfig): Uint8Array | KeyObject | JWTVerifyGetKey {
  switch (config.key.kind) {
    case 'secret':
      return config.key.secret;
    case 'public':
      return config.key.key;
    default:
      // Cached, and fetched again for a `kid` it does not know (keys rotate by kid).
      return createRemoteJWKSet(config.key.url);
  }
}

/**
 * A revocation is held for the longest lifetime a token may have, so it outlives every token it
 * revokes; and it compares `iat`, so a token issued "in the future" would outlive both.
 */
function checkLifetime(payload: JWTPayload, maxSeconds: number, toleranceSeconds: number): void {
  if (payload.iat === undefined) throw new AuthError('token has no iat (issued at)');
  if (payload.iat > Date.now() / 1000 + toleranceSeconds) throw new AuthError('token issued in the future (iat)');
  if (payload.exp === undefined) throw new AuthError('token has no exp');
  if (payload.exp - payload.iat > maxSeconds)
    throw new AuthError(`token lives longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS (${maxSeconds} s)`);
}

function identityFrom(payload: JWTPayload, config: AuthConfig): Identity {
  let own: Capability;
  try {
    own = payload.roomcast === undefined ? parseCapability({}) : parseCapability(payload.roomcast);
  } catch (error) {
    throw new AuthError(`invalid roomcast claim: ${error instanceof CapabilityError ? error.message : String(error)}`);
  }
  if (payload.sub !== undefined && typeof payload.sub !== 'string') throw new AuthError('sub must be a string');
  const user = payload.sub ?? null;
  const inbox = user === null ? undefined : inboxOf(user);
  let capability = mergeCapabilities(config.anonymousCapability, own);
  // Every user may read their own inbox; publishing to it takes an explicit capability.
  if (inbox) capability = mergeCapabilities(capability, parseCapability({ [inbox]: ['subscribe', 'history'] }));
  const expiresAt = payload.exp === undefined ? undefined : payload.exp * 1000;
  return {
    anonymous: false,
    user,
    info: payload.info ?? null,
    capability,
    inbox,
    issuedAt: payload.iat,
    expiresAt,
    validUntil: expiresAt === undefined ? undefined : expiresAt + config.clockToleranceSeconds * 1000,
    claims: Object.freeze({ ...payload }),
  };
}

/** A short reason for a refused token, the same words on every transport. */
function reasonOf(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token not yet valid';
    if (error.claim === 'iss') return 'wrong issuer';
    if (error.claim === 'aud') return 'wrong audience';
    return `invalid ${error.claim} claim`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return 'algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof errors.JWKSNoMatchingKey) return 'no key matches the token';
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token';
  // The key set could not be fetched or read (JWKS timeout, network, a bad JWKS document).
  return 'key set unavailable';
}
