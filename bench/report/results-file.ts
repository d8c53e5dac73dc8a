/** Writes the whole measurement, figures and notes to bench/results/<timestamp>-<profile>.json. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figures.js';
import type { BenchResults } from './results.js';

const dir = fileURLToPath(new URL('../results/', import.meta.url));

export function writeResults(results: BenchResults, figures: readonly Figure[], notes: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const path = `${dir}${stamp}-${results.profile.name}.json`;
  // Maps do not survive JSON.stringify; none is left in the results (counts stay in the workers).
  writeFileSync(path, `${JSON.stringify({ ...results, figures, notes }, null, 2)}\n`);
  return path;
}
