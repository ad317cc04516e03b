/** One scenario under two eras: their runs side by side, aligned by step, the first divergence marked. */

import { useEffect } from 'preact/hooks';
import { viewKey } from '../../../src/report/view-keys.js';
import type { ViewDiff, ViewStep } from '../../../src/report/view-types.js';
import { href, Status, useRecord } from '../util.js';

function Side({ st, token }: { st: ViewStep | undefined; token: string | null }) {
  if (!st) return <td class="side empty">—</td>;
  return (
    <td class="side">
      <div>
        <a {...(token ? { href: `${href('trace', token)}?step=${st.index}` } : {})}>
          <span class="idx">#{st.index}</span> <span class="actor">{st.actor}</span>{' '}
          <code>{st.stmt}</code>
        </a>
        {st.note ? <span class="muted"> ⇒ {st.note}</span> : null}
      </div>
      {st.decisions.map((d) => (
        <div class="decision">
          <span class="point">{d.point}</span>: <b>{d.choice}</b> <span class="why">({d.why})</span>
        </div>
      ))}
      {st.findings
        .filter((f) => f.fresh)
        .map((f) => (
          <div class="finding fresh">
            ! {f.code} {f.detail}
          </div>
        ))}
    </td>
  );
}

export function DiffPage({ file, a, b }: { file: string; a: string; b: string }) {
  const r = useRecord<ViewDiff>(viewKey.diff(file, a, b));
  useEffect(() => {
    if (r.state === 'ok') document.querySelector('.divergent')?.scrollIntoView({ block: 'center' });
  }, [r.state]);
  if (r.state !== 'ok') return <Status r={r} what="the era diff" />;
  const d = r.data;
  const first = d.divergence === null ? null : d.rows[d.divergence]!;
  return (
    <div>
      <h1>
        <a href={href('scenario', file)}>{d.a.scenario}</a>: {a} vs {b}
      </h1>
      <p data-testid="diff-summary">
        {first === null
          ? 'The sequential runs take the same threads, statements and decisions: the eras differ in other interleavings, or in state they compute alike.'
          : first.a !== null && first.b !== null
            ? `The runs part at step #${first.a} of ${a} (#${first.b} of ${b}): they decide differently.`
            : `The runs part at step #${first.a ?? first.b} of ${first.a !== null ? a : b}, which only ${first.a !== null ? a : b} takes.`}{' '}
        Verdicts (every interleaving): {a} {d.verdicts.a ?? '?'}, {b} {d.verdicts.b ?? '?'}.
      </p>
      <table class="diff" data-testid="diff">
        <thead>
          <tr>
            <th>{a}</th>
            <th>{b}</th>
          </tr>
        </thead>
        <tbody>
          {d.rows.map((row, i) => (
            <tr
              class={i === d.divergence ? 'divergent' : ''}
              data-row={i}
              data-a={row.a ?? ''}
              data-b={row.b ?? ''}
            >
              <Side st={row.a === null ? undefined : d.a.steps[row.a]} token={d.a.replay} />
              <Side st={row.b === null ? undefined : d.b.steps[row.b]} token={d.b.replay} />
            </tr>
          ))}
          <tr>
            <td class="side end">{d.a.ending}</td>
            <td class="side end">{d.b.ending}</td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}
