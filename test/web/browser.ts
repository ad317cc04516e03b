/**
 * Chromium for the viewer's tests: Debian's /usr/bin/chromium (or
 * COWHERD_CHROMIUM) through playwright-core, headless, no sandbox (root),
 * no network of its own. `.ci/run` installs it with apt-get when it is
 * missing; elsewhere the tests are skipped with the reason.
 */

import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.COWHERD_CHROMIUM ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const NO_CHROMIUM = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set COWHERD_CHROMIUM)`;
/** CI asks for the browser tests (.ci/run): there a missing Chromium fails them instead of skipping. */
export const BROWSER_REQUIRED = process.env.COWHERD_BROWSER_TESTS === '1';

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** Where screenshots go for a person to look at (.cache/ is not committed). */
export function shotPath(name: string): string {
  const dir = join('.cache', 'viewer');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}
