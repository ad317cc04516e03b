/**
 * The state after a step: each mm's VMAs and page tables down to the
 * entries in use, the folios with their counts, flags and holders, swap,
 * pipes, GUP references, files, registers and threads. What the step
 * changed is highlighted.
 */

import { useState } from 'preact/hooks';
import type {
  FolioSnap,
  MmSnap,
  PtTableSnap,
  StateSnap,
  ViewStep,
} from '../../../src/report/view-types.js';
import { hex } from '../util.js';

function Bits({ bits }: { bits: readonly string[] }) {
  return (
    <>
      {bits.map((b) => (
        <span class={`bit bit-${b.replace(/[^a-z0-9-]/gi, '')}`}>{b}</span>
      ))}
    </>
  );
}

/** A table with more leaf entries than this shows the entries around what the step changed, unless asked for all. */
const BIG = 64;
const AROUND = 4;

function Leaf({ e, mm, hot }: { e: PtTableSnap['entries'][number]; mm: number; hot: boolean }) {
  return (
    <li
      class={`pte kind-${e.kind}${hot ? ' changed' : ''}`}
      data-testid="pte"
      data-mm={mm}
      data-addr={hex(e.addr)}
      data-kind={e.kind}
      data-target={e.target}
      data-bits={e.bits.join(' ')}
    >
      <span class="addr">{hex(e.addr)}</span>{' '}
      <span class="kind">{e.kind === 'huge' ? 'huge PMD' : e.kind}</span>{' '}
      {e.kind === 'swap' ? `slot ${e.target}` : e.kind === 'marker' ? '' : `pfn ${e.target}`}{' '}
      <Bits bits={e.bits} />
    </li>
  );
}

