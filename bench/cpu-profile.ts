/**
 * Reads a V8 CPU profile (`node --cpu-prof`, or BENCH_CPU_PROF=1 npm run bench) and prints where the
 * active time went: self time by package and by function, and inclusive time by function, optionally
 * only between two offsets (seconds from the start of the profile), to leave out start-up and warm-up.
 *
 *   npm run bench:profile -- bench/results/profiles/<dir>/<file>.cpuprofile [--from=8] [--to=25] [--top=25]
 *
 * Idle time is left out; "active" is everything else (JavaScript, GC, native code called from it).
 * The profiler samples wall-clock time: a system call during which the process was descheduled counts
 * in full, so compare shares between profiles of the same load, and CPU figures with `npm run bench`.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function parseArgs(argv: readonly string[]) {
  const file = argv.find((arg) => !arg.startsWith('--'));
  const flag = (name: string, fallback: number) => {
    const raw = argv.find((arg) => arg.startsWith(`--${name}=`))?.split('=')[1];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value)) throw new Error(`--${name} must be a number`);
    return value;
  };
  if (!file) throw new Error('usage: npm run bench:profile -- <file.cpuprofile> [--from=s] [--to=s] [--top=n]');
  return { file, from: flag('from', 0), to: flag('to', Infinity), top: flag('top', 25) };
}

/** `graphql-yoga`, `src/broker/redis.ts`, `node:net`, or the function name for native frames. */
function ownerOf(frame: ProfileNode['callFrame']): string {
  const { url } = frame;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.includes('/src/')) return `src/${url.split('/src/')[1]}`;
  return url || frame.functionName;
}

function labelOf(frame: ProfileNode['callFrame']): string {
  if (!frame.url) return frame.functionName;
  return `${frame.functionName || '(anonymous)'} ${ownerOf(frame)}:${frame.lineNumber + 1}`;
}

function summarize(profile: CpuProfile, from: number, to: number) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  // A sample's duration is the delta to the next sample.
  const timeOf = new Map<number, number>();
  let clock = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    clock += profile.timeDeltas[i] ?? 0;
    const seconds = clock / 1e6;
    if (seconds < from || seconds > to) continue;
    const id = profile.samples[i]!;
    timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
  }
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  const selfByOwner = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let active = 0;
  for (const [id, us] of timeOf) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    active += us;
    add(selfByOwner, ownerOf(frame), us);
    add(selfByFunction, labelOf(frame), us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const label = labelOf(byId.get(at)!.callFrame);
      if (!seen.has(label)) add(inclusive, label, us);
      seen.add(label);
    }
  }
  return { active, selfByOwner, selfByFunction, inclusive };
}

function print(title: string, map: Map<string, number>, active: number, top: number): void {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / active).toFixed(1).padStart(5)} %  ${key}`);
  }
}

const { file, from, to, top } = parseArgs(process.argv.slice(2));
const { active, selfByOwner, selfByFunction, inclusive } = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, from, to);
console.log(`${file}: ${(active / 1000).toFixed(0)} ms active between ${from} s and ${to === Infinity ? 'the end' : `${to} s`}`);
print('self time by package or file', selfByOwner, active, top);
print('self time by function', selfByFunction, active, top);
print('inclusive time by function', inclusive, active, top);
