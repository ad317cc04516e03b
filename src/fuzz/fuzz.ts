/**
 * The fuzzer (docs/reliability.md): scenario texts made by mutating the
 * library's files byte by byte and token by token, and by a small grammar of
 * the scenario language, each put through parse, check, the sequential run
 * and the explorer under a random era with small budgets. An input must end
 * in a verdict, a coded input error or a budget: anything else (an
 * exception, a tool bug, a run past its deadline) is a finding, with the
 * input that caused it.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { explore } from '../explore/explore.js';
import { PT_STRATEGIES } from '../policy/pt-strategies.js';
import { completeEraIds, policyById } from '../policy/registry.js';
import { checkScenario } from '../scenario/check.js';
import { InputError } from '../scenario/errors.js';
import { StepInterrupted } from '../scenario/machine.js';
import { parseScenario } from '../scenario/parse.js';
import { runSequential } from '../scenario/run.js';

/** How one input ended. */
export type FuzzOutcome =
  | { readonly kind: 'verdict' | 'input-error' | 'budget'; readonly detail: string }
  /** Findings: what must never happen. */
  | { readonly kind: 'crash' | 'tool-bug' | 'hang'; readonly detail: string };

export const FINDINGS: readonly FuzzOutcome['kind'][] = ['crash', 'tool-bug', 'hang'];

export interface FuzzBudget {
  /** Wall time one stage (run, explore) may take before the budget ends it. */
  readonly millis: number;
  /** Past this much wall time for the whole input, the budget was not honoured: a hang. */
  readonly hangMillis: number;
  readonly maxStates: number;
  readonly maxSteps: number;
  readonly clock: () => number;
  /** A memory budget (bytes, as `memory()` measures), for run and explore alike. */
  readonly maxBytes?: number;
  readonly memory?: () => number;
}

/**
 * The budgets the fuzzer runs each input with (the script's and the suite's,
 * which pass a more generous hang limit): 300 ms per stage, 400 states and
 * steps, and 1.5 GiB of heap and typed arrays.
 */
export function fuzzBudget(over: Partial<FuzzBudget> = {}): FuzzBudget {
  return {
    millis: 300,
    hangMillis: 5000,
    maxStates: 400,
    maxSteps: 400,
    clock: () => performance.now(),
    maxBytes: 1.5 * 2 ** 30,
    memory: () => {
      const u = process.memoryUsage();
      return u.heapUsed + u.arrayBuffers;
    },
    ...over,
  };
}

