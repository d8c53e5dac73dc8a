/**
 * Command line and environment: `npm run bench -- [--quick] [--targets=a,b] [--scenario=1room,100rooms,saturation]
 * [--runs=N] [--subscribers=1000,5000] [--client-procs=N]`; BENCH_QUICK=1 is --quick.
 */
import { FULL, LAYOUTS, QUICK, type Profile } from './profile.js';
import { DEFAULT_TARGETS, TARGET_NAMES, type TargetName } from './targets/target.js';

export const SCENARIOS = [...LAYOUTS.map((layout) => layout.name), 'saturation'] as const;

export interface Options {
  readonly profile: Profile;
  readonly targets: readonly TargetName[];
  readonly scenarios: readonly string[];
}

export class UsageError extends Error {}

export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Options {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    flags.set(match[1]!, match[2] ?? '');
  }
  const known = new Set(['quick', 'targets', 'scenario', 'runs', 'subscribers', 'client-procs']);
  for (const flag of flags.keys()) if (!known.has(flag)) throw new UsageError(`unknown option --${flag}`);

  const quick = flags.has('quick') || (env.BENCH_QUICK !== undefined && env.BENCH_QUICK !== '' && env.BENCH_QUICK !== '0');
  let profile: Profile = quick ? QUICK : FULL;

  const list = (name: string) =>
    flags
      .get(name)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const targets = list('targets') ?? [...DEFAULT_TARGETS];
  for (const target of targets) {
    if (!(TARGET_NAMES as readonly string[]).includes(target)) {
      throw new UsageError(`unknown target ${target}; targets: ${TARGET_NAMES.join(', ')}`);
    }
  }
  const scenarios = list('scenario') ?? [...SCENARIOS];
  for (const scenario of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(scenario)) {
      throw new UsageError(`unknown scenario ${scenario}; scenarios: ${SCENARIOS.join(', ')}`);
    }
  }
  const positive = (name: string): number | undefined => {
    const raw = flags.get(name);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer`);
    return n;
  };
  const runs = positive('runs');
  const clientProcesses = positive('client-procs');
  const levels = list('subscribers')?.map(Number);
  if (levels?.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError('--subscribers must list positive integers');
  profile = {
    ...profile,
    ...(runs === undefined ? {} : { runs }),
    ...(clientProcesses === undefined ? {} : { clientProcesses }),
    ...(levels === undefined ? {} : { subscriberLevels: [...levels].sort((a, b) => a - b) }),
  };
  return { profile, targets: targets as TargetName[], scenarios };
}
