/**
 * The clock every bench process stamps and reads latencies with. process.hrtime is CLOCK_MONOTONIC,
 * which is one clock for the whole machine, so a time taken in the publisher process can be
 * subtracted from a time taken in a client process; Date.now() has only millisecond resolution and
 * can jump, and performance.now() starts at each process's own origin.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
