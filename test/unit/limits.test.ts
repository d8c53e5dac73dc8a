/**
 * The limits' settings as loadConfig reads them (one problem line per bad variable), and the
 * per-connection and per-operation counters on their own.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConnectionsPerIp, FixedWindow } from '../../src/limits/connections.js';
import { HistoryBudget } from '../../src/limits/history-budget.js';
import type { Message } from '../../src/rooms/message.js';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return '';
  } catch (error) {
    return (error as Error).message;
  }
};

describe('limits configuration', () => {
  it('should be off by default, with a 16 MiB history budget', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      publishRateLimit: undefined,
      subscribeRateLimit: undefined,
      maxConnectionsPerIp: undefined,
      trustProxy: undefined,
    });
    expect(config.maxResponseBytes).toBe(16 * 1024 * 1024);
  });

  it('should read rates in whole seconds, minutes or hours', () => {
    const config = loadConfig({ PUBLISH_RATE_LIMIT: '20/1s', SUBSCRIBE_RATE_LIMIT: '100/ 2m' });
    expect(config.publishRateLimit).toEqual({ points: 20, durationSeconds: 1, text: '20/1s' });
    expect(config.subscribeRateLimit).toEqual({ points: 100, durationSeconds: 120, text: '100/2m' });
    expect(loadConfig({ PUBLISH_RATE_LIMIT: '600/60s' }).publishRateLimit?.durationSeconds).toBe(60);
    expect(loadConfig({ PUBLISH_RATE_LIMIT: '1000/1h' }).publishRateLimit?.durationSeconds).toBe(3600);
  });

  it('should refuse a bad rate with one line naming the variable', () => {
    for (const bad of ['20', '20/s', '0/1s', '20/0s', '20/500ms', '1.5/1s', 'fast', '20/2d']) {
      const problems = problemsOf({ PUBLISH_RATE_LIMIT: bad });
      expect(problems, bad).toContain(`PUBLISH_RATE_LIMIT must look like 20/1s or 600/60s`);
      expect(problems, bad).toContain(JSON.stringify(bad));
    }
    expect(problemsOf({ SUBSCRIBE_RATE_LIMIT: 'x' })).toContain('SUBSCRIBE_RATE_LIMIT must look like');
  });

  it('should read TRUST_PROXY as a hop count or a list of addresses and ranges', () => {
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toEqual({ hops: 2 });
    expect(loadConfig({ TRUST_PROXY: '0' }).trustProxy).toBeUndefined();
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1,::1, loopback' }).trustProxy).toEqual({
      addresses: ['10.0.0.0/8', '192.168.1.1', '::1', 'loopback'],
    });
    for (const bad of ['true', '*', '10.0.0.0/33', 'proxy.example', '1000']) {
      expect(problemsOf({ TRUST_PROXY: bad }), bad).toMatch(/TRUST_PROXY must be the number of proxies in front/);
    }
  });

  it('should read MAX_CONNECTIONS_PER_IP and MAX_RESPONSE_BYTES as integers', () => {
    expect(loadConfig({ MAX_CONNECTIONS_PER_IP: '50', MAX_RESPONSE_BYTES: '1048576' })).toMatchObject({
      maxConnectionsPerIp: 50,
      maxResponseBytes: 1_048_576,
    });
    expect(problemsOf({ MAX_CONNECTIONS_PER_IP: '0' })).toContain('MAX_CONNECTIONS_PER_IP must be an integer from 1');
    expect(problemsOf({ MAX_RESPONSE_BYTES: '10' })).toContain('MAX_RESPONSE_BYTES must be an integer from 1024');
  });
});

describe('counters', () => {
  it('ConnectionsPerIp: a slot per connection, released once', () => {
    const perIp = new ConnectionsPerIp(2);
    const a = perIp.acquire('1.1.1.1')!;
    const b = perIp.acquire('1.1.1.1')!;
    expect(perIp.acquire('1.1.1.1')).toBeUndefined();
    expect(perIp.acquire('2.2.2.2')).toBeDefined();
    a();
    a();
    expect(perIp.count('1.1.1.1')).toBe(1);
    b();
    expect(perIp.count('1.1.1.1')).toBe(0);
  });

  it('FixedWindow: points per window, the wait until it ends past them', () => {
    const window = new FixedWindow({ points: 2, durationSeconds: 1, text: '2/1s' });
    expect(window.take(1_000)).toBeUndefined();
    expect(window.take(1_100)).toBeUndefined();
    expect(window.take(1_600)).toBe(400);
    expect(window.take(2_000)).toBeUndefined();
  });

  it('HistoryBudget: reads one after another, none once the budget is spent', async () => {
    const budget = new HistoryBudget(100);
    const message = (size: number) => ({ size }) as Message;
    let reads = 0;
    const read = (sizes: number[]) => () => {
      reads++;
      return Promise.resolve(sizes.map(message));
    };
    const results = await Promise.allSettled([
      budget.read(read([40])),
      budget.read(read([40])),
      budget.read(read([40])),
      budget.read(read([40])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected']);
    expect(reads).toBe(3);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ extensions: { code: 'RESPONSE_TOO_LARGE' } });
  });
});
