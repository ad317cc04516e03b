/**
 * The era a kernel release belongs to (DESIGN.md's table): `uname -r`
 * "6.18.44-..." is v6.18 (6.15 to the newest), "6.5.0" is v6.2 (6.2–6.14).
 */

import type { EraId } from '../core/points.js';

/** The first kernel (major, minor) of each mainline era, newest first. */
const FROM: readonly (readonly [number, number, EraId])[] = [
  [6, 15, 'v6.18'],
  [6, 2, 'v6.2'],
  [5, 19, 'v5.19'],
  [5, 18, 'v5.18'],
  [5, 9, 'v5.9'],
  [5, 8, 'v5.8'],
  [0, 0, 'v5.7'],
];

/** The era of a release string, or null when it is not one. */
export function eraOfRelease(release: string): EraId | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return null;
  const major = Number(m[1]);
  const minor = Number(m[2]);
  for (const [ma, mi, id] of FROM) if (major > ma || (major === ma && minor >= mi)) return id;
  return null;
}
