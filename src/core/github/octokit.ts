/**
 * The GitHubIssues port over GitHub's REST API with Octokit: @octokit/core (the client @actions/github
 * wraps, used directly so the core imports no @actions/* and the CLI shares it) with plugin-retry (5xx and
 * network errors, backoff) and plugin-throttling (rate limits, waiting as long as Retry-After asks).
 * GITHUB_API_URL makes it work with GitHub Enterprise Server; the token needs `issues: write`.
 *
 * One rule on top of the plugins: a POST that may have been carried out is never sent again blindly.
 * Only failures that prove it was not (a rate limit, a refused connection) are retried as such; after a
 * 5xx, a reset or a timeout we look for its effect (the issue, the comment) before posting again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Octokit } from '@octokit/core';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { RequestError } from '@octokit/request-error';
import Bottleneck from 'bottleneck/light.js';
import { describeError } from '../../util/errors.js';
import { type Fetch, proxyAwareFetch } from '../../util/proxy-fetch.js';
import {
  type GitHubIssues,
  HttpError,
  type Issue,
  type IssueUpdate,
  type NewIssue,
  provablyNotDone,
  type RepoRef,
} from './client.js';

export interface GitHubClientOptions {
  /** https://api.github.com, or a GitHub Enterprise Server's …/api/v3. */
  apiUrl: string;
  token: string;
  /** Told before each retry, for the log. */
  onRetry?: (message: string) => void;
  /** Attempts per request, the first included. Default 4. */
  attempts?: number;
  /** Longest Retry-After (or rate-limit reset) we wait for; a longer one ends the retries. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Multiplies every wait (backoff, Retry-After). 1 in use; tests pass 0 so retries take milliseconds. */
  waitScale?: number;
  fetch?: Fetch;
}

/** The first backoff; plugin-retry waits base × n² before retry n (0.25 s, 1 s, 2.25 s). */
const BACKOFF_BASE_MS = 250;
const MAX_PAGES = 10;

/**
 * One call's attempts, kept across the plugins' retries. A class instance, not a plain object: Octokit
 * deep-copies plain objects in request options, and this one must stay the same for the whole call.
 */
class CallState {
  attempt = 0;
  lastError = '';
  /** Set when a rate limit asked for a longer wait than we allow. */
  refusedWaitS?: number;
}

const stateOf = (o: { request?: unknown }): CallState =>
  (o.request as { call?: CallState } | undefined)?.call ?? new CallState();

const what = (method: string, url: string): string =>
  `${method} ${url.replace(/^https?:\/\/[^/]+/, '').replace(/\?.*$/, '')}`;

/**
 * The innermost hooks (the first plugin), run on every attempt inside the retry plugins' loops: count
 * attempts and log retries, and stop plugin-retry from repeating a POST whose failure leaves open whether
 * it was done.
 */
type AttemptOptions = { attempts?: { total: number; onRetry: (m: string) => void } };

function attemptHooks(octokit: Octokit, options: object) {
  const { total, onRetry } = (options as AttemptOptions).attempts ?? { total: 1, onRetry: () => {} };
  octokit.hook.before('request', (o) => {
    const s = stateOf(o);
    s.attempt += 1;
    if (s.attempt > 1) onRetry(`${s.lastError}; retrying (attempt ${s.attempt} of ${total})`);
  });
  octokit.hook.error('request', (error, o) => {
    stateOf(o).lastError = describeRequestError(error, what(o.method, expand(o.url, o)));
    // plugin-retry reads the retries left from the request options.
    if (o.method === 'POST' && !provablyNotDone(error)) (o.request as { retries?: number }).retries = 0;
    throw error;
  });
  return {};
}

function serviceMessage(data: unknown): string {
  if (typeof data === 'string') return data.slice(0, 200).trim();
  const j = data as { message?: unknown; errors?: Array<{ message?: string; code?: string }> } | null;
  if (typeof j?.message !== 'string') return '';
  const extra = (j.errors ?? []).map((e) => e.message ?? e.code).filter(Boolean);
  return extra.length ? `${j.message} (${extra.join('; ')})` : j.message;
}

