/**
 * Static checks of a parsed scenario: thread, mapping, pipe, event and
 * register names resolve; every thread but the first is started exactly once;
 * expectations name known eras. The first problem is thrown as an InputError.
 */

import { isEraId, isPolicyId } from '../policy/registry.js';
import type { Pos, Scenario, Stmt } from './ast.js';
import { InputError } from './errors.js';
import type { Names } from './expr.js';
import { COUNTERS, checkExpr, checkRef } from './expr.js';

function fail(
  sc: Scenario,
  code: 'SC003' | 'SC004' | 'SC005' | 'SC006' | 'SC007',
  pos: Pos,
  msg: string,
): never {
  throw new InputError(code, msg, sc.file, pos);
}

function allStmts(sc: Scenario): { thread: string; st: Stmt }[] {
  const out = sc.setup.map((st) => ({ thread: sc.threads[0]!.name, st }));
  for (const t of sc.threads) for (const st of t.body) out.push({ thread: t.name, st });
  return out;
}

/** The register a statement assigns, if any. */
export function assignedReg(st: Stmt): string | null {
  switch (st.op) {
    case 'read':
    case 'pipe-read':
    case 'wait':
      return st.reg;
    case 'observe':
    case 'pin-read':
      return st.reg;
    case 'pin':
    case 'vmsplice':
    case 'clear_refs':
    case 'uffd':
    case 'prctl':
      return st.ret;
    case 'uffd-read':
      return st.reg;
    case 'mmap':
    case 'munmap':
    case 'mremap':
    case 'mprotect':
    case 'madvise':
      return st.ret;
    default:
      return null;
  }
}