function Table({ t, mm, changed }: { t: PtTableSnap; mm: number; changed: ReadonlySet<string> }) {
  const [all, setAll] = useState(false);
  const hot = t.entries.map((e) => !e.child && changed.has(`${mm}:${e.addr}`));
  const big = t.entries.length > BIG && !all;
  const near = (i: number) => hot.some((h, j) => h && Math.abs(i - j) <= AROUND);
  const rows: preact.JSX.Element[] = [];
  let skipped = 0;
  const gap = (key: number) => {
    if (!skipped) return;
    rows.push(
      <li class="muted gap" key={`gap-${key}`}>
        … {skipped} entries{' '}
        <button type="button" class="linkish" onClick={() => setAll(true)}>
          show all
        </button>
      </li>,
    );
    skipped = 0;
  };
  t.entries.forEach((e, i) => {
    if (e.child) {
      gap(i);
      rows.push(
        <li key={e.index}>
          <Table t={e.child} mm={mm} changed={changed} />
        </li>,
      );
    } else if (big && !near(i)) skipped++;
    else {
      gap(i);
      rows.push(<Leaf e={e} mm={mm} hot={hot[i]!} key={e.index} />);
    }
  });
  gap(t.entries.length);
  return (
    <details open class={`pt pt-${t.level}`}>
      <summary>
        {t.level} table #{t.id} <span class="muted">for {hex(t.base)}</span>
        {t.entries.length > BIG ? <span class="muted"> · {t.entries.length} entries</span> : null}
      </summary>
      <ul>
        {rows}
        {t.omitted ? (
          <li class="muted" data-testid="omitted">
            … {t.omitted} more entries in use, not shown (the mm's counts above include them)
          </li>
        ) : null}
      </ul>
    </details>
  );
}

function Mm({ m, changed }: { m: MmSnap; changed: ReadonlySet<string> }) {
  return (
    <section class="mm" data-testid={`mm-${m.id}`}>
      <h3>
        mm {m.id} <span class="muted">(pid {m.pids.join(', ') || 'none'})</span>{' '}
        <span class="muted">
          VmPTE {m.pgtables_bytes >> 10} kB · rss anon {m.rss[1]} file {m.rss[0]} shmem {m.rss[3]}{' '}
          swap {m.rss[2]}
        </span>
      </h3>
      <ul class="vmas">
        {m.vmas.map((v) => (
          <li>
            {hex(v.start)}–{hex(v.end)} <span class="flags">{v.flags}</span>
            {v.anon_vma ? ` anon_vma ${v.anon_vma}` : ''}
            {v.file ? ` file ${v.file} @${v.pgoff}` : ''}
          </li>
        ))}
      </ul>
      {m.pgd ? (
        <Table t={m.pgd} mm={m.id} changed={changed} />
      ) : (
        <p class="muted">no page tables</p>
      )}
    </section>
  );
}

function Folio({ f, changed }: { f: FolioSnap; changed: boolean }) {
  const excl = f.flags.includes('anon_exclusive');
  return (
    <tr class={changed ? 'changed' : ''} data-testid="folio" data-pfn={f.pfn}>
      <td>{f.pfn}</td>
      <td>{f.order ? `order ${f.order}` : ''}</td>
      <td data-field="refcount">{f.refcount}</td>
      <td data-field="mapcount">
        {f.large ? `${f.large.mapcount} (entire ${f.large.entire})` : f.mapcount}
      </td>
      <td data-field="pincount">{f.large ? f.large.pincount : ''}</td>
      <td data-field="anon_exclusive" class={excl ? 'excl' : ''}>
        {excl ? 'yes' : ''}
      </td>
      <td data-field="flags">
        <Bits bits={f.flags.filter((x) => x !== 'anon_exclusive')} />
      </td>
      <td data-field="value">{hex(f.value)}</td>
      <td data-field="swap">{f.swapSlot !== undefined ? `slot ${f.swapSlot}` : ''}</td>
      <td data-field="held">{f.heldBy.join(', ')}</td>
    </tr>
  );
}

/** The folios; past BIG of them, those the step changed and their neighbours, unless asked for all. */
function FolioRows({ folios, pfns }: { folios: StateSnap['folios']; pfns: ReadonlySet<number> }) {
  const [all, setAll] = useState(false);
  const hot = folios.map((f) => pfns.has(f.pfn));
  const big = folios.length > BIG && !all;
  const rows: preact.JSX.Element[] = [];
  let skipped = 0;
  const gap = (key: number) => {
    if (!skipped) return;
    rows.push(
      <tr class="muted gap" key={`gap-${key}`}>
        <td colSpan={10}>
          … {skipped} folios{' '}
          <button type="button" class="linkish" onClick={() => setAll(true)}>
            show all
          </button>
        </td>
      </tr>,
    );
    skipped = 0;
  };
  folios.forEach((f, i) => {
    if (big && !hot.some((h, j) => h && Math.abs(i - j) <= AROUND)) skipped++;
    else {
      gap(i);
      rows.push(<Folio f={f} changed={hot[i]!} key={f.pfn} />);
    }
  });
  gap(folios.length);
  return <>{rows}</>;
}

export function StatePanel({ s, step }: { s: StateSnap; step: ViewStep | null }) {
  const changed = new Set((step?.changed.ptes ?? []).map((p) => `${p.mm}:${p.addr}`));
  const pfns = new Set(step?.changed.pfns ?? []);
  return (
    <div class="state" data-testid="state">
      {step ? (
        <section>
          <h3>threads</h3>
          <ul class="threads">
            {step.threads.map((t) => (
              <li class={`t-${t.status}`}>
                {t.name}{' '}
                <span class="muted">
                  pid {t.pid} cpu {t.cpu} pc {t.pc}
                </span>{' '}
                {t.status}
              </li>
            ))}
          </ul>
          <p data-testid="regs">
            registers:{' '}
            {Object.entries(step.regs)
              .map(([k, v]) => `${k}=${hex(v)}`)
              .join(' ') || '(none)'}
            {step.events.length ? ` · events: ${step.events.join(' ')}` : ''}
          </p>
        </section>
      ) : null}
      {s.mms.map((m) => (
        <Mm m={m} changed={changed} key={m.id} />
      ))}
      <section>
        <h3>folios</h3>
        <table class="folios">
          <thead>
            <tr>
              <th>pfn</th>
              <th />
              <th>ref</th>
              <th>map</th>
              <th>pins</th>
              <th>excl</th>
              <th>flags</th>
              <th>value</th>
              <th>swap cache</th>
              <th>also held by</th>
            </tr>
          </thead>
          <tbody>
            <FolioRows folios={s.folios} pfns={pfns} />
          </tbody>
        </table>
        {s.omittedFolios ? (
          <p class="muted">… {s.omittedFolios} more folios in use, not shown</p>
        ) : null}
      </section>
      {s.swap.length ? (
        <section>
          <h3>swap</h3>
          <ul>
            {s.swap.map((x) => (
              <li>
                slot {x.slot}: {x.count} swap PTE(s){x.cache ? `, cached by pfn ${x.cache}` : ''},
                data {hex(x.data)}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {s.pipes.length ? (
        <section>
          <h3>pipes</h3>
          <ul>
            {s.pipes.map((p) => (
              <li>
                pipe {p.id}: {p.bufs.map((b) => `pfn ${b.pfn} (${b.ops})`).join(', ') || 'empty'}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {s.gup.length ? (
        <section>
          <h3>GUP references</h3>
          <ul>
            {s.gup.map((g) => (
              <li>
                #{g.id}: {g.pin ? 'FOLL_PIN' : 'FOLL_GET'} on pfn {g.folio} (+{g.refs})
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {s.files.length ? (
        <section>
          <h3>files</h3>
          <ul>
            {s.files.map((f) => (
              <li>
                file {f.id} ({f.fs}, {f.size} pages):{' '}
                {f.pages.map(([o, p]) => `@${o}→pfn ${p}`).join(' ') || 'nothing cached'}
              </li>
            ))}
          </ul>
        </section>
      ) : null}
    </div>
  );
}