/** The texts of every scenario file under `dir` (the library the mutations start from), in path order. */
export function fuzzLibrary(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.cow')) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/** Put one scenario text through parse, check, run and explore under `era`. */
export function fuzzOne(text: string, era: string, b: FuzzBudget): FuzzOutcome {
  const t0 = b.clock();
  const out = stages(text, era, b);
  const took = b.clock() - t0;
  if (took > b.hangMillis && !FINDINGS.includes(out.kind))
    return { kind: 'hang', detail: `${out.kind} after ${Math.round(took)} ms: ${out.detail}` };
  return out;
}

function stages(text: string, era: string, b: FuzzBudget): FuzzOutcome {
  const policy = policyById(era);
  const failed = (stage: string, e: unknown): FuzzOutcome => {
    if (e instanceof InputError) return { kind: 'input-error', detail: `${stage}: ${e.code}` };
    if (e instanceof StepInterrupted) return { kind: 'budget', detail: `${stage}: ${e.budget}` };
    const err = e instanceof Error ? e : new Error(String(e));
    const at = (err.stack ?? '').split('\n').find((l) => /^\s+at /.test(l)) ?? '';
    return { kind: 'crash', detail: `${stage}: ${err.name}: ${err.message} ${at.trim()}` };
  };
  let sc: ReturnType<typeof parseScenario>;
  try {
    sc = parseScenario(text, 'fuzz.cow');
    checkScenario(sc);
  } catch (e) {
    return failed('parse', e);
  }
  const deadline = (start: number) => () =>
    b.clock() - start > b.millis
      ? 'time'
      : b.memory && b.maxBytes !== undefined && b.memory() > b.maxBytes
        ? 'memory'
        : null;
  try {
    const r = runSequential(sc, policy, { maxSteps: b.maxSteps, interrupt: deadline(b.clock()) });
    if (r.kind === 'tool-bug')
      return {
        kind: 'tool-bug',
        detail: `run: ${r.violations.map((v) => `${v.code} ${v.detail}`).join('; ')}`,
      };
  } catch (e) {
    const f = failed('run', e);
    if (f.kind !== 'input-error' && f.kind !== 'budget') return f;
  }
  try {
    const r = explore(sc, policy, {
      maxStates: b.maxStates,
      maxMillis: b.millis,
      clock: b.clock,
      ...(b.memory && b.maxBytes !== undefined ? { memory: b.memory, maxBytes: b.maxBytes } : {}),
    });
    if (r.kind === 'tool-bug')
      return {
        kind: 'tool-bug',
        detail: `explore: ${r.violations.map((v) => `${v.code} ${v.detail}`).join('; ')}`,
      };
    if (r.kind === 'limit') return { kind: 'budget', detail: `explore: ${r.limit}` };
    return { kind: 'verdict', detail: r.verdict };
  } catch (e) {
    return failed('explore', e);
  }
}

/* ---------------- inputs ---------------- */

/** Pieces of scenario text a token-level mutation inserts. */
const TOKENS = [
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '..',
  ',',
  '->',
  '==',
  '!',
  '-',
  '%',
  '/ 0',
  '% 0',
  '0',
  '-1',
  '4294967296',
  '9007199254740993',
  '99999999999999999999',
  '0x',
  'len=1T',
  'len=4G',
  'pages=0',
  'pages=100000',
  'step 0',
  'repeat 3 {',
  'repeat i in 0..100000 {',
  'fork',
  'wait',
  'exit',
  'exit 300',
  'thread',
  'setup {',
  'env reclaim',
  'env lru_batches',
  'env ksmd',
  'env khugepaged',
  'memfd f pages=2',
  'tmpfile f pages=2 fs=ext4',
  'madvise m pageout',
  'madvise m dontneed',
  'madvise m hugepage',
  'munmap m',
  'ksm_scan',
  'pin',
  'unpin',
  'vmsplice',
  'signal e',
  'await e',
  '\u0000',
  '\ufeff',
  '\u00a0',
  '"',
  '#',
  '\n',
  ';',
];

type Mutation =
  | { readonly op: 'delete'; readonly at: number; readonly len: number }
  | { readonly op: 'insert'; readonly at: number; readonly token: string }
  | { readonly op: 'dupline'; readonly at: number }
  | { readonly op: 'swaplines'; readonly a: number; readonly b: number }
  | { readonly op: 'number'; readonly at: number; readonly value: string }
  | { readonly op: 'truncate'; readonly at: number };

const frac = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: frac, len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('insert' as const), at: frac, token: fc.constantFrom(...TOKENS) }),
  fc.record({
    op: fc.constant('insert' as const),
    at: frac,
    token: fc.string({ minLength: 1, maxLength: 4, unit: 'binary' }),
  }),
  fc.record({ op: fc.constant('dupline' as const), at: frac }),
  fc.record({ op: fc.constant('swaplines' as const), a: frac, b: frac }),
  fc.record({
    op: fc.constant('number' as const),
    at: frac,
    value: fc.constantFrom(
      '0',
      '1',
      '-1',
      '511',
      '512',
      '4096',
      '65536',
      '2147483648',
      '1e9',
      '1T',
    ),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: frac }),
);

/** Apply one mutation to a text. */
export function mutate(text: string, m: Mutation): string {
  const pos = (f: number) => Math.floor(f * (text.length + 1));
  const lines = text.split('\n');
  const line = (f: number) => Math.floor(f * lines.length);
  switch (m.op) {
    case 'delete':
      return text.slice(0, pos(m.at)) + text.slice(pos(m.at) + m.len);
    case 'insert':
      return `${text.slice(0, pos(m.at))} ${m.token} ${text.slice(pos(m.at))}`;
    case 'dupline': {
      const i = line(m.at);
      return [...lines.slice(0, i + 1), ...lines.slice(i)].join('\n');
    }
    case 'swaplines': {
      const out = lines.slice();
      const [i, j] = [line(m.a), line(m.b)];
      [out[i], out[j]] = [out[j]!, out[i]!];
      return out.join('\n');
    }
    case 'number': {
      // The first number at or after the position.
      const at = pos(m.at);
      const rest = text.slice(at).replace(/\d+/, m.value);
      return text.slice(0, at) + rest;
    }
    case 'truncate':
      return text.slice(0, pos(m.at));
  }
}

