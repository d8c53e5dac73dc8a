/** The machine the figures were measured on, for the report: figures mean little without it. */
import { execFileSync } from 'node:child_process';
import { cpus, release, totalmem } from 'node:os';
import { findRedisServerBinary } from '../test/helpers/redis-server.js';
import type { Machine } from './report/results.js';

export async function describeMachine(): Promise<Machine> {
  let redis = 'unknown';
  try {
    redis = execFileSync(await findRedisServerBinary(), ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    // reported as unknown
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: release(),
    redis,
  };
}
