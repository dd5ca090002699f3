/** Retries of the GitHub/webhook HTTP calls: which answers are retried, how long we wait, when we give up. */
import { describe, expect, it } from 'vitest';
import { GitHubRestClient } from '../../src/core/github/client.js';
import {
  type FetchLike,
  HttpError,
  isRetryable,
  parseRetryAfter,
  requestWithRetry,
} from '../../src/core/github/http.js';

function answers(...list: Array<number | [number, Record<string, string>] | Error>): {
  fetch: FetchLike;
  calls: Array<{ url: string; init: RequestInit }>;
} {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init });
    const a = list.shift() ?? 200;
    if (a instanceof Error) throw a;
    const [status, headers] = Array.isArray(a) ? a : [a, {}];
    return new Response(status === 204 ? null : JSON.stringify(status < 300 ? [] : { message: `boom ${status}` }), {
      status,
      headers,
    });
  };
  return { fetch, calls };
}

describe('parseRetryAfter', () => {
  it.each([
    [null, null],
    ['', null],
    ['3', 3000],
    ['0', 0],
    ['1.5', 1500],
    ['soon', null],
    ['Wed, 25 Nov 2026 19:00:10 GMT', 10_000],
    ['Wed, 25 Nov 2026 18:59:00 GMT', 0],
  ])('%s → %s ms', (value, ms) => {
    expect(parseRetryAfter(value, Date.parse('2026-11-25T19:00:00Z'))).toBe(ms);
  });
});

describe('isRetryable', () => {
  it.each([
    [500, {}, true],
    [502, {}, true],
    [503, {}, true],
    [429, {}, true],
    [403, { 'retry-after': '10' }, true],
    [403, { 'x-ratelimit-remaining': '0' }, true],
    [403, {}, false],
    [401, {}, false],
    [404, {}, false],
    [422, {}, false],
  ])('%i %j → %s', (status, headers, expected) => {
    expect(isRetryable(status, new Headers(headers))).toBe(expected);
  });
});

describe('requestWithRetry', () => {
  const noSleep = { sleep: async () => {}, random: () => 0.5 };

  it('retries a 503 and returns the next 200', async () => {
    const { fetch, calls } = answers(503, 200);
    const res = await requestWithRetry('http://x/a', { method: 'GET' }, 'GET /a', { fetch, ...noSleep });
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(2);
  });

  it('waits with exponential backoff, and as long as Retry-After asks', async () => {
    const waits: number[] = [];
    const { fetch } = answers(500, 502, [429, { 'retry-after': '7' }], 200);
    await requestWithRetry('http://x/a', {}, 'GET /a', {
      fetch,
      sleep: async (ms) => {
        waits.push(ms);
      },
      random: () => 0.5,
      retry: { attempts: 5, baseDelayMs: 100 },
    });
    expect(waits).toEqual([100, 200, 7000]);
  });

  it('gives up after the attempts, naming the status and the service message', async () => {
    const { fetch, calls } = answers(503, 503, 503, 503, 200);
    const err = await requestWithRetry('http://x/a', {}, 'GET /a', { fetch, ...noSleep }).catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toBe('GET /a answered 503: boom 503 (gave up after 4 attempts)');
    expect(calls).toHaveLength(4);
  });

  it('does not retry a 404 or a 401', async () => {
    for (const status of [404, 401, 422]) {
      const { fetch, calls } = answers(status, 200);
      const err = await requestWithRetry('http://x/a', {}, 'GET /a', { fetch, ...noSleep }).catch((e) => e);
      expect(err.status).toBe(status);
      expect(calls).toHaveLength(1);
    }
  });

  it('gives up at once when Retry-After is beyond the bound', async () => {
    const { fetch, calls } = answers([429, { 'retry-after': '3600' }], 200);
    const err = await requestWithRetry('http://x/a', {}, 'GET /a', { fetch, ...noSleep }).catch((e) => e);
    expect(err.message).toMatch(/retry after 3600s: giving up/);
    expect(calls).toHaveLength(1);
  });

  it('retries network errors', async () => {
    const { fetch, calls } = answers(new TypeError('fetch failed'), 200);
    await requestWithRetry('http://x/a', {}, 'GET /a', { fetch, ...noSleep });
    expect(calls).toHaveLength(2);
  });
});

describe('GitHubRestClient', () => {
  it('sends the token only in the Authorization header and never in an error', async () => {
    const token = 'ghs_SECRETSECRET';
    const { fetch, calls } = answers(403);
    const client = new GitHubRestClient('https://ghe.example/api/v3/', token, { fetch, sleep: async () => {} });
    const err = await client.listOpenIssues({ owner: 'o', repo: 'r' }, 'backup-failure').catch((e) => e);
    expect(calls[0]?.url).toBe(
      'https://ghe.example/api/v3/repos/o/r/issues?state=open&labels=backup-failure&per_page=100&page=1',
    );
    expect((calls[0]?.init.headers as Record<string, string> | undefined)?.authorization).toBe(`Bearer ${token}`);
    expect(err.message).toBe('GET /repos/o/r/issues answered 403: boom 403');
    expect(JSON.stringify(err)).not.toContain(token);
  });

  it('reads every page of open issues and skips pull requests', async () => {
    const page = (from: number, n: number, pr = false) =>
      Array.from({ length: n }, (_, i) => ({
        number: from + i,
        title: 't',
        body: '',
        state: 'open',
        html_url: 'u',
        ...(pr && i === 0 ? { pull_request: {} } : {}),
      }));
    const bodies = [page(1, 100), page(101, 3, true)];
    const fetch: FetchLike = async () =>
      new Response(JSON.stringify(bodies.shift()), {
        status: 200,
        headers: bodies.length ? { link: '<http://x?page=2>; rel="next"' } : {},
      });
    const issues = await new GitHubRestClient('http://x', 't', { fetch }).listOpenIssues(
      { owner: 'o', repo: 'r' },
      'l',
    );
    expect(issues).toHaveLength(102);
    expect(issues.map((i) => i.number)).not.toContain(101);
  });
});
