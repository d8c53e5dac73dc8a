/**
 * Epochs: random ids of a room's continuous history. The Redis publish script needs a candidate on
 * every publish (it keeps the room's own while the room has one), so random bytes are drawn in
 * batches: one getrandom call per 256 epochs instead of one per publish.
 */
import { randomBytes } from 'node:crypto';

const EPOCH_BYTES = 6;
const BATCH = 256;
let pool = Buffer.alloc(0);
let next = 0;

/** 8 characters of base64url: 48 random bits. */
export function newEpoch(): string {
  if (next === pool.length) {
    pool = randomBytes(EPOCH_BYTES * BATCH);
    next = 0;
  }
  next += EPOCH_BYTES;
  return pool.toString('base64url', next - EPOCH_BYTES, next);
}
