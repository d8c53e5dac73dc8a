/**
 * loadConfig on its own: the defaults, and every problem reported in one error.
 */
import { generateKeyPairSync } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { describeRedisTarget } from '../../src/broker/redis-connection.js';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('should use the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      port: 4000,
      host: undefined,
      redis: undefined,
      redisWaitReplicas: 0,
      redisKeyPrefix: 'roomcast:',
      historySize: 1000,
      historyTtlSeconds: 86_400,
      idempotencyTtlSeconds: 600,
      presenceLeaveGraceMs: 5_000,
      presenceTtlSeconds: 30,
      maxPayloadBytes: 65_536,
      brokerTimeoutMs: 2_000,
      maxBufferedBytes: 1_048_576,
      maxConnections: 10_000,
      maxSubscriptionsPerConnection: 100,
      maxRoomsPerSubscription: 100,
      maxRoomsPerConnection: 1_000,
      wsMaxPayloadBytes: 1_048_576,
      httpMaxBodyBytes: 1_048_576,
      connectionInitTimeoutMs: 3_000,
      keepAliveMs: 25_000,
      drainMs: 5_000,
      shutdownTimeoutMs: 10_000,
      directDelivery: true,
      auth: undefined,
      corsOrigins: undefined,
      graphiql: true,
      introspection: true,
      publishRateLimit: undefined,
      subscribeRateLimit: undefined,
      maxConnectionsPerIp: undefined,
      maxResponseBytes: 16_777_216,
      trustProxy: undefined,
      metrics: true,
      metricsPath: '/metrics',
      metricsPort: undefined,
      inspector: true,
      inspectorIntervalMs: 5000,
      inspectorMaxRooms: 100,
      logLevel: 'info',
      replicaId: `${hostname()}:4000`,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('should report every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^invalid configuration: /);
    expect(message).toContain('PORT must be');
    expect(message).toContain('LOG_LEVEL must be');
  });

  it('should take METRICS, METRICS_PATH and METRICS_PORT, refusing a path of the API and the API port', () => {
    expect(loadConfig({ METRICS: 'off', METRICS_PATH: '/internal/metrics', METRICS_PORT: '9464' })).toMatchObject({
      metrics: false,
      metricsPath: '/internal/metrics',
      metricsPort: 9464,
    });
    for (const path of ['/graphql', '/graphql/x', '/', '/healthz', 'metrics', '/a b']) {
      expect(() => loadConfig({ METRICS_PATH: path }), path).toThrow(/METRICS_PATH must be a path like \/metrics/);
    }
    expect(() => loadConfig({ PORT: '4000', METRICS_PORT: '4000' })).toThrow(/METRICS_PORT \(4000\) must differ from PORT/);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT must be an integer from 0 to 65535/);
  });

  it('should take one Redis: REDIS_URL, REDIS_CLUSTER_NODES, or REDIS_SENTINELS with REDIS_SENTINEL_MASTER, with REDIS_USERNAME and REDIS_PASSWORD', () => {
    expect(loadConfig({ REDIS_URL: 'redis://r:6379', REDIS_USERNAME: 'app', REDIS_PASSWORD: 's3cret' }).redis).toEqual({
      kind: 'server',
      url: 'redis://r:6379',
      username: 'app',
      password: 's3cret',
    });
    expect(loadConfig({ REDIS_SENTINELS: 's1:26380, s2,[::1]:26381', REDIS_SENTINEL_MASTER: 'main' }).redis).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26381 },
      ],
      master: 'main',
      tls: false,
      username: undefined,
      password: undefined,
    });
    expect(loadConfig({ REDIS_SENTINELS: 'rediss://s1:26380,rediss://s2', REDIS_SENTINEL_MASTER: 'main' }).redis).toMatchObject({
      tls: true,
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000, n2', REDIS_PASSWORD: 'x' }).redis).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 6379 },
      ],
      tls: false,
      username: undefined,
      password: 'x',
    });
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'rediss://n1:7000,rediss://n2' }).redis).toMatchObject({ kind: 'cluster', tls: true });
    const refused: [Record<string, string>, RegExp][] = [
      [
        { REDIS_URL: 'redis://r', REDIS_SENTINELS: 's1' },
        /set one of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS, not REDIS_URL and REDIS_SENTINELS/,
      ],
      [{ REDIS_URL: 'redis://r', REDIS_CLUSTER_NODES: 'n1' }, /not REDIS_URL and REDIS_CLUSTER_NODES/],
      [{ REDIS_CLUSTER_NODES: 'n1:port' }, /REDIS_CLUSTER_NODES must list cluster nodes as host:port/],
      [{ REDIS_CLUSTER_NODES: 'rediss://n1,n2' }, /REDIS_CLUSTER_NODES must list cluster nodes/],
      [{ REDIS_SENTINELS: 's1:26379' }, /REDIS_SENTINELS needs REDIS_SENTINEL_MASTER/],
      [{ REDIS_SENTINEL_MASTER: 'main' }, /REDIS_SENTINEL_MASTER needs REDIS_SENTINELS/],
      [{ REDIS_PASSWORD: 'x' }, /REDIS_PASSWORD needs REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS/],
      [{ REDIS_SENTINELS: 's1:port', REDIS_SENTINEL_MASTER: 'm' }, /REDIS_SENTINELS must list sentinels as host:port/],
      [{ REDIS_SENTINELS: 'rediss://s1,s2', REDIS_SENTINEL_MASTER: 'm' }, /REDIS_SENTINELS must list sentinels/],
      [{ REDIS_SENTINELS: 'http://s1', REDIS_SENTINEL_MASTER: 'm' }, /REDIS_SENTINELS must list sentinels/],
      [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL must look like redis:\/\/host:port/],
    ];
    for (const [env, message] of refused) expect(() => loadConfig(env), JSON.stringify(env)).toThrow(message);
    // Where it is, for the log line at start-up: never the password.
    expect(describeRedisTarget(loadConfig({ REDIS_URL: 'redis://app:s3cret@r:6379/0' }).redis!)).toBe('redis://app:***@r:6379/0');
    expect(
      describeRedisTarget(loadConfig({ REDIS_SENTINELS: 's1,s2:26380', REDIS_SENTINEL_MASTER: 'm', REDIS_PASSWORD: 'x' }).redis!),
    ).toBe('sentinel master m via s1:26379,s2:26380');
    expect(describeRedisTarget(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,n2:7001' }).redis!)).toBe('cluster via n1:7000,n2:7001');
  });

  it('should take IDEMPOTENCY_TTL_SECONDS from 1 to 86400', () => {
    expect(loadConfig({ IDEMPOTENCY_TTL_SECONDS: '1' }).idempotencyTtlSeconds).toBe(1);
    expect(loadConfig({ IDEMPOTENCY_TTL_SECONDS: '86400' }).idempotencyTtlSeconds).toBe(86_400);
    for (const bad of ['0', '86401', '1.5', 'ten']) {
      expect(() => loadConfig({ IDEMPOTENCY_TTL_SECONDS: bad }), bad).toThrow(/IDEMPOTENCY_TTL_SECONDS must be an integer from 1 to 86400/);
    }
  });

  it('should take PRESENCE_LEAVE_GRACE_MS from 0 to 3600000 and PRESENCE_TTL_SECONDS from 2 to 86400', () => {
    expect(loadConfig({ PRESENCE_LEAVE_GRACE_MS: '0', PRESENCE_TTL_SECONDS: '2' })).toMatchObject({
      presenceLeaveGraceMs: 0,
      presenceTtlSeconds: 2,
    });
    expect(loadConfig({ PRESENCE_LEAVE_GRACE_MS: '3600000', PRESENCE_TTL_SECONDS: '86400' })).toMatchObject({
      presenceLeaveGraceMs: 3_600_000,
      presenceTtlSeconds: 86_400,
    });
    for (const bad of ['-1', '3600001', '1.5', 'five']) {
      expect(() => loadConfig({ PRESENCE_LEAVE_GRACE_MS: bad }), bad).toThrow(
        /PRESENCE_LEAVE_GRACE_MS must be an integer from 0 to 3600000/,
      );
    }
    for (const bad of ['0', '1', '86401', '2.5', 'thirty']) {
      expect(() => loadConfig({ PRESENCE_TTL_SECONDS: bad }), bad).toThrow(/PRESENCE_TTL_SECONDS must be an integer from 2 to 86400/);
    }
  });

  describe('auth', () => {
    const problemsOf = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    const secret = 'x'.repeat(32);

    it('should accept each kind of key, with only its own algorithms', () => {
      expect(loadConfig({ AUTH_JWT_SECRET: secret }).auth?.key).toMatchObject({ kind: 'secret', algorithms: ['HS256', 'HS384', 'HS512'] });
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(loadConfig({ AUTH_JWT_PUBLIC_KEY: ec }).auth?.key).toMatchObject({ kind: 'public', algorithms: ['ES384'] });
      const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(loadConfig({ AUTH_JWT_PUBLIC_KEY: ed }).auth?.key.algorithms).toEqual(['EdDSA', 'Ed25519']);
      const auth = loadConfig({ AUTH_JWKS_URL: 'https://idp.example/.well-known/jwks.json', AUTH_JWT_ISSUER: 'https://idp.example' }).auth;
      expect(auth).toMatchObject({ key: { kind: 'jwks' }, issuer: 'https://idp.example', audience: undefined, clockToleranceSeconds: 5 });
      expect(auth?.key.algorithms).not.toContain('HS256');
    });

    it('should stop on two keys, a bad key, a short secret, a bad capability, or settings without a key', () => {
      expect(problemsOf({ AUTH_JWT_SECRET: secret, AUTH_JWKS_URL: 'https://x.example/jwks' })).toContain(
        'set only one of AUTH_JWT_SECRET, AUTH_JWKS_URL',
      );
      expect(problemsOf({ AUTH_JWT_SECRET: 'short' })).toContain('AUTH_JWT_SECRET must be at least 32 bytes');
      expect(problemsOf({ AUTH_JWT_PUBLIC_KEY: 'not a key' })).toContain('AUTH_JWT_PUBLIC_KEY is not a PEM public key');
      expect(problemsOf({ AUTH_JWT_PUBLIC_KEY_FILE: '/nonexistent/key.pem' })).toContain('AUTH_JWT_PUBLIC_KEY_FILE');
      expect(problemsOf({ AUTH_JWT_SECRET: secret, ANONYMOUS_CAPABILITY: '{"lobby":["read"]}' })).toContain('unknown operation "read"');
      expect(problemsOf({ AUTH_JWT_SECRET: secret, ANONYMOUS_CAPABILITY: 'lobby' })).toContain('ANONYMOUS_CAPABILITY is not JSON');
      expect(problemsOf({ ANONYMOUS_CAPABILITY: '{}' })).toContain('ANONYMOUS_CAPABILITY needs auth on');
    });
  });
});
