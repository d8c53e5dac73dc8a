/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium (or CHROMIUM_PATH) driven by
 * playwright-core, which downloads no browser of its own.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/**
 * Whether Chromium is there. CI installs it and must run the browser tests, so there a missing one
 * fails the file; on a developer's machine without one the file is skipped with a note instead.
 */
export function chromiumAvailable(what: string): boolean {
  const found = existsSync(CHROMIUM);
  if (!found && process.env.CI) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  if (!found) console.warn(`skipping ${what}: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  return found;
}

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ATTEMPTS = 2;

/**
 * A headless browser with a fresh temporary profile (deleted on close) and no background traffic.
 * A start that hangs is killed and tried once more: in CI a launch has, once, not come up within
 * 30 s while the machine was otherwise idle (a hung start, not a slow one); it normally takes about one.
 */
export async function launchChromium(): Promise<Browser> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await chromium.launch({ executablePath: CHROMIUM, headless: true, timeout: 45_000, args: ARGS });
    } catch (error) {
      if (attempt >= ATTEMPTS || !(error instanceof Error && error.name === 'TimeoutError')) throw error;
      console.warn(`Chromium did not start within 45 s (attempt ${attempt} of ${ATTEMPTS}); trying again`);
    }
  }
}
