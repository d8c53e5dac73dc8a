/**
 * Epochs: random ids of a room's continuous history. The Redis publish script needs a candidate on
 * every publish (it keeps the room's own while the room has one), so random bytes are drawn and
 * encoded in batches: one getrandom call and one base64url encoding per 256 epochs, then a slice
 * each, instead of both per publish.
 */
import { randomBytes } from 'node:crypto';

/** 6 random bytes are exactly 8 characters of base64url, so a batch's text splits into epochs evenly. */
const EPOCH_BYTES = 6;
const EPOCH_CHARS = 8;
const BATCH = 256;
let pool = '';
let next = 0;

/** 8 characters of base64url: 48 random bits. */
export function newEpoch(): string {
  if (next === pool.length) {
    pool = randomBytes(EPOCH_BYTES * BATCH).toString('base64url');
    next = 0;
  }
  next += EPOCH_CHARS;
  return pool.slice(next - EPOCH_CHARS, next);
}
