/**
 * The GitHub port the incident logic needs (four issue calls), and its implementation over the REST API
 * with fetch. GITHUB_API_URL makes it work with GitHub Enterprise Server; the token needs `issues: write`.
 */
import { UserError } from '../../util/errors.js';
import { DEFAULT_RETRY, type HttpDeps, HttpError, requestWithRetry } from './http.js';

export interface RepoRef {
  owner: string;
  repo: string;
}

export interface Issue {
  number: number;
  title: string;
  body: string;
  state: 'open' | 'closed';
  labels: string[];
  assignees: string[];
  url: string;
}

export interface NewIssue {
  title: string;
  body: string;
  labels: string[];
  assignees: string[];
}

export interface IssueUpdate {
  state?: 'open' | 'closed';
  stateReason?: 'completed' | 'not_planned';
  body?: string;
}

export interface GitHubIssues {
  /** Open issues (not pull requests) carrying `label`, all pages up to a sane limit. */
  listOpenIssues(repo: RepoRef, label: string): Promise<Issue[]>;
  createIssue(repo: RepoRef, issue: NewIssue): Promise<Issue>;
  createComment(repo: RepoRef, issueNumber: number, body: string): Promise<{ url: string }>;
  updateIssue(repo: RepoRef, issueNumber: number, update: IssueUpdate): Promise<Issue>;
}

export function parseRepository(value: string, input = 'repository'): RepoRef {
  const m = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)$/.exec(value.trim());
  if (!m) throw new UserError(`'${input}' must be owner/name, like octo-org/app (got '${value}')`);
  return { owner: m[1] as string, repo: m[2] as string };
}

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

/** What a failed call means for the user, when we know (permissions, a missing repository, …). */
export function explainGitHubError(err: unknown): string {
  if (!(err instanceof HttpError)) return '';
  if (err.status === 401) return 'the token was refused: check github-token';
  if (err.status === 403) {
    return "the token may not write issues: give the job `permissions: issues: write` (or a token with the 'issues' scope)";
  }
  if (err.status === 404) return 'the repository was not found, or the token cannot see it';
  if (err.status === 410) return 'issues are disabled in this repository';
  return '';
}

const MAX_PAGES = 10;

export class GitHubRestClient implements GitHubIssues {
  private readonly apiUrl: string;

  constructor(
    apiUrl: string,
    private readonly token: string,
    private readonly http: HttpDeps = {},
  ) {
    this.apiUrl = apiUrl.replace(/\/+$/, '');
  }

  /**
   * A POST that must happen once: when it fails in a way that leaves open whether it was done (a 5xx, a
   * connection lost after sending), look for its effect before trying again.
   */
  private async postOnce<T>(path: string, body: unknown, findDone: () => Promise<T | null>): Promise<T> {
    const attempts = this.http.retry?.attempts ?? DEFAULT_RETRY.attempts;
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.call<T>('POST', path, body, false)).data;
      } catch (err) {
        if (!(err instanceof HttpError) || (err.status !== null && err.status < 500) || attempt >= attempts) throw err;
        const done = await findDone().catch(() => null);
        if (done) return done;
        this.http.onRetry?.(`${err.message}; not done, retrying (attempt ${attempt + 1} of ${attempts})`);
        await (this.http.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms))))(
          (this.http.retry?.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs) * 2 ** (attempt - 1),
        );
      }
    }
  }

  private async call<T>(
    method: string,
    path: string,
    body?: unknown,
    idempotent = method !== 'POST',
  ): Promise<{ data: T; link: string | null }> {
    const res = await requestWithRetry(
      `${this.apiUrl}${path}`,
      {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${this.token}`,
          'x-github-api-version': '2022-11-28',
          'user-agent': 'postgres-dr',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      },
      `${method} ${path.replace(/\?.*$/, '')}`,
      this.http,
      idempotent,
    );
    return { data: (await res.json()) as T, link: res.headers.get('link') };
  }

  private repoPath(r: RepoRef): string {
    return `/repos/${encodeURIComponent(r.owner)}/${encodeURIComponent(r.repo)}`;
  }

  async listOpenIssues(repo: RepoRef, label: string): Promise<Issue[]> {
    const out: Issue[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const q = new URLSearchParams({ state: 'open', labels: label, per_page: '100', page: String(page) });
      const { data, link } = await this.call<RawIssue[]>('GET', `${this.repoPath(repo)}/issues?${q}`);
      for (const r of data) if (!r.pull_request) out.push(toIssue(r));
      if (data.length < 100 || !link?.includes('rel="next"')) break;
    }
    return out;
  }

  async createIssue(repo: RepoRef, issue: NewIssue): Promise<Issue> {
    const body: Record<string, unknown> = { title: issue.title, body: issue.body, labels: issue.labels };
    if (issue.assignees.length) body.assignees = issue.assignees;
    const raw = await this.postOnce<RawIssue>(`${this.repoPath(repo)}/issues`, body, async () => {
      const q = new URLSearchParams({
        state: 'open',
        labels: issue.labels[0] ?? '',
        per_page: '100',
        sort: 'created',
        direction: 'desc',
      });
      const { data } = await this.call<RawIssue[]>('GET', `${this.repoPath(repo)}/issues?${q}`);
      return data.find((r) => !r.pull_request && r.title === issue.title && (r.body ?? '') === issue.body) ?? null;
    });
    return toIssue(raw);
  }

  async createComment(repo: RepoRef, issueNumber: number, body: string): Promise<{ url: string }> {
    const path = `${this.repoPath(repo)}/issues/${issueNumber}/comments`;
    const since = new Date(Date.now() - 10 * 60_000).toISOString();
    const data = await this.postOnce<{ html_url: string; body?: string }>(path, { body }, async () => {
      const { data: recent } = await this.call<Array<{ html_url: string; body?: string }>>(
        'GET',
        `${path}?${new URLSearchParams({ since, per_page: '100' })}`,
      );
      return recent.find((c) => c.body === body) ?? null;
    });
    return { url: data.html_url };
  }

  async updateIssue(repo: RepoRef, issueNumber: number, update: IssueUpdate): Promise<Issue> {
    const body: Record<string, unknown> = {};
    if (update.state) body.state = update.state;
    if (update.stateReason) body.state_reason = update.stateReason;
    if (update.body !== undefined) body.body = update.body;
    return toIssue((await this.call<RawIssue>('PATCH', `${this.repoPath(repo)}/issues/${issueNumber}`, body)).data);
  }
}
