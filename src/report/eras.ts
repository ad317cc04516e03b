/** `cowherd eras`: every era and proposal id with its kernels and whether it is modelled. */

import type { EraInfo } from '../policy/registry.js';

export function erasJson(eras: readonly EraInfo[]): string {
  return `${JSON.stringify(
    {
      eras: eras.map((e) => ({
        id: e.id,
        kernels: e.kernels,
        title: e.title,
        complete: e.policy?.complete === true,
        ptStrategy: e.policy?.ptStrategy ?? null,
      })),
    },
    null,
    2,
  )}\n`;
}

export function erasText(eras: readonly EraInfo[]): string {
  const w = [16, 18, 12];
  const row = (c: string[]) =>
    c
      .map((x, i) => (i < w.length ? x.padEnd(w[i]!) : x))
      .join('')
      .trimEnd();
  const lines = [row(['era', 'kernels', 'modelled', 'summary'])];
  for (const e of eras) {
    lines.push(row([e.id, e.kernels, e.policy?.complete ? 'complete' : 'not yet', e.title]));
  }
  return `${lines.join('\n')}\n`;
}
