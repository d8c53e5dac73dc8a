/**
 * Reads `t` and `i` out of a received frame without parsing it. Clients must cost as little as
 * possible per delivery (they share the 2 cores with the servers), and every protocol here carries
 * the published data verbatim somewhere in its frame, with `"t":` first and `"i":` second (payload.ts).
 * No other key of any frame is spelled `t` or `i`.
 */
export interface Stamp {
  /** Send time, ms on the shared monotonic clock. */
  readonly t: number;
  /** Message id. */
  readonly i: number;
}

const T_KEY = Buffer.from('"t":');
const I_KEY = Buffer.from('"i":');

/** The stamp in `frame`, or undefined when the frame carries none (protocol messages, errors). */
export function readStamp(frame: Buffer): Stamp | undefined {
  const at = frame.indexOf(T_KEY);
  if (at < 0) return undefined;
  const tEnd = numberEnd(frame, at + T_KEY.length);
  const iAt = frame.indexOf(I_KEY, tEnd);
  if (iAt < 0) return undefined;
  const iEnd = numberEnd(frame, iAt + I_KEY.length);
  const t = Number(frame.toString('latin1', at + T_KEY.length, tEnd));
  const i = Number(frame.toString('latin1', iAt + I_KEY.length, iEnd));
  return Number.isFinite(t) && Number.isInteger(i) ? { t, i } : undefined;
}

/** Index just past the JSON number starting at `from`. */
function numberEnd(frame: Buffer, from: number): number {
  let end = from;
  for (; end < frame.length; end++) {
    const c = frame[end]!;
    // digits, '.', '-', '+', 'e', 'E'
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45)) break;
  }
  return end;
}