/** A library file with one to four mutations. */
export function mutatedInput(library: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...library), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([text, ms]) => ms.reduce(mutate, text));
}

const names = fc.constantFrom('m', 'n', 'q');
const threads = fc.constantFrom('a', 'b', 'c');
const small = fc.integer({ min: -2, max: 600 });
const ref = fc.oneof(
  names,
  fc.tuple(names, small).map(([n, i]) => `${n}[${i}]`),
  fc.tuple(names, small, small).map(([n, i, j]) => `${n}[${i}..${j}]`),
);

const statement: fc.Arbitrary<string> = fc.oneof(
  fc
    .tuple(
      names,
      fc.constantFrom('pages=1', 'pages=4', 'pages=512', 'len=2M', 'len=4M'),
      fc.constantFrom('private', 'shared'),
      fc.constantFrom('rw', 'r', 'none'),
    )
    .map(([n, size, share, prot]) => `mmap ${n} ${size} ${share} ${prot}`),
  fc.tuple(ref, small).map(([r, v]) => `write ${r} = ${v}`),
  fc.tuple(ref, fc.constantFrom('', ' -> r', ' -> s')).map(([r, reg]) => `read ${r}${reg}`),
  threads.map((t) => `fork ${t}`),
  threads.map((t) => `wait ${t}`),
  fc.constantFrom('exit', 'exit 1', 'ksm_scan', 'signal e', 'await e'),
  fc
    .tuple(
      names,
      fc.constantFrom(
        'dontneed',
        'pageout',
        'hugepage',
        'nohugepage',
        'mergeable',
        'dontfork',
        'collapse',
        'cleanup_pgtable',
        'remove',
      ),
    )
    .map(([n, a]) => `madvise ${n} ${a}`),
  names.map((n) => `munmap ${n}`),
  fc.tuple(names, fc.constantFrom('r', 'rw', 'none')).map(([n, p]) => `mprotect ${n} ${p}`),
);

const body = (depth: number): fc.Arbitrary<string[]> =>
  fc.array(
    depth > 0
      ? fc.oneof(
          { weight: 5, arbitrary: statement },
          {
            weight: 1,
            arbitrary: fc
              .tuple(fc.integer({ min: 0, max: 5 }), body(depth - 1))
              .map(([n, b]) => `repeat ${n} {\n${b.join('\n')}\n}`),
          },
        )
      : statement,
    { maxLength: 6 },
  );

/** A scenario from a small grammar of the language: some valid, most not quite. */
export const grammarInput: fc.Arbitrary<string> = fc
  .record({
    env: fc.subarray(['reclaim', 'lru_batches', 'ksmd', 'khugepaged']),
    setup: body(1),
    a: body(2),
    b: body(1),
    cond: fc.constantFrom('exists (1)', 'forall (r == 1)', 'exists (value(a, m[0]) == 3)'),
  })
  .map(
    ({ env, setup, a, b, cond }) =>
      `scenario fuzz\n${env.length ? `env ${env.join(', ')}\n` : ''}setup {\n${setup.join('\n')}\n}\nthread a {\n${a.join('\n')}\n}\nthread b {\n${b.join('\n')}\n}\n${cond}\n`,
  );

/** Inputs with the era each runs under. */
export function fuzzInputs(library: readonly string[]): fc.Arbitrary<[string, string]> {
  return fc.tuple(
    fc.oneof(
      { weight: 3, arbitrary: mutatedInput(library) },
      { weight: 1, arbitrary: grammarInput },
    ),
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...completeEraIds()) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          ...completeEraIds().flatMap((e) =>
            PT_STRATEGIES.filter((s) => s.modelled).map((s) => `${e}/${s.id}`),
          ),
        ),
      },
    ),
  );
}
