/** One scenario: its text, its verdict per era, the witness of any era one click away. */

import { useEffect, useState } from 'preact/hooks';
import { viewKey } from '../../../src/report/view-keys.js';
import type { ViewCell, ViewIndex, ViewScenario } from '../../../src/report/view-types.js';
import type { Exploration } from '../source.js';
import { href, Pick, Status, useRecord, useSource } from '../util.js';
import { verdictClass } from './matrix.js';
import { SourceView } from './source.js';

function Explore({
  file,
  era,
  onCell,
}: {
  file: string;
  era: string;
  onCell: (c: ViewCell) => void;
}) {
  const source = useSource();
  const [job, setJob] = useState<Exploration | null>(null);
  const [states, setStates] = useState(0);
  const [msg, setMsg] = useState('');
  useEffect(() => () => job?.cancel(), [job]);
  if (!source.explore) return <span class="muted">not explored in this report</span>;
  if (!job)
    return (
      <button
        type="button"
        data-testid={`explore-${era}`}
        onClick={() => {
          setMsg('');
          const j = source.explore!(file, era, setStates);
          setJob(j);
          j.done.then(
            (c) => {
              setJob(null);
              if (c) onCell(c);
              else setMsg('cancelled');
            },
            (e: Error) => {
              setJob(null);
              setMsg(e.message);
            },
          );
        }}
      >
        explore
      </button>
    );
  return (
    <span data-testid={`exploring-${era}`}>
      exploring… {states} states{' '}
      <button type="button" onClick={() => job.cancel()} data-testid={`cancel-${era}`}>
        cancel
      </button>
      {msg ? <span class="muted"> {msg}</span> : null}
    </span>
  );
}

export function ScenarioPage({ file, era }: { file: string; era: string | null }) {
  const sr = useRecord<ViewScenario>(viewKey.scenario(file));
  const ir = useRecord<ViewIndex>('index', (x) => x.live && x.done < x.total, 2000);
  const [extra, setExtra] = useState<Record<string, ViewCell>>({});
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [pickedOther, setOther] = useState('');
  if (sr.state !== 'ok') return <Status r={sr} what={file} />;
  const sc = sr.data;
  const idx = ir.state === 'ok' ? ir.data : null;
  const eras = idx?.eras ?? [];
  const cellOf = (e: string) => extra[e] ?? idx?.cells.find((c) => c.file === file && c.era === e);
  const other = pickedOther || idx?.otherEras[0] || '';
  const diffA = a || eras[0] || '';
  const diffB = b || eras[eras.length - 1] || '';
  const canDiff =
    idx?.live ||
    (idx?.diffs ?? []).some(
      ([x, y]) => x === diffA && y === diffB && cellOf(x)?.verdict !== cellOf(y)?.verdict,
    );
  return (
    <div>
      <h1>{sc.name}</h1>
      <p class="doc">{sc.doc}</p>
      <p class="muted">{sc.file}</p>
      <div class="split">
        <div class="pane">
          <SourceView text={sc.source} />
        </div>
        <div class="pane">
          <table class="eras" data-testid="eras">
            <thead>
              <tr>
                <th>era</th>
                <th>verdict</th>
                <th>expected</th>
                <th>shortest witness</th>
              </tr>
            </thead>
            <tbody>
              {eras.map((e) => {
                const c = cellOf(e);
                return (
                  <tr class={e === era ? 'selected' : ''} data-era={e}>
                    <th>{e}</th>
                    <td class={verdictClass(c)}>
                      {c ? c.verdict : '…'}
                      {c?.findings ? <span class="codes"> {c.findings.join(' ')}</span> : null}
                    </td>
                    <td>
                      {c?.expected ?? '—'} {c?.provenance ?? ''}
                    </td>
                    <td>
                      {c?.witness ? (
                        <a href={href('trace', c.witness)} data-testid={`witness-${e}`}>
                          {sc.quantifier === 'exists' ? 'where it holds' : 'where it fails'}
                        </a>
                      ) : c ? (
                        <span class="muted">none ({c.verdict})</span>
                      ) : (
                        <Explore
                          file={file}
                          era={e}
                          onCell={(x) => setExtra({ ...extra, [e]: x })}
                        />
                      )}
                      {(c?.findingPaths ?? []).map((f) => (
                        <>
                          {' '}
                          <a
                            class="code"
                            href={href('trace', f.replay)}
                            data-testid={`finding-${e}-${f.code}`}
                          >
                            {f.code}
                          </a>
                        </>
                      ))}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {idx?.live && idx.otherEras.length ? (
            <p class="other" data-testid="other-era">
              <Pick
                label="another era"
                value={other}
                set={setOther}
                options={idx.otherEras}
                testid="other-era-pick"
              />{' '}
              {extra[other] ? (
                extra[other]!.witness ? (
                  <a href={href('trace', extra[other]!.witness!)} data-testid={`witness-${other}`}>
                    {extra[other]!.verdict}: shortest witness
                  </a>
                ) : (
                  <span data-testid={`verdict-${other}`}>{extra[other]!.verdict}: no witness</span>
                )
              ) : (
                <Explore
                  key={other}
                  file={file}
                  era={other}
                  onCell={(x) => setExtra({ ...extra, [other]: x })}
                />
              )}
            </p>
          ) : null}
          {eras.length > 1 ? (
            <p class="diffpick">
              <Pick label="compare" value={diffA} set={setA} options={eras} testid="diff-a" />{' '}
              <Pick label="with" value={diffB} set={setB} options={eras} testid="diff-b" />{' '}
              {canDiff ? (
                <a href={href('diff', file, diffA, diffB)} data-testid="diff-link">
                  era diff
                </a>
              ) : (
                <span class="muted">(not in this report)</span>
              )}
            </p>
          ) : null}
          <h2>Expectations</h2>
          <ul class="expect">
            {sc.expectations.map((x) => (
              <li>
                {x.era}: {x.verdict} {x.provenance}
                {x.breaks ? ` breaks ${x.breaks.length ? x.breaks.join(', ') : 'nothing'}` : ''}
              </li>
            ))}
          </ul>
        </div>
      </div>
    </div>
  );
}
