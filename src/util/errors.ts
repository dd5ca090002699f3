/**
 * A problem the user fixes by changing an input or the environment. Its message names the input and
 * says what to change; it is shown as is, without a stack trace.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/** The stored data is not what its manifest promises (corruption, truncation, wrong key, …). */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
  constructor(
    message: string,
    readonly kind:
      | 'checksum'
      | 'truncated'
      | 'size'
      | 'wrong-key'
      | 'decrypt'
      | 'missing-manifest'
      | 'table-mismatch'
      | 'restore'
      | 'unauthenticated',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The run was cancelled (SIGINT/SIGTERM, or an AbortSignal). */
export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** Node's AbortError ("The operation was aborted"): a stream or request stopped from outside, not a cause. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The message with each cause appended (`a: b: c`), for logs; secrets are redacted by the caller. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const msg = errorMessage(cur);
    if (!parts.some((p) => p.includes(msg))) parts.push(msg);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(': ');
}