function describeRequestError(error: unknown, label: string): string {
  if (error instanceof RequestError && error.response) {
    const msg = serviceMessage(error.response.data);
    return `${label} answered ${error.status}${msg ? `: ${msg}` : ''}`;
  }
  // Octokit wraps a failed fetch in a RequestError whose cause is fetch's own error (and its cause).
  return `${label} failed: ${describeError(error instanceof RequestError && error.cause ? error.cause : error)}`;
}

/** The plugins' error as ours: the service's message, how many attempts it took; never headers or query. */
function toHttpError(error: unknown, method: string, url: string, s: CallState): HttpError {
  let message = describeRequestError(error, what(method, url));
  if (s.refusedWaitS !== undefined) message += ` (asked to retry after ${s.refusedWaitS}s: giving up)`;
  else if (s.attempt > 1) message += ` (gave up after ${s.attempt} attempts)`;
  if (error instanceof RequestError && error.response) {
    return new HttpError(message, error.status, serviceMessage(error.response.data));
  }
  return new HttpError(message, null, '', { cause: error instanceof RequestError ? error.cause : error });
}

const GitHubOctokit = Octokit.plugin(attemptHooks, retry, throttling);

interface RawIssue {
  number: number;
  title: string;
  body?: string | null;
  state: string;
  html_url: string;
  labels?: Array<string | { name?: string }>;
  assignees?: Array<{ login: string }> | null;
  pull_request?: unknown;
}

function toIssue(r: RawIssue): Issue {
  return {
    number: r.number,
    title: r.title,
    body: r.body ?? '',
    state: r.state === 'closed' ? 'closed' : 'open',
    labels: (r.labels ?? []).map((l) => (typeof l === 'string' ? l : (l.name ?? ''))),
    assignees: (r.assignees ?? []).map((a) => a.login),
    url: r.html_url,
  };
}

export class OctokitIssues implements GitHubIssues {
  private readonly octokit: InstanceType<typeof GitHubOctokit>;
  private readonly attempts: number;
  private readonly waitScale: number;
  private readonly onRetry: (m: string) => void;

