/**
 * POSTs `{"text": …}` to a Slack-compatible incoming webhook, through the environment's proxy. The URL is
 * a secret: it is never in errors. A post is repeated only when its failure proves it was not delivered
 * (429, connection refused, unknown host): after a 5xx or a reset it may have been, and on-call would
 * read the alert twice.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../util/errors.js';
import { type Fetch, proxyAwareFetch } from '../util/proxy-fetch.js';
import { HttpError, provablyNotDone } from './github/client.js';

export interface WebhookOptions {
  fetch?: Fetch;
  onRetry?: (message: string) => void;
  /** Attempts, the first included. Default 4. */
  attempts?: number;
  /** Multiplies every wait; tests pass 0. */
  waitScale?: number;
}

const LABEL = 'POST webhook-url';

export async function postWebhook(url: string, payload: { text: string }, o: WebhookOptions = {}): Promise<void> {
  const doFetch = o.fetch ?? proxyAwareFetch(15_000);
  const attempts = o.attempts ?? 4;
  const scale = o.waitScale ?? 1;
  for (let attempt = 1; ; attempt++) {
    let err: HttpError;
    let waitMs = 500 * 2 ** (attempt - 1);
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'postgres-dr' },
        body: JSON.stringify(payload),
      });
      if (res.ok) return;
      const text = (await res.text().catch(() => '')).slice(0, 200).trim();
      err = new HttpError(`${LABEL} answered ${res.status}${text ? `: ${text}` : ''}`, res.status, text);
      const retryAfter = Number(res.headers.get('retry-after'));
      if (res.status !== 429) throw err;
      if (retryAfter > 60)
        throw new HttpError(`${err.message} (asked to retry after ${retryAfter}s: giving up)`, 429, text);
      if (retryAfter >= 0 && res.headers.has('retry-after')) waitMs = retryAfter * 1000;
    } catch (e) {
      if (e instanceof HttpError) throw e;
      err = new HttpError(`${LABEL} failed: ${describeError(e)}`, null, '', { cause: e });
      if (!provablyNotDone(e)) throw err;
    }
    if (attempt >= attempts)
      throw new HttpError(`${err.message} (gave up after ${attempts} attempts)`, err.status, err.serviceMessage);
    o.onRetry?.(`${err.message}; retrying (attempt ${attempt + 1} of ${attempts})`);
    await sleep(waitMs * scale);
  }
}
