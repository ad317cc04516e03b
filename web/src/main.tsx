/** The viewer: a hash router over the matrix, scenario, trace, era diff and simulation views. */

import { render } from 'preact';
import { viewKey } from '../../src/report/view-keys.js';
import { makeSource } from './source.js';
import './style.css';
import { href, SourceContext, useRoute } from './util.js';
import { DiffPage } from './views/diff.js';
import { Matrix } from './views/matrix.js';
import { ScenarioPage } from './views/scenario.js';
import { SimPage } from './views/sim.js';
import { TracePage } from './views/trace.js';

function Page() {
  const r = useRoute();
  const step = Number(r.query.get('step') ?? 0) || 0;
  switch (r.view) {
    case 'scenario':
      return <ScenarioPage file={r.args[0] ?? ''} era={r.query.get('era')} key={r.args[0]} />;
    case 'trace':
      return <TracePage keyName={viewKey.trace(r.args[0] ?? '')} step={step} key={r.args[0]} />;
    case 'tracefile':
      return <TracePage keyName={viewKey.traceFile(r.args[0] ?? '')} step={step} key={r.args[0]} />;
    case 'diff':
      return <DiffPage file={r.args[0] ?? ''} a={r.args[1] ?? ''} b={r.args[2] ?? ''} />;
    case 'sim':
      return <SimPage id={r.args[0] ?? ''} />;
    default:
      return <Matrix />;
  }
}

function App() {
  const source = makeSource();
  return (
    <SourceContext.Provider value={source}>
      <header class="top">
        <a href={href('')} class="brand">
          cowherd
        </a>
        <span class="muted">
          {source.mode === 'live'
            ? 'served by cowherd view'
            : source.mode === 'static'
              ? 'static report'
              : 'single-file trace'}
        </span>
      </header>
      <main>
        <Page />
      </main>
    </SourceContext.Provider>
  );
}

const start = window.cowherdBoot?.start;
if (start && (location.hash === '' || location.hash === '#')) location.hash = start;
render(<App />, document.getElementById('app')!);
