/**
 * A bad configuration stops the real process before anything starts: exit 1 and exactly one line on
 * stderr naming the variable, so an operator sees what to fix and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { runToExit } from '../helpers/replica.js';

const badConfigurations: [variable: string, value: string][] = [
  ['PORT', 'abc'],
  ['PORT', '70000'],
  ['REDIS_URL', 'http://x'],
  ['REDIS_URL', 'notaurl'],
  ['HISTORY_SIZE', '-1'],
  ['MAX_PAYLOAD_BYTES', '0'],
  ['HISTORY_TTL_SECONDS', '1.5'],
  ['LOG_LEVEL', 'loud'],
];

describe('start-up with a bad configuration', () => {
  it.each(badConfigurations)('should exit 1 with one line naming %s when it is %j', async (variable, value) => {
    const { code, stderr } = await runToExit({ [variable]: value });
    expect(code).toBe(1);
    const lines = stderr.split('\n');
    expect(lines, stderr).toHaveLength(2); // one line and its newline
    expect(lines[1]).toBe('');
    expect(lines[0]).toMatch(/^roomcast: invalid configuration: /);
    expect(lines[0]).toContain(variable);
    expect(lines[0]).toContain(JSON.stringify(value));
  });
});
