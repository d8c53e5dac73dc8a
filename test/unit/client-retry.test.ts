/**
 * Which failures end a @roomcast/client subscription. graphql-ws ends on its protocol faults before
 * asking (not testable from here); everything it asks about is retried except a deliberate refusal.
 */

import { FATAL_CLOSE_CODES, isRetryable } from '@roomcast/client';
import { expect, it } from 'vitest';
it('should retry a connection that could not be opened (no close code), and every close but a refusal', () => {
  expect(isRetryable({ type: 'error', message: 'connect ECONNREFUSED 127.0.0.1:4011' })).toBe(true);
  expect(isRetryable(new Error('getaddrinfo ENOTFOUND'))).toBe(true);
  for (const code of [1001, 1005, 1006, 1012, 1013, 1014, 4008, 4408, 4499]) {
    expect(isRetryable({ code, reason: '' }), `close ${code}`).toBe(true);
  }
  expect(FATAL_CLOSE_CODES).toEqual([4403]);
  expect(isRetryable({ code: 4403, reason: 'Forbidden' })).toBe(false);
});
