/**
 * A `cowherd sim --json` result: per workload, VmPTE and a chosen counter
 * over the run's phases, one line per era (and strategy), and the work and
 * predicted time per era as bars (uPlot).
 */

import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { viewKey } from '../../../src/report/view-keys.js';
import { Pick, Status, useRecord } from '../util.js';

interface Phase {
  readonly phase: string;
  readonly step: number;
  readonly vmpte: number;
  readonly counters: Record<string, number>;
}

interface SimRun {
  readonly scenario: string;
  readonly era: string;
  readonly kind: string;
  readonly steps: number;
  readonly counters: Record<string, number>;
  readonly phases: readonly Phase[];
  readonly vmpte: { readonly peak: number; readonly final: number };
  readonly work: Record<string, Record<string, number>>;
  readonly prediction?: { readonly seconds: { median: number; lo: number; hi: number } };
}

interface SimDoc {
  readonly seed: number;
  readonly cpus: number;
  readonly results: readonly SimRun[];
}

const COLOURS = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

function Chart({
  opts,
  data,
  testid,
}: {
  opts: Omit<uPlot.Options, 'width'>;
  data: uPlot.AlignedData;
  testid: string;
}) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const box = el.current!;
    const plot = new uPlot(
      { ...opts, width: Math.max(320, Math.min(box.clientWidth || 720, 900)) } as uPlot.Options,
      data,
      box,
    );
    return () => plot.destroy();
  }, [JSON.stringify(data), JSON.stringify(opts.series.map((s) => s.label))]);
  const points = data
    .slice(1)
    .reduce((n, s) => n + (s as (number | null)[]).filter((x) => x !== null).length, 0);
  return <div class="chart" ref={el} data-testid={testid} data-points={points} />;
}

/** Series over steps, one per run, on a shared x (the union of the runs' sample steps). */
function lines(
  runs: readonly SimRun[],
  y: (p: Phase) => number,
  end: (r: SimRun) => number | null,
): uPlot.AlignedData {
  const pts = runs.map((r) => {
    // Nothing is mapped and nothing counted before the first step.
    const m = new Map<number, number>([[0, 0]]);
    for (const p of r.phases) m.set(p.step, y(p));
    const e = end(r);
    if (e !== null) m.set(r.steps, e);
    return m;
  });
  const xs = [...new Set(pts.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  return [xs, ...pts.map((m) => xs.map((x) => m.get(x) ?? null))];
}

function lineOpts(
  title: string,
  runs: readonly SimRun[],
  unit: string,
): Omit<uPlot.Options, 'width'> {
  return {
    title,
    height: 260,
    scales: { x: { time: false } },
    axes: [{ label: 'step' }, { label: unit, size: 80 }],
    series: [
      { label: 'step' },
      ...runs.map((r, i) => ({
        label: r.era,
        stroke: COLOURS[i % COLOURS.length]!,
        width: 2,
        spanGaps: true,
        points: { show: true, size: 6 },
      })),
    ],
  };
}

function barOpts(
  title: string,
  runs: readonly SimRun[],
  unit: string,
): Omit<uPlot.Options, 'width'> {
  return {
    title,
    height: 220,
    scales: {
      x: { time: false, range: [-0.5, runs.length - 0.5] },
      // Bars start at zero, so that their heights compare.
      y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
    },
    axes: [
      {
        values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (runs[t]?.era ?? '') : '')),
        splits: () => runs.map((_, i) => i),
      },
      { label: unit, size: 80 },
    ],
    series: [
      { label: 'era' },
      {
        label: unit,
        fill: '#1f77b4aa',
        stroke: '#1f77b4',
        paths: uPlot.paths.bars!({ size: [0.6, 80] }),
        points: { show: false },
      },
    ],
  };
}

function Workload({ name, runs }: { name: string; runs: readonly SimRun[] }) {
  const names = Object.keys(runs[0]?.counters ?? {});
  const moving = names.filter((c) => runs.some((r) => r.counters[c] !== 0));
  const [counter, setCounter] = useState(
    moving.includes('pgfault') ? 'pgfault' : (moving[0] ?? names[0] ?? ''),
  );
  const kinds = [
    ...new Set(runs.flatMap((r) => Object.values(r.work).flatMap((k) => Object.keys(k)))),
  ].sort();
  const [kind, setKind] = useState(kinds.includes('page_lines') ? 'page_lines' : (kinds[0] ?? ''));
  const work = runs.map((r) => Object.values(r.work).reduce((n, k) => n + (k[kind] ?? 0), 0));
  const predicted = runs.every((r) => r.prediction);
  return (
    <section class="workload" data-testid={`workload-${name}`}>
      <h2>{name}</h2>
      <table class="simtable">
        <thead>
          <tr>
            <th>era</th>
            <th>steps</th>
            <th>VmPTE peak kB</th>
            <th>{counter}</th>
            {predicted ? <th>predicted ms (lo–hi)</th> : null}
          </tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr>
              <th>{r.era}</th>
              <td>{r.steps}</td>
              <td>{r.vmpte.peak}</td>
              <td>{r.counters[counter]}</td>
              {predicted ? (
                <td>
                  {(r.prediction!.seconds.median * 1e3).toFixed(2)} (
                  {(r.prediction!.seconds.lo * 1e3).toFixed(2)}–
                  {(r.prediction!.seconds.hi * 1e3).toFixed(2)})
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      <Chart
        testid="chart-vmpte"
        opts={lineOpts('VmPTE over the run', runs, 'kB')}
        data={lines(
          runs,
          (p) => p.vmpte,
          (r) => r.vmpte.final,
        )}
      />
      <Pick label="counter" value={counter} set={setCounter} options={names} testid="counter" />
      <Chart
        testid="chart-counter"
        opts={lineOpts(`${counter} over the run`, runs, counter)}
        data={lines(
          runs,
          (p) => p.counters[counter] ?? 0,
          (r) => r.counters[counter] ?? null,
        )}
      />
      <Pick label="work of kind" value={kind} set={setKind} options={kinds} testid="work-kind" />
      <Chart
        testid="chart-work"
        opts={barOpts(`work: ${kind}, every kernel path`, runs, kind)}
        data={[runs.map((_, i) => i), work]}
      />
      {predicted ? (
        <Chart
          testid="chart-time"
          opts={barOpts('predicted time', runs, 'ms')}
          data={[runs.map((_, i) => i), runs.map((r) => r.prediction!.seconds.median * 1e3)]}
        />
      ) : null}
    </section>
  );
}

export function SimPage({ id }: { id: string }) {
  const r = useRecord<SimDoc>(viewKey.sim(id));
  if (r.state !== 'ok') return <Status r={r} what="the simulation" />;
  const byName = new Map<string, SimRun[]>();
  for (const x of r.data.results) byName.set(x.scenario, [...(byName.get(x.scenario) ?? []), x]);
  return (
    <div>
      <h1>Simulation</h1>
      <p class="muted">
        seed {r.data.seed}, {r.data.cpus} CPU(s); {r.data.results.length} run(s)
      </p>
      {[...byName].map(([name, runs]) => (
        <Workload name={name} runs={runs} key={name} />
      ))}
    </div>
  );
}
