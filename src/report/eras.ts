/**
 * `cowherd eras`: every era and proposal id with its kernels and whether it
 * is modelled, then the page-table strategies (ADR 0013) and which era has
 * which by default.
 */

import type { PtStrategyInfo } from '../policy/pt-strategies.js';
import type { EraInfo } from '../policy/registry.js';

export function erasJson(eras: readonly EraInfo[], strategies: readonly PtStrategyInfo[]): string {
  return `${JSON.stringify(
    {
      eras: eras.map((e) => ({
        id: e.id,
        kernels: e.kernels,
        title: e.title,
        complete: e.policy?.complete === true,
        ptStrategy: e.policy?.ptStrategy ?? null,
      })),
      ptStrategies: strategies.map((s) => ({
        id: s.id,
        title: s.title,
        source: s.source,
        modelled: s.modelled,
        ...(s.unsafe ? { unsafe: s.unsafe } : {}),
      })),
    },
    null,
    2,
  )}\n`;
}

function table(widths: readonly number[], rows: readonly (readonly string[])[]): string[] {
  return rows.map((c) =>
    c
      .map((x, i) => (i < widths.length ? x.padEnd(widths[i]!) : x))
      .join('')
      .trimEnd(),
  );
}

export function erasText(eras: readonly EraInfo[], strategies: readonly PtStrategyInfo[]): string {
  const lines = table(
    [16, 18, 12],
    [
      ['era', 'kernels', 'modelled', 'summary'],
      ...eras.map((e) => [e.id, e.kernels, e.policy?.complete ? 'complete' : 'not yet', e.title]),
    ],
  );
  lines.push('');
  lines.push(
    "page-table strategies (--pt S, or ERA/S wherever an era goes; the fault, GUP-fast and reclaim's rmap walk race with their frees; an unsafe variant is its design without one detail: ADR 0013):",
  );
  lines.push(
    ...table(
      [Math.max(16, ...strategies.map((s) => s.id.length + 2)), 12],
      [
        ['strategy', 'modelled', 'summary'],
        ...strategies.map((s) => {
          const own = eras.filter((e) => e.policy?.ptStrategy === s.id).map((e) => e.id);
          const others = eras
            .filter((e) => e.policy && e.policy.ptStrategy !== s.id)
            .map((e) => e.id);
          const dflt =
            own.length === 0
              ? ''
              : others.length === 0
                ? '; the default of every era'
                : own.length > others.length
                  ? `; the default of every era but ${others.join(', ')}`
                  : `; the default of ${own.join(', ')}`;
          return [s.id, s.modelled ? 'yes' : 'not yet', `${s.title} [${s.source}${dflt}]`];
        }),
      ],
    ),
  );
  return `${lines.join('\n')}\n`;
}
