/**
 * A trace: the steps (a virtual list, so that 10,000 steps scroll) beside
 * the chosen step's detail and the state after it. Keys: j/k next and
 * previous step, n/N next and previous step that took a decision, f the
 * next step that broke an invariant, Home/End.
 */

import {
  elementScroll,
  observeElementOffset,
  observeElementRect,
  Virtualizer,
} from '@tanstack/virtual-core';
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import { viewKey } from '../../../src/report/view-keys.js';
import type { ViewScenario, ViewStep, ViewTrace } from '../../../src/report/view-types.js';
import { resolveState } from '../../../src/report/view-types.js';
import { href, Status, useRecord } from '../util.js';
import { StatePanel } from './state.js';

const ROW = 24;

/** @tanstack/virtual-core driven from Preact, as its React adapter does. */
function useVirtual(count: number, scroller: { current: HTMLElement | null }) {
  const [, rerender] = useReducer((x: number) => x + 1, 0);
  const v = useMemo(
    () =>
      new Virtualizer<HTMLElement, Element>({
        count,
        getScrollElement: () => scroller.current,
        estimateSize: () => ROW,
        observeElementRect,
        observeElementOffset,
        scrollToFn: elementScroll,
        onChange: () => rerender(0),
        overscan: 12,
      }),
    [],
  );
  v.setOptions({ ...v.options, count });
  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => v._willUpdate());
  return v;
}

function StepRow({
  st,
  selected,
  onPick,
}: {
  st: ViewStep;
  selected: boolean;
  onPick: () => void;
}) {
  const broke = st.findings.some((f) => f.fresh);
  return (
    <button
      type="button"
      class={`step${selected ? ' selected' : ''}${broke ? ' broke' : ''}${st.pid === 0 ? ' env' : ''}`}
      data-testid="step"
      data-step={st.index}
      onClick={onPick}
    >
      <span class="idx">#{st.index}</span> <span class="actor">{st.actor}</span>
      {st.cpu >= 0 ? <span class="cpu">cpu{st.cpu}</span> : null}{' '}
      <span class="stmt">{st.stmt}</span>
      {st.decisions.length ? (
        <span class="badge decide">{st.decisions.length} decision(s)</span>
      ) : null}
      {broke ? (
        <span class="badge broke">
          {st.findings
            .filter((f) => f.fresh)
            .map((f) => f.code)
            .join(' ')}
        </span>
      ) : null}
    </button>
  );
}

function StepDetail({ st, file }: { st: ViewStep; file: string }) {
  return (
    <section class="detail" data-testid="detail">
      <h3>
        #{st.index} {st.actor}{' '}
        {st.pid ? (
          <span class="muted">
            pid {st.pid}, cpu {st.cpu}
          </span>
        ) : (
          <span class="muted">environment</span>
        )}
      </h3>
      <p>
        <code>{st.stmt}</code>
        {st.note ? <> ⇒ {st.note}</> : null}
        {st.pos ? (
          <span class="muted">
            {' '}
            ({file}:{st.pos.line}:{st.pos.col})
          </span>
        ) : null}
      </p>
      {st.choices.map((c) => (
        <p class="choice">
          choose {c.what}: <b>{c.options[c.pick]}</b>{' '}
          <span class="muted">(of {c.options.join(', ')})</span>
        </p>
      ))}
      {st.decisions.length ? (
        <ul class="decisions" data-testid="decisions">
          {st.decisions.map((d) => (
            <li>
              <span class="point">{d.point}</span>: <b>{d.choice}</b>{' '}
              <span class="why">({d.why})</span>
            </li>
          ))}
        </ul>
      ) : null}
      {st.findings.map((f) => (
        <p class={`finding${f.fresh ? ' fresh' : ''}`} data-testid="finding">
          ! {f.code} {f.detail}
        </p>
      ))}
      {st.changed.lines.length ? (
        <pre class="changes" data-testid="changes">
          {st.changed.lines.join('\n')}
        </pre>
      ) : (
        <p class="muted">nothing changed in the kernel state</p>
      )}
    </section>
  );
}

function Copy({ text }: { text: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      data-testid="copy-replay"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(() => setDone(true));
      }}
    >
      {done ? 'copied' : 'copy'}
    </button>
  );
}

