/**
 * A machine as plain data, to move it to another worker thread (structured
 * clone): everything but the scenario (each worker has its own copy) and
 * the copy-on-write tokens of the page tables (every table arrives frozen, so
 * the first write on the receiving side copies it, as after cloneState()),
 * and the arrays the memmap's own arrays were copied from.
 */

import type { State } from '../core/mm_types.js';
import { compactTyped } from '../core/slab.js';
import type { GhostData } from './ghost.js';
import { Ghost } from './ghost.js';
import type { Machine } from './machine.js';

export interface MachineData {
  readonly s: Omit<State, 'cow' | 'pt'> & {
    readonly pt: Omit<State['pt'], 'owner'>;
  };
  readonly threads: Machine['threads'];
  readonly regs: Machine['regs'];
  readonly events: Machine['events'];
  readonly maps: Machine['maps'];
  readonly pipes: Machine['pipes'];
  readonly pins: Machine['pins'];
  readonly files: Machine['files'];
  readonly blocked: Machine['blocked'];
  readonly uffds: Machine['uffds'];
  readonly userfaults: Machine['userfaults'];
  readonly ghost: GhostData;
}

export function machineToData(m: Machine): MachineData {
  const { cow: _cow, pt, mem, ...rest } = m.s;
  const { owner: _owner, ...ptRest } = pt;
  // The arrays the memmap's were copied from only speed up its next digest
  // (canon.ts): not worth a copy each. The digests themselves travel.
  const noFrom = {
    flagsFrom: null,
    flagsFromD: null,
    refcountFrom: null,
    refcountFromD: null,
    mapcountFrom: null,
    mapcountFromD: null,
    contentFrom: null,
    contentFromD: null,
    orderFrom: null,
    orderFromD: null,
  };
  // Arrays copied into a shared buffer (core/slab.ts) go as copies of their own:
  // a structured clone of one carries its whole buffer.
  const arrays = {
    flags: compactTyped(mem.flags as Uint32Array),
    refcount: compactTyped(mem.refcount as Int32Array),
    mapcount: compactTyped(mem.mapcount as Int32Array),
    content: compactTyped(mem.content as Uint32Array),
    order: compactTyped(mem.order as Uint8Array),
  };
  const tables = ptRest.tables.map((t) => (t === null ? null : compactTyped(t)));
  return {
    s: { ...rest, mem: { ...mem, ...arrays, ...noFrom }, pt: { ...ptRest, tables } },
    threads: m.threads,
    regs: m.regs,
    events: m.events,
    maps: m.maps,
    pipes: m.pipes,
    pins: m.pins,
    files: m.files,
    blocked: m.blocked,
    uffds: m.uffds,
    userfaults: m.userfaults,
    ghost: m.ghost.toData(),
  };
}

export function machineFromData(sc: Machine['sc'], d: MachineData): Machine {
  const frozen = {};
  const s: State = {
    ...d.s,
    pt: { ...d.s.pt, owner: d.s.pt.tables.map(() => frozen) },
    cow: {},
  };
  return {
    sc,
    s,
    cow: {},
    threads: d.threads.slice(), // their tokens are structured-clone copies: written, they are copied
    regs: new Map(d.regs),
    events: new Set(d.events),
    maps: new Map(d.maps),
    pipes: new Map(d.pipes),
    pins: new Map(d.pins),
    files: new Map(d.files),
    blocked: new Set(d.blocked),
    uffds: new Map(d.uffds),
    userfaults: new Map([...d.userfaults].map(([i, u]) => [i, { ...u }])),
    ghost: Ghost.fromData(d.ghost),
  };
}
