/** Printing syntax back as scenario text (traces, diffs, error context). */

import type { Expr, Ref, Stmt } from './ast.js';

function idx(p: number): string {
  return String(p);
}

export function refText(r: Ref): string {
  if (r.idx) {
    const { from, to, step } = r.idx;
    const range = to === null ? '' : `..${exprText(to)}`;
    return `${r.map}[${exprText(from)}${range}${step === null ? '' : ` step ${exprText(step)}`}]`;
  }
  if (r.to === -1) return r.map;
  if (r.single) return `${r.map}[${idx(r.from)}]`;
  return `${r.map}[${idx(r.from)}..${idx(r.to)}${r.step !== 1 ? ` step ${r.step}` : ''}]`;
}

/** Binding strength, as parse.ts reads expressions (higher binds tighter). */
function precedence(e: Expr): number {
  if (e.kind === 'unary') return e.op === '!' ? 3 : 7;
  if (e.kind !== 'binary') return 8;
  switch (e.op) {
    case '||':
      return 1;
    case '&&':
      return 2;
    case '+':
    case '-':
      return 5;
    case '*':
    case '/':
    case '%':
      return 6;
    default:
      return 4; // comparisons, which do not chain
  }
}

/** An expression as it would be written, with only the parentheses it needs. */
export function exprText(e: Expr): string {
  const wrap = (x: Expr, paren: boolean) => (paren ? `(${exprText(x)})` : exprText(x));
  switch (e.kind) {
    case 'num':
      return String(e.value);
    case 'bool':
      return String(e.value);
    case 'ident':
      return e.name;
    case 'ref':
      return refText(e.ref);
    case 'call':
      return `${e.fn}(${e.args.map(exprText).join(', ')})`;
    case 'unary': {
      // `- -x` and `- -1` are written with parentheses rather than as `--`.
      const neg =
        e.op === '-' &&
        ((e.arg.kind === 'unary' && e.arg.op === '-') || (e.arg.kind === 'num' && e.arg.value < 0));
      return `${e.op}${wrap(e.arg, neg || precedence(e.arg) < precedence(e))}`;
    }
    case 'binary': {
      const p = precedence(e);
      // Left-associative chains need no parentheses on the left; comparisons do not chain.
      const left = wrap(e.left, precedence(e.left) < p || (p === 4 && precedence(e.left) === 4));
      return `${left} ${e.op} ${wrap(e.right, precedence(e.right) <= p)}`;
    }
  }
}

const threadText = (name: string, index: Expr | undefined) =>
  index === undefined ? name : `${name}[${exprText(index)}]`;

const ret = (r: string | null) => (r === null ? '' : ` -> ${r}`);

export function stmtText(st: Stmt): string {
  switch (st.op) {
    case 'mmap':
      return [
        `mmap ${st.name}`,
        `len=0x${st.len.toString(16)}`,
        st.at === null ? '' : `at=0x${st.at.toString(16)}`,
        st.shared ? 'shared' : 'private',
        st.prot,
        st.noreserve ? 'noreserve' : '',
        st.populate ? 'populate' : '',
        st.replace ? 'replace' : '',
        st.file ? `file=${st.file}` : '',
      ]
        .filter(Boolean)
        .join(' ')
        .concat(ret(st.ret));
    case 'munmap':
      return `munmap ${refText(st.ref)}${ret(st.ret)}`;
    case 'mremap':
      return `mremap ${refText(st.ref)} onto ${st.onto}${ret(st.ret)}`;
    case 'mprotect':
      return `mprotect ${refText(st.ref)} ${st.prot}${ret(st.ret)}`;
    case 'madvise':
      return `madvise ${refText(st.ref)} ${st.advice}${ret(st.ret)}`;
    case 'write':
      return `write ${refText(st.ref)} = ${exprText(st.value)}`;
    case 'read':
      return `read ${refText(st.ref)}${ret(st.reg)}`;
    case 'fork':
    case 'spawn':
      return `${st.op} ${threadText(st.thread, st.index)}`;
    case 'wait':
      return `wait ${threadText(st.thread, st.index)}${ret(st.reg)}`;
    case 'repeat':
      return `repeat ${st.var === null ? exprText(st.to) : `${st.var} in ${exprText(st.from)}..${exprText(st.to)}`} { ${st.body.map(stmtText).join('; ')} }`;
    case 'phase':
      return `phase ${st.name}`;
    case 'exec':
      return 'exec';
    case 'wait_writeback':
      return 'wait_writeback';
    case 'lru_add_drain_all':
      return 'lru_add_drain_all';
    case 'exit':
      return st.code ? `exit ${exprText(st.code)}` : 'exit';
    case 'signal':
    case 'await':
      return `${st.op} ${threadText(st.event, st.index)}`;
    case 'pipe':
      return `pipe ${st.name}`;
    case 'pipe-write':
      return `write pipe ${st.pipe} = ${exprText(st.value)}`;
    case 'pipe-read':
      return `read pipe ${st.pipe}${ret(st.reg)}`;
    case 'observe':
      return `observe ${exprText(st.expr)} -> ${st.reg}`;
    case 'pin':
      if (st.odirect) return `odirect ${st.odirect} ${refText(st.ref)} -> ${st.name}${ret(st.ret)}`;
      return [
        st.pin ? 'pin' : 'gup',
        refText(st.ref),
        st.write ? 'rw' : 'ro',
        st.longterm ? 'longterm' : '',
        st.fast ? 'fast' : '',
        st.force ? 'force' : '',
        `-> ${st.name}${ret(st.ret)}`,
      ]
        .filter(Boolean)
        .join(' ');
    case 'unpin':
      return `unpin ${st.name}`;
    case 'file':
      return `${st.kind} ${st.name} pages=${st.pages}${st.kind === 'tmpfile' ? ` fs=${st.fs}` : ''}`;
    case 'clear_refs':
      return `clear_refs ${st.value}${ret(st.ret)}`;
    case 'userfaultfd':
      return `userfaultfd ${st.name}${st.event_fork ? ' event_fork' : ''}${st.wp_unpopulated ? ' wp_unpopulated' : ''}`;
    case 'uffd':
      return `uffd ${st.sub} ${st.uffd} ${refText(st.ref)}${ret(st.ret)}`;
    case 'uffd-read':
      return `uffd read ${st.uffd}${st.fork === null ? '' : ` fork ${st.fork}`}${st.reg === null ? '' : ` -> ${st.reg}`}`;
    case 'ksm_scan':
      return st.use_zero_pages ? 'ksm_scan use_zero_pages' : 'ksm_scan';
    case 'prctl':
      return `prctl ${st.option}${st.option === 'set_memory_merge' ? ` ${st.arg}` : ''}${ret(st.ret)}`;
    case 'pin-read':
      return `read pin ${st.name}${ret(st.reg)}`;
    case 'pin-write':
      return `write pin ${st.name} = ${exprText(st.value)}`;
    case 'sched_setaffinity':
      return `sched_setaffinity ${st.cpu}`;
    case 'vmsplice':
      return `vmsplice ${refText(st.ref)} -> ${st.pipe}${ret(st.ret)}`;
  }
}