  constructor(o: GitHubClientOptions) {
    this.attempts = o.attempts ?? 4;
    this.waitScale = o.waitScale ?? 1;
    this.onRetry = o.onRetry ?? (() => {});
    const maxRetryAfterS = (o.maxRetryAfterMs ?? 60_000) / 1000;
    const onLimit = (
      retryAfter: number,
      options: { method: string; url: string; request: unknown },
      _o: unknown,
      retryCount: number,
    ): boolean => {
      if (retryAfter > maxRetryAfterS) {
        stateOf(options).refusedWaitS = retryAfter;
        return false;
      }
      return retryCount < this.attempts - 1;
    };
    this.octokit = new GitHubOctokit({
      attempts: { total: this.attempts, onRetry: this.onRetry },
      baseUrl: o.apiUrl.replace(/\/+$/, ''),
      auth: o.token,
      userAgent: 'postgres-dr',
      headers: { 'x-github-api-version': '2022-11-28' },
      request: { fetch: o.fetch ?? proxyAwareFetch() },
      // 429 and rate-limit 403s are the throttling plugin's, which honours Retry-After.
      retry: {
        retries: this.attempts - 1,
        retryAfterBaseValue: BACKOFF_BASE_MS * this.waitScale,
        doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451],
      },
      throttle: {
        onRateLimit: onLimit,
        onSecondaryRateLimit: onLimit,
        retryAfterBaseValue: 1000 * this.waitScale,
        // GitHub asks for a pause between writes when making many; a run makes at most four, one at a time.
        write: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
        notifications: new Bottleneck.Group({ maxConcurrent: 1, minTime: 0 }),
      },
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    });
  }

  private async call<T>(method: string, url: string, params: Record<string, unknown>): Promise<T> {
    const call = new CallState();
    try {
      return (await this.octokit.request(`${method} ${url}`, { ...params, request: { call } })).data as T;
    } catch (err) {
      throw toHttpError(err, method, expand(url, params), call);
    }
  }

  /**
   * A POST that must happen once: when it fails in a way that leaves open whether it was done (a 5xx, a
   * connection lost after sending), look for its effect before trying again.
   */
  private async postOnce<T>(send: () => Promise<T>, findDone: () => Promise<T | null>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (err) {
        const maybeDone = err instanceof HttpError && (err.status === null || err.status >= 500);
        if (!maybeDone || provablyNotDone(err.cause) || attempt >= this.attempts) throw err;
        const done = await findDone().catch(() => null);
        if (done) return done;
        this.onRetry(`${err.message}; not done, retrying (attempt ${attempt + 1} of ${this.attempts})`);
        await sleep(BACKOFF_BASE_MS * attempt ** 2 * this.waitScale);
      }
    }
  }

  async listOpenIssues(repo: RepoRef, label: string): Promise<Issue[]> {
    const out: Issue[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const data = await this.call<RawIssue[]>('GET', '/repos/{owner}/{repo}/issues', {
        ...repo,
        state: 'open',
        labels: label,
        per_page: 100,
        page,
      });
      for (const r of data) if (!r.pull_request) out.push(toIssue(r));
      if (data.length < 100) break;
    }
    return out;
  }

  async createIssue(repo: RepoRef, issue: NewIssue): Promise<Issue> {
    const body: Record<string, unknown> = { title: issue.title, body: issue.body, labels: issue.labels };
    if (issue.assignees.length) body.assignees = issue.assignees;
    const raw = await this.postOnce(
      () => this.call<RawIssue>('POST', '/repos/{owner}/{repo}/issues', { ...repo, ...body }),
      async () => {
        const recent = await this.call<RawIssue[]>('GET', '/repos/{owner}/{repo}/issues', {
          ...repo,
          state: 'open',
          labels: issue.labels[0] ?? '',
          per_page: 100,
          sort: 'created',
          direction: 'desc',
        });
        return recent.find((r) => !r.pull_request && r.title === issue.title && (r.body ?? '') === issue.body) ?? null;
      },
    );
    return toIssue(raw);
  }

  async createComment(repo: RepoRef, issueNumber: number, body: string): Promise<{ url: string }> {
    const url = '/repos/{owner}/{repo}/issues/{issue_number}/comments';
    const since = new Date(Date.now() - 10 * 60_000).toISOString();
    type Comment = { html_url: string; body?: string };
    const data = await this.postOnce(
      () => this.call<Comment>('POST', url, { ...repo, issue_number: issueNumber, body }),
      async () => {
        const recent = await this.call<Comment[]>('GET', url, {
          ...repo,
          issue_number: issueNumber,
          since,
          per_page: 100,
        });
        return recent.find((c) => c.body === body) ?? null;
      },
    );
    return { url: data.html_url };
  }

  async updateIssue(repo: RepoRef, issueNumber: number, update: IssueUpdate): Promise<Issue> {
    const body: Record<string, unknown> = {};
    if (update.state) body.state = update.state;
    if (update.stateReason) body.state_reason = update.stateReason;
    if (update.body !== undefined) body.body = update.body;
    return toIssue(
      await this.call<RawIssue>('PATCH', '/repos/{owner}/{repo}/issues/{issue_number}', {
        ...repo,
        issue_number: issueNumber,
        ...body,
      }),
    );
  }
}

/** The route with its path parameters filled in, for messages ("/repos/acme/app/issues"). */
function expand(route: string, params: Record<string, unknown>): string {
  return route.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(String(params[k])));
}
