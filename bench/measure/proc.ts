/**
 * CPU time and memory of processes, and busy time of the whole machine, from /proc (Linux only).
 * utime + stime of /proc/<pid>/stat count every thread of the process (libuv's pool, V8's GC and
 * compiler threads, tsx's loader thread), which is what a server really costs. The values are in
 * clock ticks (USER_HZ, 100 per second on Linux), so a window must hold many ticks to be precise.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** User + system CPU time of `pid` so far, in ms; undefined when the process is gone. */
export function cpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}

/** Resident set size of `pid` in bytes (/proc/<pid>/statm, second field); undefined when gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const resident = Number(readFileSync(`/proc/${pid}/statm`, 'latin1').split(' ')[1]);
    return resident * PAGE_BYTES;
  } catch {
    return undefined;
  }
}

export function sum(values: readonly (number | undefined)[]): number {
  return values.reduce<number>((total, value) => total + (value ?? 0), 0);
}

export interface MachineCpu {
  readonly busyMs: number;
  readonly totalMs: number;
}

/** Busy and total CPU time of all cores since boot (first line of /proc/stat). */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busyMs: ((total - idle) * 1000) / TICKS_PER_SECOND, totalMs: (total * 1000) / TICKS_PER_SECOND };
}
