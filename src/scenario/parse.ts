/**
 * Recursive-descent parser of the scenario language (grammar in
 * docs/scenarios.md). It builds the syntax tree only; names are resolved and
 * checked afterwards (check.ts). The first error stops parsing and is thrown
 * as an InputError with its position.
 */

import type {
  Advice,
  Claim,
  EnvActor,
  Expectation,
  Expr,
  Pos,
  Prot,
  Provenance,
  Ref,
  Scenario,
  Stmt,
  ThreadDecl,
  Verdict,
} from './ast.js';
import { ENV_ACTORS, MAX_CPU } from './ast.js';
import { InputError } from './errors.js';
import { GHOST_INVARIANTS } from './ghost.js';
import type { Token } from './lexer.js';
import { Lexer } from './lexer.js';
import { expandScenario } from './unroll.js';

const PROTS: ReadonlySet<string> = new Set(['none', 'r', 'rw', 'rx', 'rwx', 'w', 'x']);
const VERDICTS: ReadonlySet<string> = new Set(['Never', 'Sometimes', 'Always', 'Hang']);
const PROVENANCE: ReadonlySet<string> = new Set(['obs', 'src', 'der', 'unc']);
const ADVICE: ReadonlySet<string> = new Set([
  'dontneed',
  'dontfork',
  'dofork',
  'pageout',
  'mergeable',
  'unmergeable',
  'hugepage',
  'nohugepage',
  'collapse',
  'cleanup_pgtable',
  'remove',
]);
const PAGE = 4096;

type BinaryOp = Extract<Expr, { kind: 'binary' }>['op'];

/** The value of an index expression of numbers only (consts are numbers by now), or null. */
function constIndex(e: Expr): number | null {
  if (e.kind === 'num') return e.value;
  if (e.kind === 'unary' && e.op === '-') {
    const a = constIndex(e.arg);
    return a === null ? null : -a;
  }
  if (e.kind !== 'binary') return null;
  const a = constIndex(e.left);
  const b = constIndex(e.right);
  if (a === null || b === null) return null;
  if (e.op === '+') return a + b;
  if (e.op === '-') return a - b;
  if (e.op === '*') return a * b;
  if (e.op === '/' && b !== 0) return Math.trunc(a / b);
  if (e.op === '%' && b !== 0) return a % b;
  return null;
}

/**
 * The deepest expression a file may hold (SC010): operators on the longest
 * path from the top to a leaf (a sum of 1,024 terms), far below what the
 * recursive checker, evaluator and printers can take.
 */
export const MAX_EXPR_DEPTH = 1024;

/** Parentheses, calls and unary operators open at once (SC010): the parser recurses through eight functions for each. */
export const MAX_EXPR_NEST = 256;

/** The deepest nest of `repeat` blocks a file may hold (SC010). */
export const MAX_LOOP_DEPTH = 64;

class Parser {
  private readonly lx: Lexer;
  /** `const NAME = NUM` lines: a name stands for its number wherever a number may be written. */
  private readonly consts = new Map<string, Token>();

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {
    this.lx = new Lexer(src, file);
  }

  /** Open parentheses, calls and unary operators around the expression being parsed. */
  private nest = 0;
  /** `repeat` blocks open around the statement being parsed. */
  private loops = 0;
  /** Each expression node's depth (the longest path to a leaf), for MAX_EXPR_DEPTH. */
  private readonly depths = new WeakMap<Expr, number>();

  private err(message: string, pos: Pos, code: 'SC002' | 'SC004' | 'SC010' = 'SC002'): never {
    throw new InputError(code, message, this.file, pos);
  }

  private describe(t: Token): string {
    if (t.type === 'eof') return 'end of file';
    if (t.type === 'nl') return 'end of line';
    if (t.type === 'str') return `string "${t.text}"`;
    return `'${t.text}'`;
  }

  private skipNl(): void {
    while (this.lx.peek().type === 'nl' || this.isPunct(';')) this.lx.next();
  }

  private isPunct(p: string): boolean {
    const t = this.lx.peek();
    return t.type === 'punct' && t.text === p;
  }

  private isIdent(text?: string): boolean {
    const t = this.lx.peek();
    return t.type === 'ident' && (text === undefined || t.text === text);
  }

  private expectPunct(p: string, what?: string): Token {
    const t = this.lx.next();
    if (t.type !== 'punct' || t.text !== p)
      this.err(`expected '${p}'${what ? ` ${what}` : ''}, found ${this.describe(t)}`, t.pos);
    return t;
  }

  private ident(what: string): Token {
    const t = this.lx.next();
    if (t.type !== 'ident') this.err(`expected ${what}, found ${this.describe(t)}`, t.pos);
    return t;
  }

