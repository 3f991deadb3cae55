/**
 * The base of every error the triggerer raises on purpose: what is wrong, with what it concerns,
 * and, where there is one, what the user does next. Its subclasses live with the code that raises
 * them (InvalidTriggerRecord in intake.ts, UnknownEndpoint in connections.ts, ...); a caller can
 * `instanceof TriggererError` to tell them from anything unexpected. Never carries a secret.
 */
export class TriggererError extends Error {
  override name = 'TriggererError';
  /** What to do about it, when the message alone does not say. */
  readonly hint: string | undefined;

  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(options.hint ? `${message}: ${options.hint}` : message, { cause: options.cause });
    this.hint = options.hint;
  }
}
