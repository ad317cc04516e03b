/** The home page: scenario × era verdicts, filtered; the traces and simulations given. */

import { useMemo, useState } from 'preact/hooks';
import type { ViewCell, ViewIndex } from '../../../src/report/view-types.js';
import { href, Pick, Status, useRecord } from '../util.js';

const LETTER: Record<string, string> = {
  Never: 'N',
  Sometimes: 'S',
  Always: 'A',
  Hang: 'H',
  'tool-bug': 'B',
  limit: 'L',
  error: 'E',
};

export function verdictClass(c: ViewCell | undefined): string {
  if (!c) return 'cell pending';
  return `cell v-${c.verdict}${c.ok ? '' : ' mismatch'}${c.expected === null ? ' unexpected' : ''}`;
}

function Cell({ c, file, era }: { c: ViewCell | undefined; file: string; era: string }) {
  const title = c
    ? `${era}: ${c.verdict}${c.expected ? ` (expected ${c.expected}${c.provenance ? ` ${c.provenance}` : ''})` : ' (no expectation)'}${c.states !== undefined ? `, ${c.states} states` : ''}${c.findings ? `; breaks ${c.findings.join(', ')}` : ''}${c.detail ? `\n${c.detail}` : ''}`
    : `${era}: not explored yet`;
  return (
    <td class={verdictClass(c)} title={title} data-era={era} data-verdict={c?.verdict ?? ''}>
      <a href={`${href('scenario', file)}?era=${encodeURIComponent(era)}`}>
        {c ? c.verdict : '…'}
        {c && !c.ok ? <span class="mark">*</span> : null}
        {c?.findings ? <span class="codes">{c.findings.join(' ')}</span> : null}
      </a>
    </td>
  );
}

export function Matrix() {
  const r = useRecord<ViewIndex>('index', (x) => x.live && x.done < x.total);
  const [folder, setFolder] = useState('');
  const [era, setEra] = useState('');
  const [verdict, setVerdict] = useState('');
  const [code, setCode] = useState('');
  const [onlyMismatch, setOnlyMismatch] = useState(false);
  const idx = r.state === 'ok' ? r.data : null;
  const cells = useMemo(() => {
    const m = new Map<string, ViewCell>();
    for (const c of idx?.cells ?? []) m.set(`${c.file}\0${c.era}`, c);
    return m;
  }, [idx]);
  if (!idx) return <Status r={r} what="the matrix" />;
  const folders = [...new Set(idx.scenarios.map((s) => s.dir))].sort();
  const codes = [...new Set(idx.cells.flatMap((c) => c.findings ?? []))].sort();
  const eras = era ? [era] : idx.eras;
  const rows = idx.scenarios.filter((s) => {
    if (folder && s.dir !== folder) return false;
    const cs = eras.map((e) => cells.get(`${s.file}\0${e}`));
    if (onlyMismatch && !cs.some((c) => c && !c.ok)) return false;
    if (verdict && !cs.some((c) => c?.verdict === verdict)) return false;
    if (code && !cs.some((c) => c?.findings?.includes(code))) return false;
    return true;
  });
  const mismatches = idx.cells.filter((c) => !c.ok).length;
  return (
    <div>
      <h1>Verdicts</h1>
      <p class="summary" data-testid="summary">
        {idx.scenarios.length} scenario(s) × {idx.eras.length} era(s): {idx.done} of {idx.total}{' '}
        explored
        {idx.done < idx.total ? (
          <progress max={idx.total} value={idx.done} />
        ) : (
          <>
            , {idx.done - mismatches} as expected, <b>{mismatches} differ</b>
          </>
        )}
      </p>
      <div class="filters">
        <Pick
          label="folder"
          value={folder}
          set={setFolder}
          options={folders.map((f) => [f, f || '(top)'] as const)}
          none="all"
          testid="filter-folder"
        />
        <Pick
          label="era"
          value={era}
          set={setEra}
          options={idx.eras}
          none="all"
          testid="filter-era"
        />
        <Pick
          label="verdict"
          value={verdict}
          set={setVerdict}
          options={Object.keys(LETTER)}
          none="any"
          testid="filter-verdict"
        />
        <Pick
          label="breaks"
          value={code}
          set={setCode}
          options={codes}
          none="any"
          testid="filter-code"
        />
        <label>
          <input
            type="checkbox"
            checked={onlyMismatch}
            onChange={(e) => setOnlyMismatch(e.currentTarget.checked)}
            data-testid="filter-mismatch"
          />{' '}
          only where a verdict differs from its expectation
        </label>
      </div>
      <table class="matrix" data-testid="matrix">
        <thead>
          <tr>
            <th>scenario</th>
            {eras.map((e) => (
              <th class="era">{e}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((s) => (
            <tr data-scenario={s.name} key={s.file}>
              <th title={s.doc}>
                <span class="dir">{s.dir ? `${s.dir}/` : ''}</span>
                <a href={href('scenario', s.file)}>{s.name}</a>
              </th>
              {eras.map((e) => (
                <Cell c={cells.get(`${s.file}\0${e}`)} file={s.file} era={e} />
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted">
        {rows.length} of {idx.scenarios.length} shown. <span class="mark">*</span> the verdict
        differs from the scenario's expectation; codes are the design invariants broken in some
        state.
      </p>
      {idx.traces.length ? (
        <section>
          <h2>Traces</h2>
          <ul>
            {idx.traces.map((t) => (
              <li>
                <a href={href('tracefile', t.id)}>{t.title}</a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {idx.sims.length ? (
        <section>
          <h2>Simulations</h2>
          <ul>
            {idx.sims.map((s) => (
              <li>
                <a href={href('sim', s.id)}>{s.title}</a>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}
