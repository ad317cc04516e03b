/**
 * A worker thread of the parallel explorer (parallel.ts). It keeps the
 * machines of the frontier nodes it owns and the successors it generated,
 * expands the nodes it is given, and answers with fingerprints, steps,
 * final kinds, accounting violations and design findings; machines move
 * between workers only when the main thread rebalances (wire.ts).
 */

import type { MessagePort } from 'node:worker_threads';
import { workerData } from 'node:worker_threads';
import { checkInvariants, type Violation } from '../core/invariants.js';
import { policyById } from '../policy/registry.js';
import { checkScenario } from '../scenario/check.js';
import { InputError } from '../scenario/errors.js';
import type { Finding } from '../scenario/ghost.js';
import type { Machine } from '../scenario/machine.js';
import { machineRefs, newMachine, StepInterrupted } from '../scenario/machine.js';
import { parseScenario } from '../scenario/parse.js';
import { configFor } from '../scenario/run.js';
import type { MachineData } from '../scenario/wire.js';
import { machineFromData, machineToData } from '../scenario/wire.js';
import { expand, machineFindings, machineKey } from './expand.js';
import type { ToWorker } from './parallel.js';
import { SharedSeen } from './shared-seen.js';
import { canonicalKey, type SymmetryLevel } from './symmetry.js';

interface Data {
  readonly source: string;
  readonly file: string;
  readonly era: string;
  readonly por: boolean;
  /** Fingerprints of canonical renamings (symmetry.ts): the symmetry is on and sound. */
  readonly symmetry: boolean;
  /** Which symmetries (symmetry.ts). */
  readonly level: SymmetryLevel;
  /** Independent accesses taken alone (independence.ts). */
  readonly independence: boolean;
  readonly port: MessagePort;
  readonly signal: Int32Array;
  /** Non-zero once the main thread's budget ran out: stop inside the step. */
  readonly stop: Int32Array;
  readonly index: number;
  /** Fingerprints of every state of earlier levels (shared-seen.ts). */
  readonly seen: SharedArrayBuffer;
}

const d = workerData as Data;
const known = new SharedSeen(d.seen);
const sc = parseScenario(d.source, d.file);
checkScenario(sc);
const config = configFor(sc, policyById(d.era), { lockBreaks: true });
const keyOf = d.symmetry ? (m: Machine) => canonicalKey(m, d.level) : machineKey;
// A key's first machine, in the order the sequential search meets them: with
// the symmetry, later ones with the key are other renamings, whose moves
// (reclaim names a folio by PFN) would not continue the path the main thread keeps.
let candidates = new Map<string, Machine>();
let checked = new Map<string, { violations?: Violation[]; findings?: Finding[] }>();

function handle(msg: ToWorker): unknown {
  switch (msg.type) {
    case 'init': {
      const m = newMachine(sc);
      const key = keyOf(m);
      candidates.set(key, m);
      return { type: 'init', key };
    }
    case 'export':
      return {
        type: 'export',
        data: msg.keys.map((k) => machineToData(candidates.get(k)!)) as MachineData[],
      };
    case 'expand': {
      const owned: [number, Machine][] = [
        ...msg.nodes.map((n): [number, Machine] => [n.index, candidates.get(n.key)!]),
        ...msg.incoming.map((i): [number, Machine] => [i.index, machineFromData(sc, i.data)]),
      ].sort((a, b) => a[0] - b[0]);
      candidates = new Map();
      checked = new Map();
      const stopped = () => (Atomics.load(d.stop, 0) !== 0 ? 'interrupted' : null);
      const results = owned.map(([index, node]) => {
        if (stopped()) throw new StepInterrupted('interrupted');
        node.interrupt = stopped;
        const { succs, final } = expand(node, config, d.por, d.independence);
        return {
          index,
          final,
          succs: succs.map(({ m, step }) => {
            const key = keyOf(m);
            // A state of an earlier level: the main thread only counts the transition.
            if (known.has(key)) return { key, known: true };
            let c = checked.get(key);
            if (!c) {
              candidates.set(key, m);
              const violations = checkInvariants(m.s, machineRefs(m));
              const findings = machineFindings(m, config);
              c = violations.length + findings.length > 0 ? { violations, findings } : {};
              checked.set(key, c);
            }
            return { key, move: step.move, ...c };
          }),
        };
      });
      return { type: 'expand', results };
    }
  }
}

d.port.on('message', (msg: ToWorker) => {
  let reply: unknown;
  try {
    reply = handle(msg);
  } catch (e) {
    reply =
      e instanceof StepInterrupted
        ? { type: 'interrupted' }
        : e instanceof InputError
          ? { type: 'input-error', code: e.code, message: e.message, file: e.file, pos: e.pos }
          : { type: 'crash', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  d.port.postMessage(reply);
  Atomics.add(d.signal, d.index, 1);
  Atomics.notify(d.signal, d.index);
});
