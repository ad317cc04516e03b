/**
 * The symmetry over threads that run the same program: the third symmetry
 * `--symmetry` applies (symmetry.ts over PFNs, value-symmetry.ts over page
 * contents are the others).
 *
 * Threads t0…t7 of one process whose programs are the same but for the
 * numbers they store (`write mem[0] = 2` in t0, `= 3` in t1, …) are
 * interchangeable: a state where t0 stored first and t1 waits is a state
 * where t1 stored first and t0 waits, with the two numbers swapped. So the
 * fingerprint is taken of the state with those threads' local states
 * sorted onto their slots (the pids, names and declarations stay where they
 * are) and the page contents renamed to match: the numbers a slot's program
 * still stores are its own declaration's, and the other values are named
 * as value-symmetry.ts names them.
 *
 * Which threads (threadClasses(), fixed for a scenario): declarations other
 * than the first (which runs setup) that create no task, do not exit or
 * exec, and use no userfaultfd, whose programs are equal, or equal once
 * the numbers they store or compare a page's value with are replaced by
 * their order of first use where those numbers are their own (0 is not,
 * and no other declaration, setup or the condition names them), and the
 * pages they read and write likewise where those pages are their own
 * (address-symmetry.ts: `write mem[0] = 2` in t0, `write mem[1] = 3` in
 * t1; a permutation then moves the pages with the threads). In a state
 * (permutable()), those that exist, whose tasks are equal but for the pid,
 * and that wait for no userfault. Their pids appear nowhere else: a
 * thread's children (it has none: it cannot fork) would name it, and a
 * forked child's parent is the thread group. A name can stay where the
 * condition or a statement uses it (`value(t1, a[0])`, `alive(t1)`):
 * what a function of a thread reads is its process's (tasks[pid]'s mm,
 * exit code), which threads with equal tasks share; `wait t1` needs t1 to
 * exit, which these threads do not.
 */

import type { Scenario, Stmt } from '../scenario/ast.js';
import type { Machine, ThreadRt } from '../scenario/machine.js';
import { isOwnPageRef, ownPages } from './address-symmetry.js';
import { eachNode } from './ast-walk.js';
import { eachContentNumber, valueRegisters } from './value-symmetry.js';

/** Statements a permutable thread may not run: they make, end or reach beyond a task. */
const BARRED: ReadonlySet<string> = new Set([
  'fork',
  'spawn',
  'exit',
  'exec',
  'userfaultfd',
  'uffd',
  'uffd-read',
]);

interface Classes {
  /** Per declaration, its class (an index into `members`), or -1. */
  readonly classOf: readonly number[];
  /** Per class, its declarations. */
  readonly members: readonly (readonly number[])[];
  /** Per declaration, per statement: the numbers it stores or compares a page with, in walk order. */
  readonly lits: readonly (readonly (readonly number[])[])[];
}

const classesOf = new WeakMap<Scenario, Classes>();

/** The scenario's classes of interchangeable declarations (the module comment). */
export function threadClasses(sc: Scenario): Classes {
  let c = classesOf.get(sc);
  if (c) return c;
  const regs = valueRegisters(sc);
  const pages = ownPages(sc);
  const lits = sc.threads.map((d) =>
    d.body.map((st) => {
      const out: number[] = [];
      eachContentNumber(st, regs, (n) => out.push((n.value as number) >>> 0));
      return out;
    }),
  );
  // How often each number is named outside each declaration's own statements.
  const elsewhere = new Map<number, number>();
  const count = (x: number) => elsewhere.set(x, (elsewhere.get(x) ?? 0) + 1);
  eachContentNumber([sc.setup, sc.condition], regs, (n) => count((n.value as number) >>> 0));
  const own = lits.map((l) => new Set(l.flat()));
  for (const s of own) for (const x of s) count(x);
  const byShape = new Map<string, number[]>();
  sc.threads.forEach((d, i) => {
    if (i === 0) return;
    let barred = false;
    eachNode(d.body, null, (n) => {
      if (typeof n.op === 'string' && BARRED.has(n.op)) barred = true;
    });
    if (barred) return;
    // Its numbers are its own (named by no other declaration, setup or the
    // condition): grouped by the program's shape with them left out; else
    // only with programs that store the same. Its own pages are left out
    // the same way (address-symmetry.ts).
    const mine = ![...own[i]!].some((x) => x === 0 || elsewhere.get(x) !== 1);
    const shape = `${mine ? 'shape' : 'same'} ${shapeOf(d.body, mine ? regs : null, pages.maps)}`;
    byShape.set(shape, [...(byShape.get(shape) ?? []), i]);
  });
  const classOf = sc.threads.map(() => -1);
  const members: number[][] = [];
  for (const decls of byShape.values()) {
    if (decls.length < 2) continue;
    for (const d of decls) classOf[d] = members.length;
    members.push(decls);
  }
  c = { classOf, members, lits };
  classesOf.set(sc, c);
  return c;
}

