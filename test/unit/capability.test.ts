/**
 * Capabilities on their own: patterns, the broadcast and admin keys, merging, and inbox ids.
 */
import { describe, expect, it } from 'vitest';
import { allows, CapabilityError, inboxOf, mergeCapabilities, parseCapability } from '../../src/auth/capability.js';

describe('capabilities', () => {
  const capability = parseCapability({ lobby: ['subscribe'], 'team:42:*': ['publish', 'history'], '@broadcast': ['*'] });

  it('should match exact rooms, prefixes, and keep * away from @broadcast and @admin', () => {
    expect(allows(capability, 'lobby', 'subscribe')).toBe(true);
    expect(allows(capability, 'lobby', 'publish')).toBe(false);
    expect(allows(capability, 'lobby2', 'subscribe')).toBe(false);
    expect(allows(capability, 'team:42:x', 'publish')).toBe(true);
    expect(allows(capability, 'team:42', 'publish')).toBe(false);
    expect(allows(capability, '@broadcast', 'publish')).toBe(true);
    const everything = parseCapability({ '*': ['*'] });
    expect(allows(everything, 'any-room', 'history')).toBe(true);
    expect(allows(everything, '@broadcast', 'subscribe')).toBe(false);
    expect(allows(everything, '@admin', 'revoke')).toBe(false);
  });

  it('should add capabilities up', () => {
    const merged = mergeCapabilities(capability, parseCapability({ lobby: ['publish'] }));
    expect(allows(merged, 'lobby', 'subscribe') && allows(merged, 'lobby', 'publish')).toBe(true);
  });

  it('should refuse what is not a capability, naming the problem', () => {
    expect(() => parseCapability(['lobby'])).toThrow(CapabilityError);
    expect(() => parseCapability({ lobby: 'subscribe' })).toThrow(/must be a list/);
    expect(() => parseCapability({ lobby: ['read'] })).toThrow(/unknown operation "read"/);
    expect(() => parseCapability({ 'bad room': ['subscribe'] })).toThrow(/not a room pattern/);
    expect(() => parseCapability({ 'a*b': ['subscribe'] })).toThrow(/not a room pattern/);
  });

  it('should give every sub a distinct inbox room id, leaving [A-Za-z0-9_.-] as it is', () => {
    expect(inboxOf('alice_1.x-y')).toBe('user:alice_1.x-y');
    expect(inboxOf('auth0|123')).toBe('user:auth0:7C123');
    expect(inboxOf('a:7C')).toBe('user:a:3A7C');
    expect(inboxOf('é')).toBe('user::C3:A9');
    expect(inboxOf('x'.repeat(200))).toBeUndefined();
    const subs = ['a|b', 'a:7Cb', 'a b', 'a%20b', 'A|B'];
    expect(new Set(subs.map(inboxOf)).size).toBe(subs.length);
    for (const sub of subs) expect(inboxOf(sub)).toMatch(/^[A-Za-z0-9_.:-]{1,128}$/);
  });
});
