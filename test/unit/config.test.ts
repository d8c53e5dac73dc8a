/**
 * loadConfig on its own: the defaults, and every problem reported in one error.
 */
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('should use the documented defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      port: 4000,
      host: undefined,
      redisUrl: undefined,
      redisKeyPrefix: 'roomcast:',
      historySize: 1000,
      historyTtlSeconds: 86_400,
      maxPayloadBytes: 65_536,
      brokerTimeoutMs: 2_000,
      maxBufferedBytes: 1_048_576,
      maxConnections: 10_000,
      maxSubscriptionsPerConnection: 100,
      wsMaxPayloadBytes: 1_048_576,
      httpMaxBodyBytes: 1_048_576,
      connectionInitTimeoutMs: 3_000,
      keepAliveMs: 25_000,
      drainMs: 5_000,
      shutdownTimeoutMs: 10_000,
      directDelivery: true,
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
});
