// `cowherd sim WORKLOAD --era v6.18 --pt all --json`, each result by its
// strategy: shared by the page-table tests of the unit and slow suites.
import { cli } from '../cli/run-cli.js';

export function simByStrategy<R extends { era: string }>(
  workload: string,
): { code: number; byStrategy: Map<string, R> } {
  const r = cli('sim', workload, '--era', 'v6.18', '--pt', 'all', '--json', '--costs', 'none');
  const results = r.code === 0 ? (JSON.parse(r.out).results as R[]) : [];
  return {
    code: r.code as number,
    byStrategy: new Map(results.map((x) => [x.era.split('/')[1]!, x])),
  };
}
