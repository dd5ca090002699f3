/**
 * JSON over HTTP with bounded retries, for the GitHub REST API and chat webhooks: 5xx, 429, GitHub's
 * secondary rate limit (403 with Retry-After or x-ratelimit-remaining: 0) and network errors are retried
 * with exponential backoff and jitter; a Retry-After header is honoured up to `maxRetryAfterMs`, beyond which
 * we give up rather than block the job. Errors never carry the request's headers (the token) or URL query.
 */
import { describeError } from '../../util/errors.js';

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First backoff; doubles each retry, with ±25 % jitter. */
  baseDelayMs: number;
  /** Longest single wait, Retry-After included; a longer Retry-After ends the retries. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxRetryAfterMs: 60_000 };

/**
 * Whether a failure proves the request was not carried out. A POST that failed otherwise (a 5xx, a reset
 * after sending) may have been done: retrying it blindly would open a second issue or post twice.
 */
export function provablyNotDone(err: unknown): boolean {
  if (!(err instanceof HttpError)) return false;
  if (err.status === 429) return true;
  if (err.status !== null) return err.status === 403 && err.rateLimited;
  const code = (err.cause as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}

export interface HttpDeps {
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  retry?: Partial<RetryPolicy>;
  /** Called before each retry, for the log. */
  onRetry?: (message: string) => void;
  random?: () => number;
}

/** An HTTP answer we did not want (after retries), with the service's own message when it gave one. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    message: string,
    readonly status: number | null,
    readonly serviceMessage: string,
    options?: ErrorOptions,
    readonly rateLimited = false,
  ) {
    super(message, options);
  }
}

const sleepFor = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Retry-After: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const t = value.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1000);
  const at = Date.parse(t);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export function isRetryable(status: number, headers: Headers): boolean {
  if (status >= 500 || status === 429) return true;
  // GitHub's secondary rate limits answer 403 with Retry-After or an exhausted primary limit.
  return status === 403 && (headers.has('retry-after') || headers.get('x-ratelimit-remaining') === '0');
}

/** The service's error text: GitHub's `{"message": …}`, or the first 200 characters of the body. */
async function serviceMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const j = JSON.parse(text) as { message?: unknown; errors?: Array<{ message?: string; code?: string }> };
    const extra = (j.errors ?? []).map((e) => e.message ?? e.code).filter(Boolean);
    if (typeof j.message === 'string') return extra.length ? `${j.message} (${extra.join('; ')})` : j.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 200).trim();
}

/**
 * Sends one request, retrying as described above. `what` names it in errors ("POST /repos/o/r/issues").
 * Resolves with the response of the first non-retryable answer when it is 2xx; throws HttpError otherwise.
 */
export async function requestWithRetry(
  url: string,
  init: RequestInit,
  what: string,
  deps: HttpDeps = {},
  /** false for requests that must not be repeated blindly (POST): only provably-not-done failures are retried. */
  idempotent = true,
): Promise<Response> {
  const policy = { ...DEFAULT_RETRY, ...deps.retry };
  const doFetch = deps.fetch ?? ((u, i) => fetch(u, i));
  const sleep = deps.sleep ?? sleepFor;
  const random = deps.random ?? Math.random;
  let lastError: HttpError | undefined;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    let waitMs = policy.baseDelayMs * 2 ** (attempt - 1) * (0.75 + random() * 0.5);
    let res: Response | undefined;
    try {
      res = await doFetch(url, init);
    } catch (err) {
      // fetch rejects on network errors (refused, reset, DNS): worth another try.
      lastError = new HttpError(`${what} failed: ${describeError(err)}`, null, '', { cause: err });
      if (!idempotent && !provablyNotDone(lastError)) throw lastError;
    }
    if (res) {
      if (res.ok) return res;
      const msg = await serviceMessage(res);
      const rateLimited = res.status === 429 || (res.status === 403 && isRetryable(res.status, res.headers));
      lastError = new HttpError(
        `${what} answered ${res.status}${msg ? `: ${msg}` : ''}`,
        res.status,
        msg,
        undefined,
        rateLimited,
      );
      if (!isRetryable(res.status, res.headers)) throw lastError;
      if (!idempotent && !provablyNotDone(lastError)) throw lastError;
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      if (retryAfter !== null) {
        if (retryAfter > policy.maxRetryAfterMs) {
          throw new HttpError(
            `${lastError.message} (asked to retry after ${Math.ceil(retryAfter / 1000)}s: giving up)`,
            res.status,
            msg,
          );
        }
        waitMs = retryAfter;
      }
    }
    if (attempt < policy.attempts) {
      deps.onRetry?.(
        `${lastError?.message}; retrying in ${(waitMs / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${policy.attempts})`,
      );
      await sleep(waitMs);
    }
  }
  throw new HttpError(
    `${lastError?.message ?? what} (gave up after ${policy.attempts} attempts)`,
    lastError?.status ?? null,
    lastError?.serviceMessage ?? '',
    { cause: lastError?.cause },
  );
}

/** POSTs `{"text": …}` to a Slack-compatible incoming webhook. The URL is a secret: it is never in errors. */
export async function postWebhook(url: string, payload: { text: string }, deps: HttpDeps = {}): Promise<void> {
  await requestWithRetry(
    url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'postgres-dr' },
      body: JSON.stringify(payload),
      signal: AbortSignal.timeout(15_000),
    },
    'POST webhook-url',
    deps,
  );
}
