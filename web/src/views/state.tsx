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

/**
 * The rows of a long list: past BIG items, only those the step changed and
 * their neighbours (AROUND either side), each run of the others as one gap
 * row, unless `all`. Items that must always show (a child table) say so.
 */
function windowed<T>(
  items: readonly T[],
  hot: readonly boolean[],
  all: boolean,
  show: (x: T, i: number) => preact.JSX.Element,
  gap: (skipped: number, at: number) => preact.JSX.Element,
  always: (x: T) => boolean = () => false,
): preact.JSX.Element[] {
  const visible = new Array<boolean>(items.length).fill(all || items.length <= BIG);
  hot.forEach((h, i) => {
    if (!h) return;
    for (let j = Math.max(0, i - AROUND); j <= Math.min(items.length - 1, i + AROUND); j++)
      visible[j] = true;
  });
  const rows: preact.JSX.Element[] = [];
  let skipped = 0;
  items.forEach((x, i) => {
    if (!visible[i] && !always(x)) {
      skipped++;
      return;
    }
    if (skipped) rows.push(gap(skipped, i));
    skipped = 0;
    rows.push(show(x, i));
  });
  if (skipped) rows.push(gap(skipped, items.length));
  return rows;
}

function ShowAll({ onClick }: { onClick: () => void }) {
  return (
    <button type="button" class="linkish" onClick={onClick}>
      show all
    </button>
  );
}

function Table({ t, mm, changed }: { t: PtTableSnap; mm: number; changed: ReadonlySet<string> }) {
  const [all, setAll] = useState(false);
  const hot = t.entries.map((e) => !e.child && changed.has(`${mm}:${e.addr}`));
  const rows = windowed(
    t.entries,
    hot,
    all,
    (e, i) =>
      e.child ? (
        <li key={e.index}>
          <Table t={e.child} mm={mm} changed={changed} />
        </li>
      ) : (
        <Leaf e={e} mm={mm} hot={hot[i]!} key={e.index} />
      ),
    (n, at) => (
      <li class="muted gap" key={`gap-${at}`}>
        … {n} entries <ShowAll onClick={() => setAll(true)} />
      </li>
    ),
    (e) => e.child !== undefined,
  );
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
  return (
    <>
      {windowed(
        folios,
        hot,
        all,
        (f, i) => (
          <Folio f={f} changed={hot[i]!} key={f.pfn} />
        ),
        (n, at) => (
          <tr class="muted gap" key={`gap-${at}`}>
            <td colSpan={10}>
              … {n} folios <ShowAll onClick={() => setAll(true)} />
            </td>
          </tr>
        ),
      )}
    </>
  );
}

/** A titled list of the state's smaller parts (swap, pipes, GUP references, files), when there are any. */
function Listed<T>({
  title,
  items,
  line,
}: {
  title: string;
  items: readonly T[];
  line: (x: T) => string;
}) {
  if (items.length === 0) return null;
  return (
    <section>
      <h3>{title}</h3>
      <ul>
        {items.map((x) => (
          <li>{line(x)}</li>
        ))}
      </ul>
    </section>
  );
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
      <Listed
        title="swap"
        items={s.swap}
        line={(x) =>
          `slot ${x.slot}: ${x.count} swap PTE(s)${x.cache ? `, cached by pfn ${x.cache}` : ''}, data ${hex(x.data)}`
        }
      />
      <Listed
        title="pipes"
        items={s.pipes}
        line={(p) =>
          `pipe ${p.id}: ${p.bufs.map((b) => `pfn ${b.pfn} (${b.ops})`).join(', ') || 'empty'}`
        }
      />
      <Listed
        title="GUP references"
        items={s.gup}
        line={(g) => `#${g.id}: ${g.pin ? 'FOLL_PIN' : 'FOLL_GET'} on pfn ${g.folio} (+${g.refs})`}
      />
      <Listed
        title="files"
        items={s.files}
        line={(f) =>
          `file ${f.id} (${f.fs}, ${f.size} pages): ${f.pages.map(([o, p]) => `@${o}→pfn ${p}`).join(' ') || 'nothing cached'}`
        }
      />
    </div>
  );
}
