/**
 * What the commands print: one JSON value per line on stdout (NDJSON), so the output pipes into jq,
 * a file or another program. Notes for people go to stderr.
 */

let closedByReader = false;

// `roomcast tail room | head -3`: once the reader is gone, writing fails with EPIPE. That is how a
// pipeline ends, not an error: the command stops quietly with 0.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  closedByReader = true;
  process.exit(0);
});

export function printLine(value: unknown): void {
  if (!closedByReader) process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function note(text: string): void {
  process.stderr.write(`roomcast: ${text}\n`);
}

/** Resolves once stdout has handed everything written so far to the OS, so an exit loses nothing. */
export function flushed(): Promise<void> {
  return new Promise((resolve) => {
    if (closedByReader || !process.stdout.writableNeedDrain) resolve();
    else process.stdout.once('drain', () => resolve());
  });
}
