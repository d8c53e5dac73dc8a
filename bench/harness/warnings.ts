/** Server log lines worth a look (warnings, errors), counted by message, for the report. */
export function summarizeWarnings(lines: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of lines) {
    let key = line.slice(0, 160);
    try {
      const parsed = JSON.parse(line) as { msg?: unknown };
      if (typeof parsed.msg === 'string') key = parsed.msg;
    } catch {
      // not JSON: keep the line itself
    }
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
