/**
 * Tokens of the scenario language. Newlines are tokens (they end statements);
 * `#` starts a comment. Numbers take binary unit suffixes (K M G T, or KiB
 * MiB GiB TiB): `2M` is 2 MiB. Names with dots and dashes (scenario names,
 * era ids) are read by `word()`, on the parser's request, because in
 * expressions `r1-r0` is a subtraction.
 */

import type { Pos } from './ast.js';
import { InputError } from './errors.js';

export type TokType = 'ident' | 'num' | 'str' | 'punct' | 'nl' | 'eof';

export interface Token {
  readonly type: TokType;
  readonly text: string;
  readonly pos: Pos;
  /** For 'num': the value (units applied) and whether a unit was written. */
  readonly value?: number;
  readonly unit?: boolean;
  /** Offset of the token's first character in the source. */
  readonly start: number;
}

const UNITS: Record<string, number> = {
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

const PUNCT = [
  '->',
  '..',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '/\\',
  '\\/',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  ';',
  ',',
  ':',
  '=',
  '<',
  '>',
  '!',
  '~',
  '+',
  '-',
  '*',
  '/',
  '%',
];

export class Lexer {
  private i = 0;
  private line = 1;
  private col = 1;
  private peeked: Token | null = null;
  /** Open parentheses: inside them a line break is only white space (a condition may span lines). */
  private depth = 0;
  /** Whether the last ')' scanned closed an open parenthesis (for rewind()). */
  private closed = false;

  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  private err(message: string, pos: Pos): never {
    throw new InputError('SC001', message, this.file, pos);
  }

  private advance(n: number): void {
    for (let k = 0; k < n; k++) {
      if (this.src[this.i] === '\n') {
        this.line++;
        this.col = 1;
      } else {
        this.col++;
      }
      this.i++;
    }
  }

  private skipSpace(): void {
    for (;;) {
      const c = this.src[this.i];
      if (c === ' ' || c === '\t' || c === '\r') this.advance(1);
      else if (c === '#') {
        while (this.i < this.src.length && this.src[this.i] !== '\n') this.advance(1);
      } else return;
    }
  }

  peek(): Token {
    this.peeked ??= this.scan();
    return this.peeked;
  }

  next(): Token {
    const t = this.peek();
    this.peeked = null;
    return t;
  }

  /**
   * A raw name: letters, digits and `_ . - + *`, as used by scenario names
   * and era ids. Must not be called with a token peeked.
   */
  word(): Token {
    if (this.peeked) {
      // Re-scan from the peeked token's start.
      const t = this.peeked;
      this.peeked = null;
      this.rewind(t);
    }
    this.skipSpace();
    const pos = { line: this.line, col: this.col };
    const start = this.i;
    while (this.i < this.src.length && /[A-Za-z0-9_.+*/-]/.test(this.src[this.i]!)) this.advance(1);
    if (this.i === start) return this.scan();
    return { type: 'ident', text: this.src.slice(start, this.i), pos, start };
  }

  private rewind(t: Token): void {
    if (t.type === 'punct' && t.text === '(') this.depth--;
    if (t.type === 'punct' && t.text === ')' && this.closed) this.depth++;
    this.i = t.start;
    this.line = t.pos.line;
    this.col = t.pos.col;
  }

  private scan(): Token {
    this.skipSpace();
    const pos = { line: this.line, col: this.col };
    const start = this.i;
    if (this.i >= this.src.length) return { type: 'eof', text: '', pos, start };
    const c = this.src[this.i]!;
    if (c === '\n') {
      this.advance(1);
      if (this.depth > 0) return this.scan();
      return { type: 'nl', text: '\n', pos, start };
    }
    if (/[A-Za-z_]/.test(c)) {
      while (this.i < this.src.length && /[A-Za-z0-9_]/.test(this.src[this.i]!)) this.advance(1);
      return { type: 'ident', text: this.src.slice(start, this.i), pos, start };
    }
    if (/[0-9]/.test(c)) return this.number(pos);
    if (c === '"') return this.string(pos);
    for (const p of PUNCT) {
      if (this.src.startsWith(p, this.i)) {
        this.advance(p.length);
        if (p === '(') this.depth++;
        if (p === ')') {
          this.closed = this.depth > 0;
          if (this.closed) this.depth--;
        }
        return { type: 'punct', text: p, pos, start };
      }
    }
    return this.err(`unexpected character ${describeChar(c)}`, pos);
  }

  private number(pos: Pos): Token {
    const start = this.i;
    let value: number;
    if (this.src.startsWith('0x', this.i) || this.src.startsWith('0X', this.i)) {
      this.advance(2);
      const d = this.i;
      while (this.i < this.src.length && /[0-9a-fA-F_]/.test(this.src[this.i]!)) this.advance(1);
      if (this.i === d) this.err('hexadecimal number without digits', pos);
      value = Number.parseInt(this.src.slice(d, this.i).replaceAll('_', ''), 16);
    } else {
      while (this.i < this.src.length && /[0-9_]/.test(this.src[this.i]!)) this.advance(1);
      value = Number.parseInt(this.src.slice(start, this.i).replaceAll('_', ''), 10);
    }
    let unit = false;
    for (const u of ['KiB', 'MiB', 'GiB', 'TiB', 'K', 'M', 'G', 'T']) {
      if (
        this.src.startsWith(u, this.i) &&
        !/[A-Za-z0-9_]/.test(this.src[this.i + u.length] ?? ' ')
      ) {
        value *= UNITS[u]!;
        this.advance(u.length);
        unit = true;
        break;
      }
    }
    if (/[A-Za-z_]/.test(this.src[this.i] ?? ' ')) {
      this.err(
        `bad number '${this.src.slice(start, this.i + 1)}': units are K M G T (or KiB MiB GiB TiB)`,
        pos,
      );
    }
    if (!Number.isSafeInteger(value)) this.err('number too large', pos);
    return { type: 'num', text: this.src.slice(start, this.i), pos, value, unit, start };
  }

  private string(pos: Pos): Token {
    const start = this.i;
    this.advance(1);
    let out = '';
    for (;;) {
      const c = this.src[this.i];
      if (c === undefined || c === '\n') this.err('unterminated string', pos);
      this.advance(1);
      if (c === '"') break;
      if (c === '\\') {
        const e = this.src[this.i];
        this.advance(1);
        out += e === 'n' ? '\n' : (e ?? '');
      } else {
        out += c;
      }
    }
    return { type: 'str', text: out, pos, start };
  }
}

/** A character as an error message names it: printable ones quoted, the others by code point and name. */
export function describeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
  const names: Record<number, string> = {
    0: 'NUL',
    9: 'tab',
    13: 'carriage return',
    160: 'no-break space',
    8203: 'zero-width space',
    65279: 'byte order mark: save the file as UTF-8 without one',
  };
  if (names[cp] !== undefined) return `${hex} (${names[cp]})`;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return `${hex} (a control character)`;
  if (/\s/u.test(c) || /\p{Cf}/u.test(c)) return `${hex} (an invisible character)`;
  return `'${c}' (${hex})`;
}