export function TraceView({
  t,
  sc,
  initial,
  onStep,
}: {
  t: ViewTrace;
  sc: ViewScenario | null;
  initial: number;
  onStep?: (i: number) => void;
}) {
  const n = t.steps.length;
  const [cur, setCur] = useState(Math.min(Math.max(initial, 0), Math.max(n - 1, 0)));
  // Keys pressed faster than the page renders each move from the last one.
  const curRef = useRef(cur);
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtual(n, scroller);
  const go = (i: number) => {
    if (n === 0) return;
    const j = Math.min(Math.max(i, 0), n - 1);
    curRef.current = j;
    setCur(j);
    v.scrollToIndex(j, { align: 'auto' });
    onStep?.(j);
  };
  useEffect(() => {
    if (cur > 0) v.scrollToIndex(cur, { align: 'center' });
  }, []);
  useEffect(() => {
    const find = (from: number, dir: number, pred: (s: ViewStep) => boolean) => {
      for (let i = from + dir; i >= 0 && i < n; i += dir) if (pred(t.steps[i]!)) return i;
      return from;
    };
    const onKey = (e: KeyboardEvent) => {
      const cur = curRef.current;
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const k = e.key;
      if (k === 'j' || k === 'ArrowDown') go(cur + 1);
      else if (k === 'k' || k === 'ArrowUp') go(cur - 1);
      else if (k === 'n') go(find(cur, 1, (s) => s.decisions.length > 0));
      else if (k === 'N') go(find(cur, -1, (s) => s.decisions.length > 0));
      else if (k === 'f') go(find(cur, 1, (s) => s.findings.some((f) => f.fresh)));
      else if (k === 'Home') go(0);
      else if (k === 'End') go(n - 1);
      else return;
      e.preventDefault();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  });
  const st = t.steps[cur] ?? null;
  const state = resolveState(t, st ? cur + 1 : 0);
  return (
    <div class="trace" data-testid="trace">
      <h1>
        {sc ? <a href={href('scenario', t.file)}>{t.scenario}</a> : t.scenario} on {t.era}
      </h1>
      <p class="ending" data-testid="ending">
        {t.ending}
      </p>
      {t.replay ? (
        <p class="replay">
          <code data-testid="replay">cowherd replay {t.replay}</code>{' '}
          <Copy text={`cowherd replay ${t.replay}`} />
        </p>
      ) : null}
      <p class="muted keys">
        {n} step(s) · j/k step · n/N next/previous decision · f next broken invariant
      </p>
      <div class="split">
        <div class="steps" ref={scroller} data-testid="steps">
          <div style={{ height: `${v.getTotalSize()}px`, position: 'relative' }}>
            {v.getVirtualItems().map((item) => (
              <div
                key={item.key as number}
                style={{
                  position: 'absolute',
                  top: 0,
                  left: 0,
                  right: 0,
                  height: `${ROW}px`,
                  transform: `translateY(${item.start}px)`,
                }}
              >
                <StepRow
                  st={t.steps[item.index]!}
                  selected={item.index === cur}
                  onPick={() => go(item.index)}
                />
              </div>
            ))}
          </div>
        </div>
        <div class="pane">
          {st ? <StepDetail st={st} file={t.file} /> : <p class="muted">no steps</p>}
          {sc && st?.pos ? (
            <pre class="srcline">
              {st.pos.line}: {sc.source.split('\n')[st.pos.line - 1]}
            </pre>
          ) : null}
          {state ? (
            <StatePanel s={state} step={st} />
          ) : (
            <p class="muted">this trace carries no states</p>
          )}
        </div>
      </div>
    </div>
  );
}

/** A trace by replay token (or by the number of a trace file given), with its scenario's text. */
export function TracePage({ keyName, step }: { keyName: string; step: number }) {
  const r = useRecord<ViewTrace>(keyName);
  const file = r.state === 'ok' ? r.data.file : null;
  const s = useRecord<ViewScenario>(file ? viewKey.scenario(file) : null);
  if (r.state !== 'ok') return <Status r={r} what="the trace" />;
  return (
    <TraceView
      key={keyName}
      t={r.data}
      sc={s.state === 'ok' ? s.data : null}
      initial={step}
      onStep={(i) => {
        const h = location.hash.replace(/\?.*$/, '');
        history.replaceState(null, '', `${h}?step=${i}`);
      }}
    />
  );
}
