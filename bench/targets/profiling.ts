/**
 * BENCH_CPU_PROF=1: every server process of every target (Roomcast replicas and baselines) runs with
 * `node --cpu-prof`, writing one profile per process under bench/results/profiles/ when it stops
 * (with SIGTERM then, since SIGKILL would lose it). Read them with `npm run bench:profile -- <file>`.
 */
import { fileURLToPath } from 'node:url';

export const PROFILING = !['', '0', undefined].includes(process.env.BENCH_CPU_PROF);

/** Flags, not NODE_OPTIONS: Node 20 refuses --cpu-prof there. */
export const PROFILING_FLAGS: readonly string[] = PROFILING
  ? ['--cpu-prof', `--cpu-prof-dir=${fileURLToPath(new URL('../results/profiles/', import.meta.url))}`]
  : [];

/** How a server process is stopped: SIGTERM lets it write its profile, SIGKILL is quicker otherwise. */
export const STOP_SIGNAL: NodeJS.Signals = PROFILING ? 'SIGTERM' : 'SIGKILL';
