/**
 * The auth settings of the environment: which key verifies tokens, and the algorithms that key
 * allows. Only the algorithms of the configured key are accepted, so `alg: none` and an HS token
 * made with a public key as its secret are refused by construction. Parsed at start-up (config.ts):
 * a bad key stops the process with one line naming the variable.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CapabilityError, NO_CAPABILITY, parseCapability, type Capability } from './capability.js';

type AuthKey =
  | { readonly kind: 'secret'; readonly secret: Uint8Array; readonly algorithms: readonly string[] }
  | { readonly kind: 'public'; readonly key: KeyObject; readonly algorithms: readonly string[] }
  | { readonly kind: 'jwks'; readonly url: URL; readonly algorithms: readonly string[] };

export interface AuthConfig {
  readonly key: AuthKey;
  /** `AUTH_JWT_ISSUER`: when set, a token's `iss` must be it. */
  readonly issuer: string | undefined;
  /** `AUTH_JWT_AUDIENCE`: when set, a token's `aud` must include it. */
  readonly audience: string | undefined;
  /** `AUTH_CLOCK_TOLERANCE_SECONDS`, default 5: leeway for `exp` and `nbf`. */
  readonly clockToleranceSeconds: number;
  /**
   * `AUTH_MAX_TOKEN_LIFETIME_SECONDS`, default 86400: tokens must carry `iat` and `exp` at most this far
   * apart, and a revocation is held this long, so it outlives every token it revokes.
   */
  readonly maxTokenLifetimeSeconds: number;
  /** `ANONYMOUS_CAPABILITY`, default `{}`: what a request or connection without a token may do. */
  readonly anonymousCapability: Capability;
}

const HMAC = ['HS256', 'HS384', 'HS512'];
const RSA = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
const OKP = ['EdDSA', 'Ed25519'];
const ASYMMETRIC = [...RSA, ...Object.values(EC), ...OKP];
/** RFC 7518 3.2: an HMAC key at least as long as the hash (32 bytes for HS256). */
const MIN_SECRET_BYTES = 32;

type Env = Record<string, string | undefined>;

/** The auth settings, or undefined when no key is set (auth off); problems are pushed, one per variable. */
export function parseAuthConfig(env: Env, problems: string[]): AuthConfig | undefined {
  const value = (name: string) => (env[name]?.trim() ? env[name].trim() : undefined);
  const keyVars = ['AUTH_JWT_SECRET', 'AUTH_JWT_PUBLIC_KEY', 'AUTH_JWT_PUBLIC_KEY_FILE', 'AUTH_JWKS_URL'].filter((name) => value(name));
  const dependents = [
    'AUTH_JWT_ISSUER',
    'AUTH_JWT_AUDIENCE',
    'AUTH_CLOCK_TOLERANCE_SECONDS',
    'AUTH_MAX_TOKEN_LIFETIME_SECONDS',
    'ANONYMOUS_CAPABILITY',
  ].filter((name) => value(name));
  if (keyVars.length === 0) {
    if (dependents.length > 0)
      problems.push(
        `${dependents.join(', ')} ${dependents.length > 1 ? 'need' : 'needs'} auth on: set one of AUTH_JWT_SECRET, AUTH_JWT_PUBLIC_KEY, AUTH_JWT_PUBLIC_KEY_FILE, AUTH_JWKS_URL`,
      );
    return undefined;
  }
  if (keyVars.length > 1) {
    problems.push(`set only one of ${keyVars.join(', ')}`);
    return undefined;
  }
  const key = parseKey(keyVars[0]!, value(keyVars[0]!)!, problems);
  const tolerance = value('AUTH_CLOCK_TOLERANCE_SECONDS') ?? '5';
  if (!/^\d+$/.test(tolerance) || Number(tolerance) > 600) {
    problems.push(`AUTH_CLOCK_TOLERANCE_SECONDS must be an integer from 0 to 600 (got ${JSON.stringify(tolerance)})`);
  }
  const lifetime = value('AUTH_MAX_TOKEN_LIFETIME_SECONDS') ?? '86400';
  if (!/^\d+$/.test(lifetime) || Number(lifetime) < 1) {
    problems.push(`AUTH_MAX_TOKEN_LIFETIME_SECONDS must be a positive integer (got ${JSON.stringify(lifetime)})`);
  }
  const anonymousCapability = parseAnonymous(value('ANONYMOUS_CAPABILITY'), problems);
  if (!key) return undefined;
  return {
    key,
    issuer: value('AUTH_JWT_ISSUER'),
    audience: value('AUTH_JWT_AUDIENCE'),
    clockToleranceSeconds: Number(tolerance),
    maxTokenLifetimeSeconds: Number(lifetime),
    anonymousCapability,
  };
}

function parseKey(name: string, raw: string, problems: string[]): AuthKey | undefined {
  try {
    switch (name) {
      case 'AUTH_JWT_SECRET': {
        const secret = new TextEncoder().encode(raw);
        if (secret.length < MIN_SECRET_BYTES) throw new Error(`must be at least ${MIN_SECRET_BYTES} bytes (got ${secret.length})`);
        return { kind: 'secret', secret, algorithms: HMAC };
      }
      case 'AUTH_JWT_PUBLIC_KEY':
        return publicKey(raw);
      case 'AUTH_JWT_PUBLIC_KEY_FILE':
        return publicKey(readFileSync(raw, 'utf8'));
      default: {
        const url = new URL(raw);
        if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('must be an http(s) URL');
        return { kind: 'jwks', url, algorithms: ASYMMETRIC };
      }
    }
  } catch (error) {
    problems.push(`${name} ${error instanceof Error ? error.message.replace(/^(error:\S* )?/, '') : String(error)}`);
    return undefined;
  }
}

function publicKey(pem: string): AuthKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new Error('is not a PEM public key (-----BEGIN PUBLIC KEY----- ...)');
  }
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { kind: 'public', key, algorithms: RSA };
    case 'rsa-pss':
      return { kind: 'public', key, algorithms: RSA.filter((alg) => alg.startsWith('PS')) };
    case 'ec': {
      const alg = EC[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!alg) throw new Error(`has the curve ${key.asymmetricKeyDetails?.namedCurve}: use P-256, P-384 or P-521`);
      return { kind: 'public', key, algorithms: [alg] };
    }
    case 'ed25519':
      return { kind: 'public', key, algorithms: OKP };
    default:
      throw new Error(`is a ${key.asymmetricKeyType} key: use RSA, EC (P-256/384/521) or Ed25519`);
  }
}

function parseAnonymous(raw: string | undefined, problems: string[]): Capability {
  if (raw === undefined) return NO_CAPABILITY;
  try {
    return parseCapability(JSON.parse(raw));
  } catch (error) {
    const why = error instanceof CapabilityError ? error.message : 'is not JSON';
    problems.push(
      `ANONYMOUS_CAPABILITY ${error instanceof CapabilityError ? `is not a capability: ${why}` : why} (e.g. {"lobby":["subscribe","history"]})`,
    );
    return NO_CAPABILITY;
  }
}
