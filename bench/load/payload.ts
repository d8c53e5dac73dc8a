/**
 * The published data: ~100 bytes of JSON carrying the send time `t` (ms, see clock.ts) and the
 * message id `i` that loss is counted by. `t` comes first and `i` second, so a client can read both
 * without parsing the frame (stamp.ts); `pad` brings the size to what a small chat or score event
 * weighs.
 */
export interface Payload {
  readonly t: number;
  readonly i: number;
  readonly pad: string;
}

export const PAYLOAD_BYTES = 100;

/** Rough size of the stamp fields as serialized (`{"t":12345678.123456,"i":1234567,"pad":""}`), to size the pad once. */
const PAD = 'x'.repeat(PAYLOAD_BYTES - '{"t":12345678.123456,"i":1234567,"pad":""}'.length);

export function payload(t: number, i: number): Payload {
  return { t, i, pad: PAD };
}
