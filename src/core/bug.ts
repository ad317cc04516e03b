/**
 * Tool bugs: states the model should never reach whatever the scenario says.
 * They are a third kind of outcome, distinct from input errors and from model
 * verdicts (a broken kernel invariant is a verdict, returned as data); the CLI
 * reports them as "the model is wrong, please report", with a replay token.
 */
export class ToolBug extends Error {
  override readonly name = 'ToolBug';
}

export function toolBug(message: string): never {
  throw new ToolBug(message);
}
