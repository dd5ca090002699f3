/**
 * The notify use case: turn a run's status into something on-call sees. A failed (or cancelled) run opens
 * an issue, or comments "occurrence #n" on the incident's open issue; the next successful run comments
 * "recovered" and closes it. A Slack-compatible webhook is told as well. Nothing here fails the run: each
 * problem reaching GitHub or the webhook becomes a warning, and the caller decides the step's exit status
 * from the run's status alone.
 */
import { describeError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { codeBlock, escapeMarkdown } from '../util/markdown.js';
import { redact } from '../util/secrets.js';
import { formatUtcMinute } from '../util/time.js';
import { formatBytes, formatDuration } from '../util/units.js';
import { readCatalog } from './catalog.js';
import { type FailureFacts, failedAction, lastGoodText, nextSteps, scenarioOf, scenarioTitle } from './github/alert.js';
import { explainGitHubError, type GitHubIssues, HttpError, type Issue, type RepoRef } from './github/client.js';
import {
  findOpenIncident,
  incidentKey,
  incidentMarker,
  neutralizeMarkers,
  occurrencesIn,
  occurrencesMarker,
  withOccurrences,
} from './github/incidents.js';
import { type AuthKeys, manifestVerifier } from './manifest-auth.js';
import type { Storage } from './storage/index.js';

export type RunStatus = 'success' | 'failure' | 'cancelled';

/** Where the run is, from the runner's GITHUB_* environment. */
export interface RunInfo {
  serverUrl: string;
  repository: string;
  workflow: string;
  job?: string;
  runId?: string;
  runAttempt?: string;
}

export interface LastGoodBackup {
  key: string;
  location: string;
  createdAt: string;
  size: number;
  rows: number;
}

export interface NotifyConfig {
  status: RunStatus;
  notifyOn: 'failure' | 'always';
  repo: RepoRef;
  labels: string[];
  assignees: string[];
  /** Issue title; default names the workflow and the set. */
  title?: string;
  /** The backup set. */
  name?: string;
  details?: string;
  runbookUrl?: string;
  webhookUrl?: string;
  run: RunInfo;
  /** What failed, from the failed job's outputs (`error`, `failure-kind`) and the workflow (job name, URL). */
  failure: FailureFacts;
  /** The newest backup, from monitor's outputs (so notify's job needs no storage access). */
  newest?: { key: string; ageSeconds: number };
  /** The recovery point objective the last good backup's age is compared with. */
  rpoSeconds: number;
  /** File name of the backup workflow, for the link that starts a backup by hand. */
  backupWorkflow: string;
}

export interface NotifyDeps {
  /** Absent when there is no token: then only the webhook is told. */
  github?: GitHubIssues;
  postWebhook?: (url: string, payload: { text: string }) => Promise<void>;
  /** Reads the newest valid backup from the manifests (when a destination was given). */
  lastGood?: () => Promise<LastGoodBackup | null>;
  log: Logger;
  now?: () => Date;
}

export interface NotifyResult {
  action: 'opened' | 'commented' | 'closed' | 'none' | 'failed';
  issue?: { number: number; url: string };
  occurrence?: number;
  webhook: 'sent' | 'failed' | 'skipped';
  /** undefined: not looked up; null: looked up, none found. */
  lastGood?: LastGoodBackup | null;
  runUrl?: string;
  warnings: string[];
}

const MAX_DETAILS = 20_000;

export function runUrl(run: RunInfo): string | undefined {
  if (!run.runId) return undefined;
  const base = `${run.serverUrl.replace(/\/+$/, '')}/${run.repository}/actions/runs/${run.runId}`;
  return run.runAttempt && run.runAttempt !== '1' ? `${base}/attempts/${run.runAttempt}` : base;
}

function runLink(run: RunInfo): string {
  const url = runUrl(run);
  if (!url) return 'a local run (pgdr)';
  return `[run ${run.runId}${run.runAttempt ? `, attempt ${run.runAttempt}` : ''}](${url})`;
}

/** The scenario of a failed run and its title, e.g. "Backup failed (connect): nightly for app". */
export function defaultTitle(c: Pick<NotifyConfig, 'status' | 'name' | 'run' | 'failure'>): string {
  const what = scenarioTitle(scenarioOf(c.failure), c.failure, c.status === 'cancelled');
  return `${what}: ${c.run.workflow}${c.name ? ` for ${c.name}` : ''}`;
}

/** `details` as markdown: a JSON object becomes a table, other JSON and text a code block. */
export function renderDetails(details: string): string {
  const text = details.length > MAX_DETAILS ? `${details.slice(0, MAX_DETAILS)}\n… (truncated)` : details;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Verbatim: keeps line breaks (`key: value` lines from a workflow); inside a fence it cannot close,
    // nothing renders: no @mention pings, no image loads.
    return neutralizeMarkers(codeBlock(text, 'text'));
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const cell = (v: unknown): string => escapeMarkdown(typeof v === 'string' ? v : JSON.stringify(v), '<br>');
    const rows = Object.entries(parsed as Record<string, unknown>).map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`);
    return neutralizeMarkers(['| | |', '|---|---|', ...rows].join('\n'));
  }
  return neutralizeMarkers(codeBlock(JSON.stringify(parsed, null, 2), 'json'));
}

export function describeLastGood(b: LastGoodBackup | null | undefined, now: Date): string {
  if (b === undefined) return 'unknown to this alert';
  if (b === null) return '**none**: no backup with a valid manifest was found';
  const age = (now.getTime() - Date.parse(b.createdAt)) / 1000;
  return `\`${b.location}/${b.key}\`, taken ${formatUtcMinute(new Date(b.createdAt))} (${formatDuration(Math.max(0, age))} ago), ${formatBytes(b.size)}, ${b.rows.toLocaleString('en-US')} rows`;
}

function failureVerb(status: RunStatus): string {
  return status === 'cancelled' ? 'was cancelled' : 'failed';
}

/** The newest backup: monitor's outputs when the workflow passed them, else the catalog's (destination). */
function newestBackup(
  c: NotifyConfig,
  lastGood: LastGoodBackup | null | undefined,
  now: Date,
): { key: string; ageSeconds: number; takenAt?: string } | undefined {
  if (c.newest) return c.newest;
  if (!lastGood) return undefined;
  return {
    key: `${lastGood.location}/${lastGood.key}`,
    ageSeconds: Math.max(0, (now.getTime() - Date.parse(lastGood.createdAt)) / 1000),
    takenAt: formatUtcMinute(new Date(lastGood.createdAt)),
  };
}

/** Literal text in a table cell: escaped, one line, no mentions or markers. */
const cell = (text: string): string => neutralizeMarkers(escapeMarkdown(text));

/** `<action>, stage <kind>` of the failure, escaped. */
function whatFailed(c: NotifyConfig): string {
  const action = failedAction(c.failure);
  const parts = [action ? `**${cell(action)}**` : 'a job', c.failure.kind ? `stage \`${cell(c.failure.kind)}\`` : ''];
  return parts.filter(Boolean).join(', ');
}

function jobText(c: NotifyConfig): string {
  if (!c.failure.job) return `${cell(c.run.workflow)} / (failed job not given)`;
  const job = cell(c.failure.job);
  return `${cell(c.run.workflow)} / ${c.failure.jobUrl ? `[${job}](${c.failure.jobUrl})` : job}`;
}

export function backupWorkflowUrl(c: Pick<NotifyConfig, 'run' | 'backupWorkflow'>): string {
  return `${c.run.serverUrl.replace(/\/+$/, '')}/${c.run.repository}/actions/workflows/${c.backupWorkflow}`;
}

export function issueBody(
  c: NotifyConfig,
  key: string,
  lastGood: LastGoodBackup | null | undefined,
  now: Date,
): string {
  const scenario = scenarioOf(c.failure);
  const title = scenarioTitle(scenario, c.failure, c.status === 'cancelled');
  const newest = lastGoodText(newestBackup(c, lastGood, now), c.rpoSeconds);
  const last = lastGood === null && !c.newest ? describeLastGood(null, now) : newest.text;
  const out = [
    `### ${c.status === 'cancelled' ? '⏹️' : '❌'} ${title}${c.name ? `: ${cell(c.name)}` : ''}`,
    '',
    '| | |',
    '|---|---|',
    `| What failed | ${whatFailed(c)} |`,
    `| Error | ${c.failure.error ? cell(c.failure.error) : '(not given: read the job log)'} |`,
    `| When | ${formatUtcMinute(now)} |`,
    `| Workflow / job | ${jobText(c)} |`,
    `| Backup set | ${cell(c.name ?? '(not named)')} |`,
    `| Last good backup | ${last} |`,
    `| Run | ${runLink(c.run)} |`,
    '',
  ];
  if (c.details) out.push('#### Details', '', renderDetails(c.details), '');
  out.push('#### Next steps', '');
  const steps = nextSteps({
    scenario,
    facts: c.failure,
    lastGood: last,
    overRpo: newest.overRpo,
    backupWorkflowUrl: backupWorkflowUrl(c),
    runbookUrl: c.runbookUrl,
  });
  steps.forEach((s, i) => {
    out.push(`${i + 1}. ${s}`);
  });
  out.push('', incidentMarker(key), occurrencesMarker(1));
  return redact(out.join('\n'));
}

function repeatComment(c: NotifyConfig, n: number, lastGood: LastGoodBackup | null | undefined, now: Date): string {
  const title = scenarioTitle(scenarioOf(c.failure), c.failure, c.status === 'cancelled');
  const newest = lastGoodText(newestBackup(c, lastGood, now), c.rpoSeconds);
  const out = [
    `### ${c.status === 'cancelled' ? '⏹️' : '❌'} Occurrence #${n}: ${title} again`,
    '',
    `${runLink(c.run)} ${failureVerb(c.status)} at ${formatUtcMinute(now)} (${jobText(c)}).`,
    '',
    `- What failed: ${whatFailed(c)}`,
    `- Error: ${c.failure.error ? cell(c.failure.error) : '(not given: read the job log)'}`,
    `- Last good backup: ${lastGood === null && !c.newest ? describeLastGood(null, now) : newest.text}`,
  ];
  if (c.details) out.push('', '#### Details', '', renderDetails(c.details));
  return redact(out.join('\n'));
}

function recoveredComment(c: NotifyConfig, occurrences: number, now: Date): string {
  return redact(
    [
      `### ✅ Recovered`,
      '',
      `${runLink(c.run)} succeeded at ${formatUtcMinute(now)}, after ${occurrences} failed run${occurrences === 1 ? '' : 's'}. Closing this issue.`,
      ...(c.details ? ['', '#### Details', '', renderDetails(c.details)] : []),
    ].join('\n'),
  );
}

/** Text as Slack shows it literally: its control characters &, < and > escaped (no mention, no link). */
export function slackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function webhookText(c: NotifyConfig, r: NotifyResult): string {
  const subject = `${c.run.workflow}${c.name ? ` (${c.name})` : ''} in ${c.repo.owner}/${c.repo.repo}`;
  const run = runUrl(c.run);
  const parts: string[] = [];
  if (c.status === 'success') {
    parts.push(
      r.action === 'closed'
        ? `:white_check_mark: Recovered: ${subject} succeeded`
        : `:white_check_mark: ${subject} succeeded`,
    );
  } else {
    parts.push(
      `:x: ${defaultTitle(c)} in ${c.repo.owner}/${c.repo.repo}${r.occurrence && r.occurrence > 1 ? ` (occurrence #${r.occurrence})` : ''}`,
    );
    // The error may quote a table or bucket name: Slack reads <!channel>, <@U…> and <url|text> in it.
    if (c.failure.error) parts.push(`error: ${slackText(c.failure.error)}`);
  }
  if (run) parts.push(`run: ${run}`);
  if (r.issue) parts.push(`issue: ${r.issue.url}`);
  return redact(parts.join(' | '));
}

function gitHubProblem(what: string, err: unknown): string {
  const hint = explainGitHubError(err);
  return `${what}: ${describeError(err)}${hint ? ` (${hint})` : ''}`;
}

export async function notify(c: NotifyConfig, deps: NotifyDeps): Promise<NotifyResult> {
  const now = (deps.now ?? (() => new Date()))();
  const result: NotifyResult = { action: 'none', webhook: 'skipped', warnings: [], runUrl: runUrl(c.run) };
  const warn = (m: string): void => {
    result.warnings.push(redact(m));
  };
  const failed = c.status !== 'success';
  const key = incidentKey(`${c.repo.owner}/${c.repo.repo}`, c.run.workflow, c.name ?? '');
  const label = c.labels[0] as string;

  if (failed && deps.lastGood) {
    try {
      result.lastGood = await deps.lastGood();
    } catch (err) {
      warn(`could not read the manifests to name the last good backup: ${describeError(err)}`);
    }
  }

  if (deps.github) {
    const gh = deps.github;
    let open: Issue | undefined;
    let looked = false;
    try {
      open = await findOpenIncident(gh, c.repo, label, key);
      looked = true;
    } catch (err) {
      warn(gitHubProblem(`could not look for an open incident issue labelled '${label}'`, err));
    }
    if (failed) await onFailure(gh, c, key, open, looked, now, result, warn, deps.log);
    else if (open) await onRecovery(gh, c, open, now, result, warn, deps.log);
  } else {
    warn('no github-token: no issue was opened or updated');
  }

  const tellWebhook = failed || c.notifyOn === 'always' || result.action === 'closed';
  if (c.webhookUrl && tellWebhook && deps.postWebhook) {
    try {
      await deps.postWebhook(c.webhookUrl, { text: webhookText(c, result) });
      result.webhook = 'sent';
    } catch (err) {
      result.webhook = 'failed';
      warn(`could not post to webhook-url: ${describeError(err)}`);
    }
  }
  return result;
}

async function onFailure(
  gh: GitHubIssues,
  c: NotifyConfig,
  key: string,
  open: Issue | undefined,
  looked: boolean,
  now: Date,
  result: NotifyResult,
  warn: (m: string) => void,
  log: Logger,
): Promise<void> {
  if (open) {
    const n = occurrencesIn(open.body) + 1;
    try {
      await gh.createComment(c.repo, open.number, repeatComment(c, n, result.lastGood, now));
      result.action = 'commented';
      result.issue = { number: open.number, url: open.url };
      result.occurrence = n;
      log.info(`commented occurrence #${n} on ${open.url}`);
    } catch (err) {
      result.action = 'failed';
      warn(gitHubProblem(`could not comment on ${open.url}`, err));
      return;
    }
    try {
      await gh.updateIssue(c.repo, open.number, { body: withOccurrences(open.body, n) });
    } catch (err) {
      warn(gitHubProblem(`could not record occurrence #${n} in ${open.url}`, err));
    }
    return;
  }
  // When the search failed we open an issue anyway: a duplicate is better than a missed alert.
  if (!looked) log.warn('opening a new issue without knowing whether one is already open');
  const issue = {
    title: redact(c.title ?? defaultTitle(c)),
    body: issueBody(c, key, result.lastGood, now),
    labels: c.labels,
    assignees: c.assignees,
  };
  try {
    let created: Issue;
    try {
      created = await gh.createIssue(c.repo, issue);
    } catch (err) {
      // 422: an assignee who cannot be assigned (no access, typo). Open it unassigned rather than not at all.
      if (!(err instanceof HttpError && err.status === 422 && issue.assignees.length)) throw err;
      warn(gitHubProblem(`could not assign ${issue.assignees.join(', ')}; opening the issue unassigned`, err));
      created = await gh.createIssue(c.repo, { ...issue, assignees: [] });
    }
    result.action = 'opened';
    result.issue = { number: created.number, url: created.url };
    result.occurrence = 1;
    log.info(`opened ${created.url}`);
  } catch (err) {
    result.action = 'failed';
    warn(gitHubProblem(`could not open an issue in ${c.repo.owner}/${c.repo.repo}`, err));
  }
}

async function onRecovery(
  gh: GitHubIssues,
  c: NotifyConfig,
  open: Issue,
  now: Date,
  result: NotifyResult,
  warn: (m: string) => void,
  log: Logger,
): Promise<void> {
  result.issue = { number: open.number, url: open.url };
  try {
    await gh.createComment(c.repo, open.number, recoveredComment(c, occurrencesIn(open.body), now));
    await gh.updateIssue(c.repo, open.number, { state: 'closed', stateReason: 'completed' });
    result.action = 'closed';
    log.info(`recovered: commented on and closed ${open.url}`);
  } catch (err) {
    result.action = 'failed';
    warn(gitHubProblem(`could not close ${open.url}`, err));
  }
}

/** The newest authenticated, non-synthetic backup (of set `name`, or of any set), from the catalog. */
export async function lastGoodFromCatalog(
  storage: Storage,
  prefix: string,
  name: string | undefined,
  authKeys: AuthKeys,
): Promise<LastGoodBackup | null> {
  const verifier = await manifestVerifier(authKeys);
  if (!verifier) return null;
  const catalog = await readCatalog(storage, prefix, name, { verifier }).finally(() => verifier.close());
  const newest = catalog.backups.find((b) => !b.manifest.synthetic);
  if (!newest) return null;
  return {
    key: newest.data.key,
    location: storage.location,
    createdAt: newest.manifest.createdAt,
    size: newest.manifest.object.size,
    rows: newest.manifest.totals.rows,
  };
}