export function checkScenario(sc: Scenario): void {
  const threads = new Set<string>();
  for (const t of sc.threads) {
    if (threads.has(t.name)) fail(sc, 'SC005', t.pos, `thread '${t.name}' defined twice`);
    threads.add(t.name);
  }
  const stmts = allStmts(sc);
  const maps = new Map<string, number>();
  const pipes = new Set<string>();
  const uffds = new Set<string>();
  const signals = new Set<string>();
  const pins = new Set<string>();
  const files = new Map<string, number>();
  const regOwner = new Map<string, string>();
  const started = new Map<string, Pos>();
  for (const { thread, st } of stmts) {
    if (st.op === 'file') {
      if (files.has(st.name) || maps.has(st.name))
        fail(sc, 'SC005', st.pos, `'${st.name}' is already defined`);
      files.set(st.name, st.pages);
    }
    if (st.op === 'mmap') {
      if (maps.has(st.name)) fail(sc, 'SC005', st.pos, `mapping '${st.name}' is created twice`);
      if (st.file !== null) {
        const size = files.get(st.file);
        if (size === undefined)
          fail(sc, 'SC003', st.pos, `unknown file '${st.file}' (memfd or tmpfile it first)`);
        if (st.len / 4096 > size)
          fail(
            sc,
            'SC004',
            st.pos,
            `mapping '${st.name}' is longer than file '${st.file}' (${size} pages)`,
          );
      }
      maps.set(st.name, st.len / 4096);
    }
    if (st.op === 'pipe') {
      if (pipes.has(st.name)) fail(sc, 'SC005', st.pos, `pipe '${st.name}' is created twice`);
      pipes.add(st.name);
    }
    const uffdName = st.op === 'userfaultfd' ? st.name : st.op === 'uffd-read' ? st.fork : null;
    if (uffdName !== null) {
      if (uffds.has(uffdName) || maps.has(uffdName) || pipes.has(uffdName))
        fail(sc, 'SC005', st.pos, `'${uffdName}' is already defined`);
      uffds.add(uffdName);
    }
    if (st.op === 'signal') signals.add(st.event);
    if (st.op === 'pin') {
      if (pins.has(st.name) || maps.has(st.name) || threads.has(st.name)) {
        fail(sc, 'SC005', st.pos, `'${st.name}' is already defined`);
      }
      pins.add(st.name);
    }
    if (st.op === 'fork' || st.op === 'spawn') {
      if (!threads.has(st.thread))
        fail(sc, 'SC003', st.pos, `${st.op} of unknown thread '${st.thread}'`);
      if (st.thread === sc.threads[0]!.name)
        fail(
          sc,
          'SC007',
          st.pos,
          `'${st.thread}' is the initial thread: it cannot be started again`,
        );
      if (started.has(st.thread))
        fail(sc, 'SC007', st.pos, `thread '${st.thread}' is started twice`);
      started.set(st.thread, st.pos);
    }
    const reg = assignedReg(st);
    if (reg !== null) {
      if (COUNTERS.includes(reg))
        fail(sc, 'SC005', st.pos, `register '${reg}' has the name of a /proc/vmstat counter`);
      if (threads.has(reg) || maps.has(reg))
        fail(sc, 'SC005', st.pos, `register '${reg}' has the name of a thread or mapping`);
      const owner = regOwner.get(reg);
      if (owner !== undefined && owner !== thread)
        fail(
          sc,
          'SC005',
          st.pos,
          `register '${reg}' is assigned in threads '${owner}' and '${thread}'`,
        );
      regOwner.set(reg, thread);
    }
  }
  for (const t of sc.threads.slice(1)) {
    if (!started.has(t.name))
      fail(sc, 'SC007', t.pos, `thread '${t.name}' is never started by fork or spawn`);
  }
  const regs = new Set(regOwner.keys());
  const names = (inThread: boolean): Names => ({
    file: sc.file,
    threads,
    maps,
    regs,
    pins,
    inThread,
  });
  for (const { st } of stmts) {
    switch (st.op) {
      case 'mremap':
        if (!maps.has(st.onto))
          fail(sc, 'SC003', st.pos, `mremap onto unknown mapping '${st.onto}'`);
        checkRef(names(true), st.ref, false);
        if (st.ref.step !== 1)
          fail(sc, 'SC004', st.ref.pos, 'mremap takes a contiguous range: no step');
        break;
      case 'munmap':
      case 'mprotect':
      case 'madvise':
        checkRef(names(true), st.ref, false);
        // madvise with a step is one call per page, as tests loop over pages.
        if (st.ref.step !== 1 && st.op !== 'madvise')
          fail(sc, 'SC004', st.ref.pos, `${st.op} takes a contiguous range: no step`);
        break;
      case 'write':
        checkRef(names(true), st.ref, false);
        checkExpr(names(true), st.value);
        break;
      case 'read':
        checkRef(names(true), st.ref, st.reg !== null);
        break;
      case 'wait':
        if (!threads.has(st.thread))
          fail(sc, 'SC003', st.pos, `wait for unknown thread '${st.thread}'`);
        break;
      case 'exit':
        if (st.code) checkExpr(names(true), st.code);
        break;
      case 'await':
        if (!signals.has(st.event))
          fail(sc, 'SC003', st.pos, `await '${st.event}': no thread signals it`);
        break;
      case 'pipe-write':
      case 'pipe-read':
        if (!pipes.has(st.pipe)) fail(sc, 'SC003', st.pos, `unknown pipe '${st.pipe}'`);
        if (st.op === 'pipe-write') checkExpr(names(true), st.value);
        break;
      case 'observe':
        checkExpr(names(true), st.expr);
        break;
      case 'pin':
      case 'vmsplice':
        checkRef(names(true), st.ref, false);
        if (st.ref.step !== 1)
          fail(sc, 'SC004', st.ref.pos, `${st.op} takes a contiguous range: no step`);
        if (st.op === 'vmsplice' && !pipes.has(st.pipe))
          fail(sc, 'SC003', st.pos, `unknown pipe '${st.pipe}'`);
        break;
      case 'uffd':
        checkRef(names(true), st.ref, false);
        if (st.ref.step !== 1)
          fail(sc, 'SC004', st.ref.pos, `uffd ${st.sub} takes a contiguous range: no step`);
        if (!uffds.has(st.uffd)) fail(sc, 'SC003', st.pos, `unknown userfaultfd '${st.uffd}'`);
        break;
      case 'uffd-read':
        if (!uffds.has(st.uffd)) fail(sc, 'SC003', st.pos, `unknown userfaultfd '${st.uffd}'`);
        break;
      case 'unpin':
      case 'pin-read':
      case 'pin-write':
        if (!pins.has(st.name)) fail(sc, 'SC003', st.pos, `unknown pin '${st.name}'`);
        if (st.op === 'pin-write') checkExpr(names(true), st.value);
        break;
      default:
        break;
    }
  }
  checkExpr(names(false), sc.condition);
  for (const c of sc.claims ?? [])
    for (const era of [c.from, c.to])
      if (!isEraId(era))
        fail(sc, 'SC006', c.pos, `claim: unknown era '${era}' (cowherd eras lists them)`);
  const seen = new Set<string>();
  for (const e of sc.expect) {
    if (!isPolicyId(e.era))
      fail(
        sc,
        'SC006',
        e.pos,
        `unknown era or page-table strategy '${e.era}' (cowherd eras lists them; written ERA or ERA/STRATEGY)`,
      );
    if (seen.has(e.era)) fail(sc, 'SC005', e.pos, `era '${e.era}' has two expectations`);
    seen.add(e.era);
  }
}
