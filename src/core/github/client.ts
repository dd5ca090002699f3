/**
 * The GitHub port the incident logic needs (four issue calls) and the error its implementations throw.
 * The implementation over GitHub's REST API is octokit.ts; tests pass an in-memory one.
 */
import { UserError } from '../../util/errors.js';

/** An HTTP answer we did not want (after retries), with the service's own message when it gave one. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    message: string,
    /** null when no answer came (refused, reset, timed out). */
    readonly status: number | null,
    readonly serviceMessage: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Whether a failure proves the request was not carried out: a rate limit refused it, or no connection
 * was made. A 5xx, a reset after sending or a timeout leave it open.
 */
export function provablyNotDone(err: unknown): boolean {
  if (!err) return false;
  // An Octokit RequestError carries the answer; a failed fetch only its cause chain (code ECONNREFUSED…).
  const status = (err as { status?: number }).status;
  const response = (err as { response?: { headers?: Record<string, string | undefined> } }).response;
  if (response) {
    if (status === 429) return true;
    return (
      status === 403 &&
      (response.headers?.['retry-after'] !== undefined || response.headers?.['x-ratelimit-remaining'] === '0')
    );
  }
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const code = (cur as { code?: string }).code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

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
