/**
 * `npm run bench`: the fan-out benchmark of issue 4. Prints figures, never asserts. See bench/README.md.
 *
 * For each run, each scenario, each target: fresh target processes, client worker processes and a
 * publisher process (harness/session.ts); a subscriber ladder per room layout (harness/ladder.ts)
 * and a saturation ramp (harness/saturation.ts). Targets of one run are measured back to back, so
 * the ratios between them pair measurements taken under the same conditions; the order of targets
 * rotates from run to run, so that none always goes first.
 */
import { runLadder } from './harness/ladder.js';
import { say } from './harness/log.js';
import { runSaturation } from './harness/saturation.js';
import { describeMachine } from './machine.js';
import { parseOptions, UsageError } from './options.js';
import { cleanupAll, installCleanup } from './processes.js';
import { LAYOUTS } from './profile.js';
import { computeFigures } from './report/figures.js';
import { collectNotes } from './report/notes.js';
import { writeResults } from './report/results-file.js';
import type { BenchResults, Run, TargetRun } from './report/results.js';
import { renderFigures } from './report/table.js';
import { targets as allTargets } from './targets/index.js';
import type { TargetName } from './targets/target.js';

async function main(): Promise<void> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n`);
    process.exit(2);
  }
  installCleanup();
  const { profile, targets, scenarios } = options;
  const startedAt = new Date().toISOString();
  const machine = await describeMachine();
  say(
    `${profile.name} profile: ${profile.runs} run(s), targets ${targets.join(', ')}; scenarios ${scenarios.join(', ')}; ` +
      `subscribers ${profile.subscriberLevels.join(', ')}; ${profile.clientProcesses} client processes`,
  );

  const runs: Run[] = [];
  for (let r = 0; r < profile.runs; r++) {
    const order = rotate(targets, r);
    const run: Run = {};
    const entry = (target: TargetName): TargetRun => (run[target] ??= { target, ladders: [] });
    for (const layout of LAYOUTS.filter((l) => scenarios.includes(l.name))) {
      for (const target of order) {
        say(`run ${r + 1}/${profile.runs}: ${target}, ${layout.name}`);
        entry(target).ladders.push(await runLadder(allTargets[target], layout, profile));
      }
    }
    if (scenarios.includes('saturation')) {
      for (const target of order) {
        say(`run ${r + 1}/${profile.runs}: ${target}, saturation`);
        const saturation = await runSaturation(allTargets[target], profile);
        run[target] = { ...entry(target), saturation };
      }
    }
    runs.push(run);
  }

  const results: BenchResults = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `node --import tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    machine,
    profile,
    targets,
    scenarios,
    runs,
  };
  const figures = computeFigures(results);
  const notes = collectNotes(results);
  const path = writeResults(results, figures, notes);

  const out: string[] = [];
  out.push(
    `Roomcast fan-out benchmark (${profile.name}, ${profile.runs} run(s)) on ${machine.cpus} × ${machine.cpuModel}, ` +
      `${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.redis.split(' ').slice(0, 3).join(' ')}`,
    `${startedAt} – ${results.finishedAt}`,
    '',
    renderFigures(figures, targets),
    '',
    'NOTES',
    ...(notes.length > 0 ? notes.map((note) => `- ${note}`) : ['- none: no loss, no closed subscriber, no client-bound step']),
    '',
    `Results: ${path}`,
  );
  process.stdout.write(`${out.join('\n')}\n`);
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = items.length === 0 ? 0 : by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => cleanupAll());
