/**
 * Input errors: anything wrong with what the user gave (scenario syntax,
 * unknown names, an operation that cannot be carried out). Each has a code,
 * a message and a file:line:column; the CLI prints them and exits with 2.
 */

import type { Pos } from './ast.js';

export const ERROR_CODES = {
  SC001: 'unexpected character',
  SC002: 'syntax error',
  SC003: 'unknown name',
  SC004: 'bad value',
  SC005: 'duplicate definition',
  SC006: 'unknown era',
  SC007: 'thread never started or started twice',
  SC008: 'missing section',
  SC009: 'loops too large to expand',
  SC010: 'nested too deeply',
  SC101: 'operation cannot be carried out',
  SC102: 'deadlock: every remaining thread waits',
  SC103: 'step limit reached',
  CLI001: 'unknown era',
  CLI002: 'cannot read input',
  CLI003: 'era not modelled yet',
  CLI004: 'a checkpoint that is not one, or is of another run',
  VW001: 'the viewer cannot serve there',
  VW002: 'not a trace or a simulation result',
  VW003: 'the output directory holds files of something else',
  VW004: 'not among the inputs of this viewer',
  RP001: 'not a replay token',
  RP002: 'replay token does not fit the scenario',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class InputError extends Error {
  override readonly name = 'InputError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly file: string,
    readonly pos: Pos | null,
  ) {
    super(message);
  }

  /** "file:line:col: error SC002: message" */
  format(): string {
    const where = this.pos ? `${this.file}:${this.pos.line}:${this.pos.col}` : this.file;
    return `${where}: error ${this.code}: ${this.message}`;
  }
}
