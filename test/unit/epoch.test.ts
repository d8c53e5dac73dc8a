/** Epoch candidates (src/broker/epoch.ts): 8 characters of base64url each, all distinct across batches. */
import { describe, expect, it } from 'vitest';
import { newEpoch } from '../../src/broker/epoch.js';

describe('newEpoch', () => {
  it('should give 8 base64url characters, never the same twice over several batches', () => {
    const epochs = Array.from({ length: 1_000 }, newEpoch);
    for (const epoch of epochs) expect(epoch).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(new Set(epochs).size).toBe(epochs.length);
  });
});