/**
 * A program as text, positions left out, with its own numbers (when `regs`
 * is given) and its own pages of the mappings `maps` replaced by their
 * order of first use.
 */
function shapeOf(
  body: readonly Stmt[],
  regs: ReadonlySet<string> | null,
  maps: ReadonlySet<string>,
): string {
  const copy = structuredClone(body) as unknown;
  if (regs !== null) {
    const order = new Map<number, number>();
    eachContentNumber(copy, regs, (n) => {
      const x = (n.value as number) >>> 0;
      if (!order.has(x)) order.set(x, order.size);
      n.value = -1 - order.get(x)!;
    });
  }
  if (maps.size > 0) {
    const order = new Map<string, number>();
    eachNode(copy, null, (n, parent) => {
      if (!isOwnPageRef(n, parent, maps)) return;
      const k = `${n.map}\u0000${n.from}`;
      if (!order.has(k)) order.set(k, order.size);
      n.from = -1 - order.get(k)!;
      n.to = n.from;
    });
  }
  return JSON.stringify(copy, (k, v) => (k === 'pos' ? undefined : v));
}

function sameTask(m: Machine, a: ThreadRt, b: ThreadRt): boolean {
  const x = m.s.tasks[a.pid]!;
  const y = m.s.tasks[b.pid]!;
  return (
    x.tgid === y.tgid &&
    x.parent === y.parent &&
    x.mm === y.mm &&
    x.state === y.state &&
    x.exit_code === y.exit_code &&
    x.files.length === y.files.length &&
    x.files.every((f, i) => f === y.files[i])
  );
}

/**
 * The groups of `m`'s threads (indices into m.threads, ascending) whose
 * local states may be permuted (the module comment), or null when there
 * are none.
 */
export function permutable(m: Machine): number[][] | null {
  const c = threadClasses(m.sc);
  if (c.members.length === 0) return null;
  const groups: number[][] = [];
  for (let k = 0; k < c.members.length; k++) {
    const idx: number[] = [];
    for (let i = 0; i < m.threads.length; i++) {
      const t = m.threads[i]!;
      if (c.classOf[t.decl] === k && !m.userfaults.has(i)) idx.push(i);
    }
    if (idx.length < 2) continue;
    // Split by task (tgid, mm, …): only equal tasks swap.
    while (idx.length >= 2) {
      const first = m.threads[idx[0]!]!;
      const same = idx.filter((i) => sameTask(m, first, m.threads[i]!));
      if (same.length >= 2) groups.push(same);
      for (const i of same) idx.splice(idx.indexOf(i), 1);
    }
  }
  return groups.length > 0 ? groups : null;
}

/**
 * The numbers thread `t` still stores or compares a page with, by where
 * `pos` (storedPositions()) first met them (-1: nowhere): two threads
 * whose local states tie are sorted by these, so that a state and its
 * permuted copy, which hold each other's numbers, sort alike.
 */
export function remainingPositions(
  m: Machine,
  t: ThreadRt,
  pos: ReadonlyMap<number, number>,
): number[] {
  if (t.done) return [];
  const lits = threadClasses(m.sc).lits[t.decl]!;
  const out: number[] = [];
  for (let pc = t.pc; pc < lits.length; pc++) for (const x of lits[pc]!) out.push(pos.get(x) ?? -1);
  return out;
}

/**
 * The value renaming a thread permutation forces (`order[j]`: the thread
 * whose local state goes to slot j): each number the moved thread's
 * remaining statements store or compare becomes the number the slot's
 * declaration has at the same place. Null when two places disagree.
 */
export function forcedValues(m: Machine, order: readonly number[]): Map<number, number> | null {
  const c = threadClasses(m.sc);
  const vals = new Map<number, number>();
  const back = new Map<number, number>();
  for (let j = 0; j < order.length; j++) {
    const t = m.threads[order[j]!]!;
    if (t.done) continue;
    const to = m.threads[j]!.decl;
    for (let pc = t.pc; pc < c.lits[t.decl]!.length; pc++) {
      const a = c.lits[t.decl]![pc]!;
      const b = c.lits[to]![pc]!;
      for (let i = 0; i < a.length; i++) {
        const x = a[i]!;
        const y = b[i]!;
        if ((vals.get(x) ?? y) !== y || (back.get(y) ?? x) !== x) return null;
        vals.set(x, y);
        back.set(y, x);
      }
    }
  }
  return vals;
}
