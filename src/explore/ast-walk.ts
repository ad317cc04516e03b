/** Walking a scenario's syntax tree generically (the symmetries' soundness checks). */

export type Node = Record<string, unknown>;

export function isNode(x: unknown): x is Node {
  return x !== null && typeof x === 'object' && !Array.isArray(x);
}

/** Each object below `x` (arrays walked through), with the object holding it; positions skipped. */
export function eachNode(
  x: unknown,
  parent: Node | null,
  fn: (n: Node, parent: Node | null) => void,
): void {
  if (Array.isArray(x)) {
    for (const y of x) eachNode(y, parent, fn);
    return;
  }
  if (!isNode(x)) return;
  fn(x, parent);
  for (const k of Object.keys(x)) if (k !== 'pos') eachNode(x[k], x, fn);
}
