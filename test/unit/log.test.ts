/**
 * The logger (src/log.ts, on pino): JSON lines with ISO time, the level by name, the base and child
 * fields; info and debug on stdout, warnings and errors on stderr only; LOG_LEVEL honoured; errors as
 * their name and message; fields that could carry a token censored.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, lazyChild } from '../../src/log.js';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
  const lines = (chunks: string[]) =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { out: () => lines(out), err: () => lines(err) };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('createLogger', () => {
  it('should write JSON lines with time, level, msg and fields; warnings and errors to stderr only', () => {
    const streams = capture();
    const log = createLogger('debug', { replica: 'r1' });
    log.info('started', { port: 4000 });
    log.child({ connection: 'c1' }).debug('opened', { user: 'ann' });
    log.warn('slow', { bufferedBytes: 10 });
    log.error('failed', { error: new TypeError('boom') });
    expect(streams.out()).toEqual([
      { level: 'info', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), replica: 'r1', port: 4000, msg: 'started' },
      { level: 'debug', time: expect.any(String), replica: 'r1', connection: 'c1', user: 'ann', msg: 'opened' },
    ]);
    expect(streams.err()).toEqual([
      { level: 'warn', time: expect.any(String), replica: 'r1', bufferedBytes: 10, msg: 'slow' },
      { level: 'error', time: expect.any(String), replica: 'r1', error: { name: 'TypeError', message: 'boom' }, msg: 'failed' },
    ]);
  });

  it('should honour the level and write nothing when silent', () => {
    const streams = capture();
    createLogger('warn').info('hidden');
    createLogger('silent').error('hidden too');
    expect([...streams.out(), ...streams.err()]).toEqual([]);
  });

  it('should censor the fields that could carry a token', () => {
    const streams = capture();
    createLogger('info').info('request', {
      token: 'eyJ.a.b',
      connectionParams: { authToken: 'eyJ.c.d' },
      headers: { authorization: 'Bearer eyJ.e.f' },
    });
    const [line] = streams.out();
    expect(JSON.stringify(line)).not.toContain('eyJ');
    expect(line).toMatchObject({
      token: '[redacted]',
      connectionParams: { authToken: '[redacted]' },
      headers: { authorization: '[redacted]' },
    });
  });
});

describe('lazyChild', () => {
  it("should make the child on the first line only, with the parent's and its own fields", () => {
    const streams = capture();
    const parent = createLogger('info', { replica: 'r1' });
    const child = vi.spyOn(parent, 'child');
    const request = lazyChild(parent, { request: 'q1' });
    expect(child).not.toHaveBeenCalled();
    request.info('one');
    lazyChild(request, { user: 'ann' }).warn('two');
    expect(child).toHaveBeenCalledTimes(1);
    expect(streams.out()).toEqual([{ level: 'info', time: expect.any(String), replica: 'r1', request: 'q1', msg: 'one' }]);
    expect(streams.err()).toEqual([{ level: 'warn', time: expect.any(String), replica: 'r1', request: 'q1', user: 'ann', msg: 'two' }]);
  });

  it('should make no child for lines its level drops, and chain lazily', () => {
    const streams = capture();
    const parent = createLogger('info', { replica: 'r1' });
    const child = vi.spyOn(parent, 'child');
    const connection = lazyChild(parent, { connection: 'c1' });
    connection.debug('opened');
    const operation = connection.child({ user: 'ann' });
    operation.debug('subscribed');
    expect(child).not.toHaveBeenCalled();
    expect([connection.writes('debug'), operation.writes('info')]).toEqual([false, true]);
    operation.info('closing');
    expect(child).toHaveBeenCalledTimes(1);
    expect(streams.out()).toEqual([
      { level: 'info', time: expect.any(String), replica: 'r1', connection: 'c1', user: 'ann', msg: 'closing' },
    ]);
  });
});
