/**
 * The report on stdout: the headline figures by target, Roomcast's ratios to each baseline,
 * the per-scenario details, and the notes (losses, client-bound steps, anything odd). Each cell is
 * the median of the runs, with the min-max spread in parentheses when there was more than one run.
 */
import type { Spread } from '../measure/stats.js';
import { BASELINE_NAMES, type TargetName } from '../targets/target.js';
import { ROOMCAST_NAMES, type Figure, type RatioKey } from './figures.js';

function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function formatNumber(value: number, unit: string): string {
  if (unit === '/s' || Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (unit === '') return String(Math.round(value));
  const abs = Math.abs(value);
  return value.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

function cell(spread: Spread | undefined, unit: string): string {
  if (!spread) return '-';
  const median = formatNumber(spread.median, unit);
  if (spread.runs < 2) return median;
  return `${median} (${formatNumber(spread.min, unit)}–${formatNumber(spread.max, unit)})`;
}

function ratioCell(spread: Spread | undefined): string {
  if (!spread) return '-';
  const f = (v: number) => v.toFixed(2);
  return spread.runs < 2 ? `×${f(spread.median)}` : `×${f(spread.median)} (${f(spread.min)}–${f(spread.max)})`;
}

function labelOf(figure: Figure): string {
  return figure.unit && figure.unit !== '/s' ? `${figure.label}, ${figure.unit}` : figure.label;
}

export function renderFigures(figures: readonly Figure[], targets: readonly TargetName[]): string {
  const headline = figures.filter((f) => f.headline);
  const details = figures.filter((f) => !f.headline);
  const out: string[] = [];
  out.push('FIGURES (median of runs, min–max in parentheses)', '');
  out.push(
    renderTable(
      ['figure', ...targets],
      headline.map((f) => [labelOf(f), ...targets.map((t) => cell(f.byTarget[t], f.unit))]),
    ),
  );

  const pairs = ROOMCAST_NAMES.flatMap((ours) =>
    BASELINE_NAMES.filter((theirs) => targets.includes(ours) && targets.includes(theirs)).map((theirs): RatioKey => `${ours}/${theirs}`),
  );
  const withRatios = figures.filter((f) => f.headline && Object.keys(f.ratios).length > 0);
  if (pairs.length > 0 && withRatios.length > 0) {
    out.push('', 'RATIOS: Roomcast ÷ baseline, pairing targets of the same run (< 1 is better for Roomcast, except deliveries/s)', '');
    out.push(
      renderTable(
        ['figure', ...pairs.map(shortPair)],
        withRatios.map((f) => [labelOf(f), ...pairs.map((p) => ratioCell(f.ratios[p]))]),
      ),
    );
  }
  if (details.length > 0) {
    out.push('', 'DETAILS by scenario', '');
    out.push(
      renderTable(
        ['scenario: figure', ...targets],
        details.map((f) => [labelOf(f), ...targets.map((t) => cell(f.byTarget[t], f.unit))]),
      ),
    );
    const detailRatios = details.filter((f) => /server-us-per-(delivery|publish)$/.test(f.key) && Object.keys(f.ratios).length > 0);
    if (pairs.length > 0 && detailRatios.length > 0) {
      out.push('');
      out.push(
        renderTable(
          ['scenario: ratio', ...pairs.map(shortPair)],
          detailRatios.map((f) => [labelOf(f), ...pairs.map((p) => ratioCell(f.ratios[p]))]),
        ),
      );
    }
  }
  return out.join('\n');
}

/** `roomcast-redis/socketio` -> `redis÷socketio`, to keep the ratio table narrow. */
function shortPair(pair: RatioKey): string {
  const [ours, theirs] = pair.split('/');
  return `${ours!.replace('roomcast-', '')}÷${theirs}`;
}
