/** The parse caches (src/graphql/operation-cache.ts) hold at most so many characters of query text, and no long text at all. */
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { parseCaches } from '../../src/graphql/operation-cache.js';

describe('parseCaches', () => {
  it('should keep ordinary operations, never one of megabytes, and a bounded total of long ones', () => {
    const { documentCache, errorCache } = parseCaches();
    const small = 'mutation Publish($room: ID!) { publish(room: $room, event: "e", data: 1) { seq } }';
    documentCache.set(small, parse(small));
    expect(documentCache.get(small)).toBeDefined();
    const huge = `{ __typename } # ${'x'.repeat(1024 * 1024)}`;
    documentCache.set(huge, parse(huge));
    errorCache.set(huge, new Error('never kept'));
    expect([documentCache.has(huge), errorCache.has(huge)]).toEqual([false, false]);
    // Many distinct long texts (each within the largest entry): the total stays bounded, the oldest go.
    for (let i = 0; i < 200; i++) {
      const text = `{ __typename } # ${i} ${'y'.repeat(60 * 1024)}`;
      documentCache.set(text, parse(text));
    }
    expect(documentCache.calculatedSize).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(documentCache.size).toBeLessThan(100);
  });
});
