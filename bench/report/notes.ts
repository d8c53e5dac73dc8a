/**
 * What the reader must know besides the figures: any loss, subscribers the servers closed, steps
 * whose client processes were saturated (the figure is then the load generator's as much as the
 * server's), publishers that fell behind, connections that failed, server warnings, and what limited
 * each saturation ramp.
 */
import { SATURATED_CORE, type StepResult } from '../harness/load-step.js';
import type { BenchResults } from './results.js';

const PUBLISHER_LAG_NOTE_MS = 100;
/** Other processes using more than this many cores during a step disturbed it. */
const OTHER_LOAD_NOTE_CORES = 0.25;

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function list(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([what, n]) => `${n}× ${what}`)
    .join('; ');
}

function stepNotes(step: StepResult): string[] {
  const notes: string[] = [];
  if (step.lost > 0) notes.push(`LOST ${step.lost} of ${step.expected} deliveries`);
  if (step.duplicates > 0) notes.push(`${step.duplicates} duplicate deliveries`);
  if (total(step.closed) > 0) notes.push(`server closed subscribers: ${list(step.closed)}`);
  if (total(step.anomalies) > 0) notes.push(`unexpected frames: ${list(step.anomalies)}`);
  if (step.publishFailed > 0) notes.push(`${step.publishFailed} publishes failed: ${list(step.publishErrors)}`);
  if (step.clientBound) {
    notes.push(
      `CLIENT-BOUND: client processes at ${step.cpu.clientCores.map((s) => `${Math.round(s * 100)}%`).join(', ')} of a core (> ${SATURATED_CORE * 100}%)`,
    );
  }
  if (step.publisherMaxLagMs > PUBLISHER_LAG_NOTE_MS)
    notes.push(`publisher up to ${Math.round(step.publisherMaxLagMs)} ms behind its rate`);
  if (step.cpu.otherCores > OTHER_LOAD_NOTE_CORES) {
    notes.push(`OTHER LOAD: processes outside the benchmark used ${step.cpu.otherCores.toFixed(2)} cores during the step`);
  }
  return notes;
}

export function collectNotes(results: BenchResults): string[] {
  const notes: string[] = [];
  results.runs.forEach((run, r) => {
    for (const target of results.targets) {
      const tr = run[target];
      if (!tr) continue;
      const where = (what: string) => `run ${r + 1}, ${target}, ${what}`;
      for (const ladder of tr.ladders) {
        if (ladder.error) notes.push(`${where(ladder.layout)}: FAILED: ${ladder.error}`);
        for (const skipped of ladder.skipped) notes.push(`${where(ladder.layout)}: skipped level ${skipped}`);
        for (const level of ladder.levels) {
          const at = where(`${ladder.layout} ${level.subscribers} subs`);
          if (level.openFailed > 0) notes.push(`${at}: ${level.openFailed} connections failed: ${list(level.openErrors)}`);
          if (level.barrier.ready < level.barrier.open) {
            notes.push(`${at}: only ${level.barrier.ready} of ${level.barrier.open} subscribers were live before measuring`);
          }
          if (level.warmLost > 0) notes.push(`${at}: LOST ${level.warmLost} deliveries in the warm-up step`);
          for (const note of stepNotes(level.step)) notes.push(`${at}: ${note}`);
        }
        if (total(ladder.serverWarnings) > 0) notes.push(`${where(ladder.layout)}: server log: ${list(ladder.serverWarnings)}`);
      }
      const sat = tr.saturation;
      if (sat) {
        const at = where('saturation');
        if (sat.error) notes.push(`${at}: FAILED: ${sat.error}`);
        const last = sat.steps[sat.steps.length - 1];
        const clean = sat.steps.filter((s) => s.problems.length === 0);
        const best = clean[clean.length - 1];
        if (last && last.problems.length > 0) {
          notes.push(
            `${at}: stopped at ${Math.round(last.offeredDeliveriesPerSecond).toLocaleString('en-US')} deliveries/s (${last.problems.join(', ')}); ` +
              `saturated: ${sat.limitedBy.join(', ')}`,
          );
        } else if (sat.steps.length > 0) {
          notes.push(`${at}: never saturated within the ramp; the figure is a lower bound`);
        }
        if (best?.result.clientBound)
          notes.push(`${at}: CLIENT-BOUND already at the best clean step: the figure is the load generator's limit`);
        if (total(sat.serverWarnings) > 0) notes.push(`${at}: server log: ${list(sat.serverWarnings)}`);
      }
    }
  });
  return notes;
}