  private string(what: string): Token {
    const t = this.lx.next();
    if (t.type !== 'str')
      this.err(`expected ${what} (a "quoted string"), found ${this.describe(t)}`, t.pos);
    return t;
  }

  /** A number token, or a const's name standing for one. */
  private numTok(): Token {
    const t = this.lx.next();
    const c = t.type === 'ident' ? this.consts.get(t.text) : undefined;
    return c ? { ...c, pos: t.pos, start: t.start } : t;
  }

  /** `const NAME = NUM` */
  private constLine(): void {
    const n = this.ident('a name for the constant');
    this.expectPunct('=', `after const ${n.text}`);
    const v = this.numTok();
    if (v.type !== 'num') this.err(`const ${n.text} takes a number`, v.pos, 'SC004');
    if (this.consts.has(n.text)) this.err(`const ${n.text} is defined twice`, n.pos, 'SC004');
    this.consts.set(n.text, v);
  }

  parse(): Scenario {
    let name: Token | null = null;
    let doc = '';
    const cites: string[] = [];
    const claims: Claim[] = [];
    let setup: Stmt[] | null = null;
    const threads: ThreadDecl[] = [];
    const env: EnvActor[] = [];
    let cond: { q: 'exists' | 'forall'; e: Expr; pos: Pos } | null = null;
    let expect: Expectation[] | null = null;
    this.skipNl();
    while (this.lx.peek().type !== 'eof') {
      const kw = this.ident(
        'a section (scenario, doc, cite, claim, const, env, setup, thread, exists, forall, expect)',
      );
      switch (kw.text) {
        case 'scenario': {
          if (name) this.err('a file holds one scenario: second "scenario" line', kw.pos);
          name = this.lx.word();
          if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(name.text))
            this.err(`bad scenario name '${name.text}'`, name.pos);
          break;
        }
        case 'doc':
          doc = this.string('the description').text;
          break;
        case 'const':
          this.constLine();
          break;
        case 'cite':
          cites.push(this.string('a citation').text);
          break;
        case 'claim': {
          const from = this.lx.word();
          const to = this.lx.word();
          claims.push({
            pos: kw.pos,
            from: from.text,
            to: to.text,
            text: this.string('what was measured').text,
          });
          break;
        }
        case 'env':
          do {
            if (this.isPunct(',')) this.lx.next();
            const a = this.ident('an environment actor');
            if (!(ENV_ACTORS as readonly string[]).includes(a.text))
              this.err(
                `unknown environment actor '${a.text}': expected ${ENV_ACTORS.join(' or ')}`,
                a.pos,
                'SC002',
              );
            if (!env.includes(a.text as EnvActor)) env.push(a.text as EnvActor);
          } while (this.isPunct(','));
          break;
        case 'setup':
          if (setup) this.err('second "setup" block', kw.pos);
          setup = this.block();
          break;
        case 'thread': {
          const n = this.ident('a thread name');
          if (!this.isPunct('[')) {
            threads.push({ pos: n.pos, name: n.text, body: this.block() });
            break;
          }
          // A thread array: thread child[i in 0..N]
          this.lx.next();
          const v = this.ident('the index variable of the thread array (child[i in 0..N])');
          const { from, to } = this.loopRange();
          this.expectPunct(']', 'closing the thread array');
          threads.push({
            pos: n.pos,
            name: n.text,
            body: this.block(),
            array: { var: v.text, from, to },
          });
          break;
        }
        case 'exists':
        case 'forall': {
          if (cond) this.err('second condition: a scenario has one exists/forall', kw.pos);
          this.expectPunct('(', `after ${kw.text}`);
          const e = this.expr();
          this.expectPunct(')', 'closing the condition');
          cond = { q: kw.text, e, pos: kw.pos };
          break;
        }
        case 'expect':
          if (expect) this.err('second "expect" block', kw.pos);
          expect = this.expectBlock();
          break;
        default:
          this.err(
            `unknown section '${kw.text}': expected scenario, doc, cite, const, env, setup, thread, exists, forall or expect`,
            kw.pos,
          );
      }
      const end = this.lx.peek();
      if (end.type !== 'nl' && end.type !== 'eof' && !this.isPunct(';')) {
        this.err(`expected end of line after ${kw.text}, found ${this.describe(end)}`, end.pos);
      }
      this.skipNl();
    }
    const eof = this.lx.peek().pos;
    if (!name)
      throw new InputError('SC008', 'missing "scenario NAME" line', this.file, { line: 1, col: 1 });
    if (threads.length === 0)
      throw new InputError(
        'SC008',
        'missing "thread NAME { ... }": a scenario needs at least one thread',
        this.file,
        eof,
      );
    if (!cond)
      throw new InputError(
        'SC008',
        'missing condition: "exists (...)" or "forall (...)"',
        this.file,
        eof,
      );
    return {
      file: this.file,
      name: name.text,
      namePos: name.pos,
      doc,
      cites,
      setup: setup ?? [],
      env,
      threads,
      quantifier: cond.q,
      condition: cond.e,
      conditionPos: cond.pos,
      expect: expect ?? [],
      ...(claims.length > 0 ? { claims } : {}),
      source: this.src,
    };
  }

  private block(): Stmt[] {
    this.expectPunct('{', 'opening the block');
    const out: Stmt[] = [];
    this.skipNl();
    while (!this.isPunct('}')) {
      if (this.lx.peek().type === 'eof')
        this.err("unterminated block: missing '}'", this.lx.peek().pos);
      out.push(this.stmt());
      const t = this.lx.peek();
      if (!(t.type === 'nl' || this.isPunct(';') || this.isPunct('}'))) {
        this.err(
          `expected ';' or end of line after the statement, found ${this.describe(t)}`,
          t.pos,
        );
      }
      this.skipNl();
    }
    this.lx.next();
    return out;
  }

  private optRet(): string | null {
    if (!this.isPunct('->')) return null;
    this.lx.next();
    return this.ident('a register name after ->').text;
  }

  private prot(t: Token): Prot {
    if (!PROTS.has(t.text))
      this.err(`bad protection '${t.text}': use none, r, rw, rx or rwx`, t.pos, 'SC004');
    return t.text as Prot;
  }

  /** A page index: a plain number counts pages, a number with a unit is a byte offset. */
  private index(): number {
    const t = this.numTok();
    if (t.type !== 'num') this.err(`expected a page index, found ${this.describe(t)}`, t.pos);
    if (!t.unit) return t.value!;
    if (t.value! % PAGE !== 0)
      this.err(`byte offset ${t.text} is not a multiple of 4K`, t.pos, 'SC004');
    return t.value! / PAGE;
  }

  /** A page index, or an expression over loop variables (in pages) when it is not a number. */
  private indexOrExpr(): number | Expr {
    const t = this.lx.peek();
    // A byte offset (a number or const with a unit) is an index of its own.
    if ((t.type === 'num' && t.unit) || (t.type === 'ident' && this.consts.get(t.text)?.unit))
      return this.index();
    const e = this.sum();
    const v = constIndex(e);
    return v ?? e;
  }

  /** `A..B` of a loop or a thread array. */
  private loopRange(): { from: Expr; to: Expr } {
    const kw = this.ident("'in'");
    if (kw.text !== 'in') this.err(`expected 'in', found '${kw.text}'`, kw.pos);
    const from = this.sum();
    this.expectPunct('..', 'between the bounds (A..B, B excluded)');
    return { from, to: this.sum() };
  }

  private ref(): Ref {
    const n = this.ident('a mapping name');
    if (!this.isPunct('['))
      return { pos: n.pos, map: n.text, from: 0, to: -1, step: 1, single: false };
    return this.refAfter(n);
  }

  /** The `[from]`, `[from..to]` or `[from..to step k]` after a mapping name. */
  private refAfter(n: Token): Ref {
    this.expectPunct('[');
    const a = this.indexOrExpr();
    let b: number | Expr | null = null;
    let c: number | Expr | null = null;
    if (this.isPunct('..')) {
      this.lx.next();
      b = this.indexOrExpr();
      if (this.isIdent('step')) {
        this.lx.next();
        c = this.indexOrExpr();
      }
    }
    this.expectPunct(']', 'closing the page range');
    const single = b === null;
    if (
      typeof a !== 'number' ||
      (b !== null && typeof b !== 'number') ||
      (c !== null && typeof c !== 'number')
    ) {
      // Over loop variables: unroll.ts evaluates and checks them.
      const e = (x: number | Expr | null): Expr | null =>
        x === null ? null : typeof x === 'number' ? { kind: 'num', pos: n.pos, value: x } : x;
      return {
        pos: n.pos,
        map: n.text,
        from: 0,
        to: 1,
        step: 1,
        single,
        idx: { from: e(a)!, to: e(b), step: e(c) },
      };
    }
    const from = a;
    for (const x of [a, b, c])
      if (typeof x === 'number' && (x < 0 || !Number.isSafeInteger(x)))
        this.err(`page index ${x} is not a whole number ≥ 0`, n.pos, 'SC004');
    const to = b === null ? from + 1 : (b as number);
    const step = c === null ? 1 : (c as number);
    if (step < 1) this.err('step must be at least one page', n.pos, 'SC004');
    if (!single && to <= from) this.err(`empty range ${from}..${to}`, n.pos, 'SC004');
    return { pos: n.pos, map: n.text, from, to, step, single };
  }

  /** `NAME` or `NAME[index]` (an instance of a thread array) after fork, spawn and wait. */
  private threadName(): { thread: string; index?: Expr } {
    const thread = this.ident('a thread name').text;
    if (!this.isPunct('[')) return { thread };
    this.lx.next();
    const index = this.sum();
    this.expectPunct(']', 'closing the thread index');
    return { thread, index };
  }

  /** `NAME` or `NAME[index]` (an event array, one event per index) after signal and await. */
  private eventName(): { thread: string; index?: Expr } {
    const event = this.ident('an event name').text;
    if (!this.isPunct('[')) return { thread: event };
    this.lx.next();
    const index = this.sum();
    this.expectPunct(']', 'closing the event index');
    return { thread: event, index };
  }

  private stmt(): Stmt {
    const kw = this.ident('an operation');
    const pos = kw.pos;
    switch (kw.text) {
      case 'mmap':
        return this.mmap(pos);
      case 'munmap': {
        const ref = this.ref();
        return { op: 'munmap', pos, ref, ret: this.optRet() };
      }
      case 'mremap': {
        const ref = this.ref();
        const kw2 = this.ident("'onto'");
        if (kw2.text !== 'onto')
          this.err(`mremap REF onto MAPPING: expected 'onto', got '${kw2.text}'`, kw2.pos);
        const onto = this.ident('the mapping to move onto').text;
        return { op: 'mremap', pos, ref, onto, ret: this.optRet() };
      }
      case 'mprotect': {
        const ref = this.ref();
        const prot = this.prot(this.ident('a protection (none, r, rw, rx, rwx)'));
        return { op: 'mprotect', pos, ref, prot, ret: this.optRet() };
      }
      case 'madvise': {
        const ref = this.ref();
        const a = this.ident(`an advice (${[...ADVICE].join(', ')})`);
        if (!ADVICE.has(a.text))
          this.err(
            `unknown advice '${a.text}': use ${[...ADVICE].slice(0, -1).join(', ')} or ${[...ADVICE].at(-1)}`,
            a.pos,
            'SC004',
          );
        return {
          op: 'madvise',
          pos,
          ref,
          advice: a.text as Advice,
          ret: this.optRet(),
        };
      }
      case 'pin':
      case 'gup':
        return this.pin(pos, kw.text === 'pin', false);
      case 'iouring': {
        const sub = this.ident('register or unregister');
        if (sub.text === 'register') return this.pin(pos, true, true);
        if (sub.text === 'unregister')
          return { op: 'unpin', pos, name: this.ident('a buffer name').text };
        return this.err(
          `unknown io_uring operation '${sub.text}': use register or unregister`,
          sub.pos,
        );
      }
      case 'odirect': {
        const dir = this.ident('read or write');
        if (dir.text !== 'read' && dir.text !== 'write')
          this.err(`odirect ${dir.text}: use odirect read or odirect write`, dir.pos);
        const ref = this.ref();
        if (!this.isPunct('->'))
          this.err("odirect needs '-> NAME' for the I/O in flight", this.lx.peek().pos);
        this.lx.next();
        const name = this.ident('a name for the I/O in flight').text;
        return {
          op: 'pin',
          pos,
          ref,
          pin: false,
          write: dir.text === 'read',
          longterm: false,
          fast: true,
          force: false,
          odirect: dir.text,
          name,
          ret: this.optRet(),
        };
      }
      case 'unpin':
        return { op: 'unpin', pos, name: this.ident('a pin name').text };
      case 'memfd':
      case 'tmpfile':
        return this.fileStmt(pos, kw.text);
      case 'ksm_scan': {
        let useZeroPages = false;
        if (this.isIdent()) {
          const f = this.ident('use_zero_pages');
          if (f.text !== 'use_zero_pages')
            this.err(`unknown ksm_scan setting '${f.text}': use use_zero_pages`, f.pos);
          useZeroPages = true;
        }
        return { op: 'ksm_scan', pos, use_zero_pages: useZeroPages };
      }
      case 'prctl': {
        const o = this.ident('set_memory_merge or get_memory_merge');
        if (o.text === 'get_memory_merge')
          return { op: 'prctl', pos, option: 'get_memory_merge', arg: 0, ret: this.optRet() };
        if (o.text !== 'set_memory_merge')
          this.err(
            `unknown prctl option '${o.text}': use set_memory_merge or get_memory_merge`,
            o.pos,
            'SC004',
          );
        const v = this.lx.next();
        if (v.type !== 'num' || v.unit)
          this.err('prctl set_memory_merge takes 0 or 1', v.pos, 'SC004');
        return {
          op: 'prctl',
          pos,
          option: 'set_memory_merge',
          arg: v.value!,
          ret: this.optRet(),
        };
      }
      case 'userfaultfd': {
        const name = this.ident('a name for the userfaultfd').text;
        let eventFork = false;
        let wpUnpopulated = false;
        while (this.isIdent()) {
          const f = this.ident('event_fork or wp_unpopulated');
          if (f.text === 'event_fork') eventFork = true;
          else if (f.text === 'wp_unpopulated') wpUnpopulated = true;
          else
            this.err(
              `unknown userfaultfd feature '${f.text}': use event_fork or wp_unpopulated`,
              f.pos,
            );
        }
        return {
          op: 'userfaultfd',
          pos,
          name,
          event_fork: eventFork,
          wp_unpopulated: wpUnpopulated,
        };
      }
      case 'uffd': {
        const sub = this.ident('register, wp, unwp or read');
        if (sub.text === 'read') {
          const uffd = this.ident('a userfaultfd name').text;
          let fork: string | null = null;
          if (this.isIdent('fork')) {
            this.lx.next();
            fork = this.ident("a name for the child's userfaultfd").text;
          }
          let reg: string | null = null;
          if (this.isPunct('->')) {
            this.lx.next();
            reg = this.ident('a register').text;
          }
          return { op: 'uffd-read', pos, uffd, fork, reg };
        }
        if (sub.text !== 'register' && sub.text !== 'wp' && sub.text !== 'unwp')
          return this.err(
            `unknown userfaultfd operation '${sub.text}': use register, wp, unwp or read`,
            sub.pos,
          );
        const uffd = this.ident('a userfaultfd name').text;
        const ref = this.ref();
        return { op: 'uffd', pos, sub: sub.text, uffd, ref, ret: this.optRet() };
      }
      case 'clear_refs': {
        const v = this.lx.next();
        if (v.type !== 'num' || v.unit)
          this.err(
            'clear_refs takes the number written to /proc/self/clear_refs, e.g. clear_refs 4',
            v.pos,
          );
        return { op: 'clear_refs', pos, value: v.value!, ret: this.optRet() };
      }
      case 'vmsplice': {
        const ref = this.ref();
        this.expectPunct('->', 'before the pipe');
        const pipe = this.ident('a pipe name').text;
        return { op: 'vmsplice', pos, ref, pipe, ret: this.optRet() };
      }
      case 'write': {
        if (this.isIdent('pin')) {
          this.lx.next();
          const name = this.ident('a pin name').text;
          this.expectPunct('=', 'before the value');
          return { op: 'pin-write', pos, name, value: this.expr() };
        }
        if (this.isIdent('pipe')) {
          this.lx.next();
          const p = this.ident('a pipe name').text;
          this.expectPunct('=', 'before the value');
          return { op: 'pipe-write', pos, pipe: p, value: this.expr() };
        }
        const ref = this.ref();
        this.expectPunct('=', 'before the value');
        return { op: 'write', pos, ref, value: this.expr() };
      }
      case 'read': {
        if (this.isIdent('pin')) {
          this.lx.next();
          return { op: 'pin-read', pos, name: this.ident('a pin name').text, reg: this.optRet() };
        }
        if (this.isIdent('pipe')) {
          this.lx.next();
          const p = this.ident('a pipe name').text;
          return { op: 'pipe-read', pos, pipe: p, reg: this.optRet() };
        }
        const ref = this.ref();
        return { op: 'read', pos, ref, reg: this.optRet() };
      }
      case 'fork':
      case 'spawn':
        return { op: kw.text, pos, ...this.threadName() };
      case 'wait':
        return { op: 'wait', pos, ...this.threadName(), reg: this.optRet() };
      case 'repeat': {
        // repeat N { … } or repeat i in A..B { … }
        if (++this.loops > MAX_LOOP_DEPTH)
          this.err(`loops nested deeper than ${MAX_LOOP_DEPTH}`, pos, 'SC010');
        const first = this.sum();
        let st: Stmt;
        if (first.kind === 'ident' && this.isIdent('in')) {
          const { from, to } = this.loopRange();
          st = { op: 'repeat', pos, var: first.name, from, to, body: this.block() };
        } else {
          const zero: Expr = { kind: 'num', pos, value: 0 };
          st = { op: 'repeat', pos, var: null, from: zero, to: first, body: this.block() };
        }
        this.loops--;
        return st;
      }
      case 'phase': {
        const t = this.lx.next();
        if (t.type !== 'ident' && t.type !== 'str')
          this.err(`phase takes a name, found ${this.describe(t)}`, t.pos);
        return { op: 'phase', pos, name: t.text };
      }
      case 'exec':
        return { op: 'exec', pos };
      case 'wait_writeback':
        return { op: 'wait_writeback', pos };
      case 'lru_add_drain_all':
        return { op: 'lru_add_drain_all', pos };
      case 'exit': {
        const t = this.lx.peek();
        const code =
          t.type === 'nl' || t.type === 'eof' || this.isPunct(';') || this.isPunct('}')
            ? null
            : this.expr();
        return { op: 'exit', pos, code };
      }
      case 'signal':
      case 'await': {
        // `written[k]`: one event per value of a loop or thread-array variable.
        const { thread: event, index } = this.eventName();
        return index ? { op: kw.text, pos, event, index } : { op: kw.text, pos, event };
      }
      case 'pipe':
        return { op: 'pipe', pos, name: this.ident('a pipe name').text };
      case 'sched_setaffinity': {
        const t = this.lx.next();
        if (t.type !== 'num' || t.unit || t.value! > MAX_CPU)
          this.err(
            `expected a CPU number 0..${MAX_CPU}, found ${this.describe(t)}`,
            t.pos,
            'SC004',
          );
        return { op: 'sched_setaffinity', pos, cpu: t.value! };
      }
      case 'observe': {
        const expr = this.expr();
        if (!this.isPunct('->')) this.err("observe needs '-> REGISTER'", this.lx.peek().pos);
        return { op: 'observe', pos, expr, reg: this.optRet()! };
      }
      default:
        return this.err(
          `unknown operation '${kw.text}': expected mmap, munmap, mremap, mprotect, madvise, write, read, fork, spawn, wait, exit, exec, signal, await, pipe, observe, pin, gup, unpin, vmsplice, iouring, odirect, clear_refs, ksm_scan, wait_writeback, lru_add_drain_all, prctl, userfaultfd, uffd, sched_setaffinity, memfd or tmpfile`,
          pos,
          'SC002',
        );
    }
  }

  /**
   * `pin REF [rw] [longterm] [fast] [force] -> NAME [-> REG]`, `gup REF ...`, and
   * `iouring register REF -> NAME` (FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM).
   */
  private pin(pos: Pos, pin: boolean, iouring: boolean): Stmt {
    const ref = this.ref();
    let write = iouring;
    let longterm = iouring;
    let fast = false;
    let force = false;
    while (!iouring && this.isIdent()) {
      const t = this.lx.next();
      if (t.text === 'rw') write = true;
      else if (t.text === 'ro') write = false;
      else if (t.text === 'longterm') longterm = true;
      else if (t.text === 'fast') fast = true;
      else if (t.text === 'force') force = true;
      else
        this.err(
          `unknown ${pin ? 'pin' : 'gup'} option '${t.text}': expected ro, rw, longterm, fast or force`,
          t.pos,
        );
    }
    if (!this.isPunct('->'))
      this.err(
        `${iouring ? 'iouring register' : pin ? 'pin' : 'gup'} needs '-> NAME'`,
        this.lx.peek().pos,
      );
    this.lx.next();
    const name = this.ident('a name for the pinned pages').text;
    return {
      op: 'pin',
      pos,
      ref,
      pin,
      write,
      longterm,
      fast,
      force,
      odirect: null,
      name,
      ret: this.optRet(),
    };
  }

  /** `memfd F pages=N` / `tmpfile F pages=N [fs=ext4|tmpfs]` */
  private fileStmt(pos: Pos, kind: 'memfd' | 'tmpfile'): Stmt {
    const name = this.ident('a file name').text;
    let pages: number | null = null;
    let fs: 'tmpfs' | 'ext4' = kind === 'memfd' ? 'tmpfs' : 'ext4';
    while (this.isIdent()) {
      const t = this.lx.next();
      this.expectPunct('=', `after ${t.text}`);
      if (t.text === 'pages') {
        const v = this.numTok();
        if (v.type !== 'num' || v.unit || v.value! < 1)
          this.err('pages= takes a page count', v.pos, 'SC004');
        pages = v.value!;
      } else if (t.text === 'fs' && kind === 'tmpfile') {
        const v = this.ident('ext4 or tmpfs');
        if (v.text !== 'ext4' && v.text !== 'tmpfs')
          this.err(`fs=${v.text}: the model knows ext4 and tmpfs`, v.pos, 'SC004');
        fs = v.text;
      } else {
        this.err(
          `unknown ${kind} option '${t.text}': expected pages=${kind === 'tmpfile' ? ' or fs=' : ''}`,
          t.pos,
        );
      }
    }
    if (pages === null) this.err(`${kind} needs its size: pages=N`, pos, 'SC004');
    return { op: 'file', pos, name, kind, pages, fs };
  }

  private mmap(pos: Pos): Stmt {
    const name = this.ident('a mapping name').text;
    let len: number | null = null;
    let at: number | null = null;
    let shared: boolean | null = null;
    let prot: Prot = 'rw';
    let noreserve = false;
    let populate = false;
    let replace = false;
    let file: string | null = null;
    for (;;) {
      const t = this.lx.peek();
      if (t.type !== 'ident') break;
      this.lx.next();
      if (t.text === 'file') {
        this.expectPunct('=', 'after file');
        file = this.ident('a file name (memfd or tmpfile)').text;
        continue;
      }
      if (t.text === 'pages' || t.text === 'len' || t.text === 'at' || t.text === 'prot') {
        this.expectPunct('=', `after ${t.text}`);
        if (t.text === 'prot') {
          prot = this.prot(this.ident('a protection'));
          continue;
        }
        const v = this.numTok();
        if (v.type !== 'num')
          this.err(`expected a number after ${t.text}=, found ${this.describe(v)}`, v.pos);
        if (t.text === 'pages') {
          if (v.unit) this.err('pages= counts pages: use len= for a size in bytes', v.pos, 'SC004');
          len = v.value! * PAGE;
        } else if (t.text === 'len') {
          // mmap() rounds the length up to whole pages (PAGE_ALIGN(len)); 0 is -EINVAL.
          if (v.value! <= 0) this.err(`len=${v.text} is not a positive length`, v.pos, 'SC004');
          len = Math.ceil(v.value! / PAGE) * PAGE;
        } else {
          if (v.value! % PAGE !== 0) this.err(`at=${v.text} is not page aligned`, v.pos, 'SC004');
          at = v.value!;
        }
      } else if (t.text === 'private' || t.text === 'shared') {
        shared = t.text === 'shared';
      } else if (t.text === 'anon') {
        // Anonymous is the only kind of memory modelled; the word is accepted for readability.
      } else if (t.text === 'noreserve') noreserve = true;
      else if (t.text === 'populate') populate = true;
      else if (t.text === 'replace') replace = true;
      else if (PROTS.has(t.text)) prot = t.text as Prot;
      else
        this.err(
          `unknown mmap option '${t.text}': expected pages=, len=, at=, file=, private, shared, a protection, noreserve, populate or replace`,
          t.pos,
        );
    }
    if (len === null) this.err('mmap needs a size: pages=N or len=SIZE', pos, 'SC004');
    if (shared === null) this.err('mmap needs private or shared', pos, 'SC004');
    return {
      op: 'mmap',
      pos,
      name,
      len,
      at,
      shared,
      prot,
      noreserve,
      populate,
      replace,
      file,
      ret: this.optRet(),
    };
  }

  private expectBlock(): Expectation[] {
    this.expectPunct('{', 'opening the expectations');
    const out: Expectation[] = [];
    this.skipNl();
    while (!this.isPunct('}')) {
      const eras: Token[] = [this.lx.word()];
      while (this.isPunct(',')) {
        this.lx.next();
        eras.push(this.lx.word());
      }
      if (eras.some((e) => e.type !== 'ident' || e.text === ''))
        this.err('expected an era id or *', eras[0]!.pos);
      this.expectPunct(':', 'after the era');
      const v = this.ident('a verdict (Never, Sometimes, Always, Hang)');
      if (!VERDICTS.has(v.text))
        this.err(`bad verdict '${v.text}': use Never, Sometimes, Always or Hang`, v.pos, 'SC004');
      let breaks: string[] | null = null;
      const bw = this.lx.peek();
      if (bw.type === 'ident' && bw.text === 'breaks') {
        this.lx.next();
        breaks = [];
        for (;;) {
          const c = this.ident('an invariant code (PT001, PIN001, ...) or nothing');
          if (c.text === 'nothing' && breaks.length === 0) break;
          if (!(c.text in GHOST_INVARIANTS))
            this.err(
              `unknown invariant '${c.text}': use ${Object.keys(GHOST_INVARIANTS).join(', ')} or nothing`,
              c.pos,
              'SC004',
            );
          breaks.push(c.text);
          if (!this.isPunct(',')) break;
          this.lx.next();
        }
        breaks.sort();
      }
      let provenance: Provenance | null = null;
      if (this.isPunct('[')) {
        this.lx.next();
        const p = this.ident('a provenance tag (obs, src, der, unc)');
        if (!PROVENANCE.has(p.text))
          this.err(`bad provenance '${p.text}': use obs, src, der or unc`, p.pos, 'SC004');
        provenance = p.text as Provenance;
        this.expectPunct(']');
      }
      for (const e of eras)
        out.push({ pos: e.pos, era: e.text, verdict: v.text as Verdict, provenance, breaks });
      const t = this.lx.peek();
      if (!(t.type === 'nl' || this.isPunct(';') || this.isPunct('}')))
        this.err(`expected ';' or end of line, found ${this.describe(t)}`, t.pos);
      this.skipNl();
    }
    this.lx.next();
    return out;
  }

  // Expressions: || < && < ! < comparison < + - < * / < unary minus < atom.
  expr(): Expr {
    return this.leftAssoc({ '||': '||', '\\/': '||' }, () => this.and());
  }

  private and(): Expr {
    return this.leftAssoc({ '&&': '&&', '/\\': '&&' }, () => this.not());
  }

  /** A left-associative chain of the binary operators in `ops` (token text -> operator). */
  private leftAssoc(ops: Readonly<Record<string, BinaryOp>>, next: () => Expr): Expr {
    let left = next();
    for (;;) {
      const t = this.lx.peek();
      const op = t.type === 'punct' ? ops[t.text] : undefined;
      if (op === undefined) return left;
      this.lx.next();
      left = this.node({ kind: 'binary', pos: t.pos, op, left, right: next() });
    }
  }

  /**
   * A new operator node, refused (SC010) past MAX_EXPR_DEPTH: the checker,
   * the evaluator and the printers walk expressions recursively.
   */
  private node(e: Expr): Expr {
    const d = (x: Expr) => this.depths.get(x) ?? 1;
    const depth =
      1 +
      (e.kind === 'binary'
        ? Math.max(d(e.left), d(e.right))
        : e.kind === 'unary'
          ? d(e.arg)
          : e.kind === 'call'
            ? Math.max(0, ...e.args.map(d))
            : 0);
    if (depth > MAX_EXPR_DEPTH)
      this.err(
        `expression nested deeper than ${MAX_EXPR_DEPTH} operators; split it with registers or constants`,
        e.pos,
        'SC010',
      );
    this.depths.set(e, depth);
    return e;
  }

  /** Enter a parenthesis, a call's arguments or a unary operator: refused (SC010) past MAX_EXPR_NEST open at once. */
  private enter(pos: Pos): void {
    if (++this.nest > MAX_EXPR_NEST)
      this.err(`expression nested deeper than ${MAX_EXPR_NEST} levels`, pos, 'SC010');
  }

  private not(): Expr {
    if (this.isPunct('!') || this.isPunct('~')) {
      const pos = this.lx.next().pos;
      this.enter(pos);
      const arg = this.not();
      this.nest--;
      return this.node({ kind: 'unary', pos, op: '!', arg });
    }
    return this.cmp();
  }

  private cmp(): Expr {
    const left = this.sum();
    const t = this.lx.peek();
    if (t.type === 'punct' && ['==', '!=', '<', '<=', '>', '>=', '='].includes(t.text)) {
      this.lx.next();
      if (t.text === '=') this.err("use '==' to compare", t.pos);
      const op = t.text as '==' | '!=' | '<' | '<=' | '>' | '>=';
      return this.node({ kind: 'binary', pos: t.pos, op, left, right: this.sum() });
    }
    return left;
  }

  private sum(): Expr {
    return this.leftAssoc({ '+': '+', '-': '-' }, () => this.term());
  }

  private term(): Expr {
    return this.leftAssoc({ '*': '*', '/': '/', '%': '%' }, () => this.unary());
  }

  private unary(): Expr {
    if (this.isPunct('-')) {
      const pos = this.lx.next().pos;
      this.enter(pos);
      const arg = this.unary();
      this.nest--;
      return this.node({ kind: 'unary', pos, op: '-', arg });
    }
    return this.atom();
  }

  private atom(): Expr {
    const t = this.lx.peek();
    if (t.type === 'num') {
      this.lx.next();
      return { kind: 'num', pos: t.pos, value: t.value! };
    }
    if (this.isPunct('(')) {
      this.enter(this.lx.next().pos);
      const e = this.expr();
      this.nest--;
      this.expectPunct(')');
      return e;
    }
    if (t.type === 'ident') {
      this.lx.next();
      if (t.text === 'true' || t.text === 'false')
        return { kind: 'bool', pos: t.pos, value: t.text === 'true' };
      if (this.isPunct('[')) return { kind: 'ref', pos: t.pos, ref: this.refAfter(t) };
      const c = this.consts.get(t.text);
      if (c) return { kind: 'num', pos: t.pos, value: c.value! };
      if (this.isPunct('(')) {
        this.enter(this.lx.next().pos);
        const args: Expr[] = [];
        while (!this.isPunct(')')) {
          args.push(this.expr());
          if (!this.isPunct(',')) break;
          this.lx.next();
        }
        this.nest--;
        this.expectPunct(')', `closing ${t.text}(...)`);
        return this.node({ kind: 'call', pos: t.pos, fn: t.text, args });
      }
      return { kind: 'ident', pos: t.pos, name: t.text };
    }
    return this.err(`expected a value, a register or a function, found ${this.describe(t)}`, t.pos);
  }
}

/**
 * Parse one scenario file as written: loops (`repeat`) and thread arrays
 * left as they are (what `cowherd sim` runs). Throws InputError (SC001–SC008)
 * with the position of the first error.
 */
export function parseWorkload(src: string, file: string): Scenario {
  return new Parser(src, file).parse();
}

/**
 * Parse one scenario file, loops and thread arrays expanded (unroll.ts): what
 * check, run, explore and the kernel runner take. SC108 when the expansion is
 * larger than they take.
 */
export function parseScenario(src: string, file: string): Scenario {
  return expandScenario(parseWorkload(src, file));
}
