/**
 * What on-call reads first when an action fails: the `error` output (one line, the root cause, not a
 * tool's progress chatter) and the `failure-kind` output (a closed set per action, so notify can write
 * next steps for it). Hosts call `describeFailure` on every failure path; commands only declare their
 * kinds and, where the generic rules cannot tell, how to classify.
 */
import { CancelledError, IntegrityError, isAbortError, UserError } from '../util/errors.js';
import { redact } from '../util/secrets.js';

export interface FailureOutputs {
  error: string;
  'failure-kind': string;
}

/** Errors that came out of a Storage call (see storage/tagged.ts): marked without changing them. */
const storageErrors = new WeakSet<object>();

export function markStorageError(err: unknown): void {
  if (err !== null && typeof err === 'object') storageErrors.add(err);
}

function chain(err: unknown): unknown[] {
  const out: unknown[] = [];
  for (let cur = err, depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    out.push(cur);
    if (cur instanceof AggregateError) out.push(...cur.errors);
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return out;
}

const code = (e: unknown): string => String((e as { code?: unknown } | null)?.code ?? '');

export function isStorageFailure(err: unknown): boolean {
  return chain(err).some((e) => e !== null && typeof e === 'object' && storageErrors.has(e));
}

export function isCancelled(err: unknown): boolean {
  return chain(err).some((e) => e instanceof CancelledError) || (isAbortError(err) && !(err as Error).cause);
}

/** A PostgreSQL privilege error (SQLSTATE 42501), from the driver or quoted by pg_dump/psql. */
export function isPermissionDenied(err: unknown): boolean {
  return chain(err).some(
    (e) => code(e) === '42501' || /\bpermission denied for\b|must be (owner|superuser)/i.test(messageOf(e)),
  );
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** The database could not be reached or refused the login (network, TLS, authentication, no such database). */
export function isConnectFailure(err: unknown): boolean {
  return chain(err).some(
    (e) =>
      (e instanceof Error && e.name === 'ConnectError') ||
      NETWORK_CODES.has(code(e)) ||
      /^(08|28)/.test(code(e)) ||
      code(e) === '3D000' ||
      /^cannot connect to /.test(messageOf(e)) ||
      /^(pg_dump|pg_restore|psql): error: connection to server/.test(messageOf(e)),
  );
}

export function isIntegrityFailure(err: unknown): IntegrityError | undefined {
  return chain(err).find((e): e is IntegrityError => e instanceof IntegrityError);
}

/**
 * The kind of a failure: cancelled; then the action's own `classify` (which must leave alone what the
 * shared rules know); then config, storage, integrity, permission, connect; `other` when nothing matches.
 */
export function classifyFailure(
  err: unknown,
  kinds: readonly string[],
  classify?: (err: unknown) => string | undefined,
): string {
  const has = (k: string): string | undefined => (kinds.includes(k) ? k : undefined);
  if (isCancelled(err)) return 'cancelled';
  const own = classify?.(err);
  if (own && kinds.includes(own)) return own;
  if (err instanceof UserError) return 'config';
  const kind =
    (isStorageFailure(err) && has('storage')) ||
    (isIntegrityFailure(err) && has('integrity')) ||
    (isPermissionDenied(err) && has('permission')) ||
    (isConnectFailure(err) && has('connect')) ||
    undefined;
  return kind ?? 'other';
}

function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return e === undefined || e === null ? '' : String(e);
}

/**
 * A tool's error line, e.g. `pg_dump: error: query failed: ERROR:  permission denied for table t`,
 * `psql:…: ERROR:  …`, `gpg: decryption failed: Bad session key`. Progress lines (`pg_dump: dumping
 * contents of table …`, `pg_dump: last built-in OID is …`) never match.
 */
const TOOL_ERROR =
  /^(?:(?:pg_dump|pg_dumpall|pg_restore|psql)(?: failed)?(?::[^\n]*?)?: (?:error|fatal|FATAL|ERROR|PANIC)\b.*|gpg: (?:decryption failed|[^\n]*\bfailed\b).*)$/m;

const MAX_ERROR = 500;

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_ERROR ? `${flat.slice(0, MAX_ERROR - 1)}…` : flat;
}

/**
 * The root cause of `err` in one line, secrets redacted: a tool's own error line when there is one (the
 * innermost), otherwise the cause chain's messages (outer context first, each once, each cut to its first
 * line so a quoted stderr tail of progress chatter stays out).
 */
export function rootCauseMessage(err: unknown): string {
  const links = chain(err);
  for (const e of [...links].reverse()) {
    for (const text of [messageOf(e), String((e as { stderr?: unknown } | null)?.stderr ?? '')]) {
      const m = TOOL_ERROR.exec(text);
      if (m) return redact(oneLine(m[0]));
    }
  }
  const parts: string[] = [];
  for (const e of links) {
    if (e instanceof AggregateError && !e.message) continue;
    if (isAbortError(e) && links.length > 1) continue;
    let msg = messageOf(e);
    // A process error quotes its stderr tail after the first line: keep the first line only.
    msg = (msg.split('\n')[0] ?? '').trim();
    if ((e as { stderr?: unknown } | null)?.stderr && msg.includes(': ')) {
      const tailStart = String((e as { stderr: string }).stderr)
        .trim()
        .split('\n')
        .slice(-5)[0]
        ?.trim();
      if (tailStart && msg.includes(`: ${tailStart}`)) msg = msg.slice(0, msg.indexOf(`: ${tailStart}`));
    }
    if (!msg || parts.some((p) => p.includes(msg))) continue;
    parts.push(msg);
  }
  return redact(oneLine(parts.join(': ') || 'unknown error'));
}

/** Both failure outputs of an error thrown by an action. */
export function describeFailure(
  err: unknown,
  kinds: readonly string[],
  classify?: (err: unknown) => string | undefined,
): FailureOutputs {
  return { error: rootCauseMessage(err), 'failure-kind': classifyFailure(err, kinds, classify) };
}

/** The `error` output for a failure verdict given as text (monitor's criticals, verify's mismatches). */
export function failureLine(message: string): string {
  return redact(oneLine(message));
}
