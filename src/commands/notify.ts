/** The notify action: a run's status → an issue for on-call (opened, commented, or closed) and a webhook. */
import { parseRepository } from '../core/github/client.js';
import { validateName } from '../core/layout.js';
import {
  describeLastGood,
  lastGoodFromCatalog,
  type NotifyConfig,
  type NotifyResult,
  notify,
  type RunInfo,
} from '../core/notify.js';
import type { CommandResult, Report } from '../core/report.js';
import { UserError } from '../util/errors.js';
import { registerSecret } from '../util/secrets.js';
import { parseBoolean, parseChoice } from '../util/units.js';
import type { Command } from './command.js';
import {
  AUTH_PASSPHRASE_INPUT,
  destinationInputs,
  type InputGetter,
  parseList,
  readAuthKeys,
  readDestination,
  SIGNING_PUBLIC_KEY_INPUT,
  storageFor,
} from './inputs.js';
import { boundInputs, type CommandSpec } from './schema.js';

function httpUrl(value: string, input: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new UserError(`'${input}' must be an https:// URL (got something that is not a URL)`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UserError(`'${input}' must be an https:// URL`);
  return value;
}

export function readRunInfo(env: NodeJS.ProcessEnv, repository: string): RunInfo {
  return {
    serverUrl: env.GITHUB_SERVER_URL || 'https://github.com',
    repository,
    workflow: env.GITHUB_WORKFLOW || 'postgres-dr',
    job: env.GITHUB_JOB || undefined,
    runId: env.GITHUB_RUN_ID || undefined,
    runAttempt: env.GITHUB_RUN_ATTEMPT || undefined,
  };
}

export function readNotifyInputs(raw: InputGetter, env: NodeJS.ProcessEnv = process.env) {
  const get = boundInputs(notifySpec, raw);
  if (!get('status')) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a workflow expression, shown to the user
    throw new UserError("'status' is required: pass `status: ${{ job.status }}` and run the step with `if: always()`");
  }
  const status = parseChoice(get('status'), 'status', ['success', 'failure', 'cancelled'] as const);
  // The CLI has no `${{ github.token }}` default: fall back to GITHUB_TOKEN there.
  const token = get('github-token') || env.GITHUB_TOKEN || '';
  registerSecret(token);
  const webhookUrl = get('webhook-url') || undefined;
  if (webhookUrl) httpUrl(webhookUrl, 'webhook-url');
  const repoText = get('repository') || env.GITHUB_REPOSITORY || '';
  if (!repoText) throw new UserError("'repository' is required outside GitHub Actions: owner/name");
  const repo = parseRepository(repoText);
  const labels = parseList(get('issue-labels'));
  if (!labels.length) {
    throw new UserError("'issue-labels' needs at least one label: open incidents are found by their first label");
  }
  const assignees = parseList(get('issue-assignees')).map((a) => a.replace(/^@/, ''));
  for (const a of assignees) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(a)) {
      throw new UserError(`'issue-assignees': '${a}' is not a GitHub user name`);
    }
  }
  const name = get('name') ? validateName(get('name')) : undefined;
  const notifyOn = parseChoice(get('notify-on'), 'notify-on', ['failure', 'always'] as const);
  const runbookUrl = get('runbook-url') ? httpUrl(get('runbook-url'), 'runbook-url') : undefined;
  const failOnFailure = parseBoolean(get('fail-on-failure'), 'fail-on-failure');
  const destination = get('destination') ? readDestination(get) : undefined;
  const config: NotifyConfig = {
    status,
    notifyOn,
    repo,
    labels,
    assignees,
    title: get('title') || undefined,
    name,
    details: get('details') || undefined,
    runbookUrl,
    webhookUrl,
    run: readRunInfo(env, `${repo.owner}/${repo.repo}`),
  };
  return {
    config,
    token,
    destination,
    authKeys: readAuthKeys(get),
    failOnFailure,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
  };
}

const ACTION_WORDS: Record<NotifyResult['action'], string> = {
  opened: 'opened',
  commented: 'commented on (repeat failure)',
  closed: 'commented "recovered" and closed',
  none: 'nothing to do',
  failed: 'could not be updated (see warnings)',
};

function notifyReport(c: NotifyConfig, r: NotifyResult): Report {
  const failed = c.status !== 'success';
  const headline = failed
    ? r.issue
      ? `On-call alerted: ${r.issue.url}${r.occurrence && r.occurrence > 1 ? ` (occurrence #${r.occurrence})` : ''}`
      : 'The run failed, and no issue could be opened: see the warnings'
    : r.action === 'closed'
      ? `Recovered: ${r.issue?.url} closed`
      : 'The run succeeded; no open incident';
  const facts: Array<[string, string]> = [
    ['Run status', c.status],
    ['Workflow / job', `${c.run.workflow}${c.run.job ? ` / ${c.run.job}` : ''}`],
    ['Backup set', c.name ?? '(not named)'],
    ['Issue', r.issue ? `#${r.issue.number} ${r.issue.url}: ${ACTION_WORDS[r.action]}` : ACTION_WORDS[r.action]],
    ['Webhook', r.webhook],
  ];
  if (r.occurrence) facts.push(['Occurrence', String(r.occurrence)]);
  if (r.lastGood !== undefined) facts.push(['Last good backup', describeLastGood(r.lastGood, new Date())]);
  return {
    title: failed
      ? `Backup run ${c.status === 'cancelled' ? 'cancelled' : 'failed'}: notify`
      : 'Backup run succeeded: notify',
    status: r.warnings.length ? 'warning' : failed ? 'failure' : 'success',
    headline,
    facts,
    tables: [],
    notes: r.warnings,
  };
}

export const notifySpec: CommandSpec = {
  name: 'notify',
  summary: 'open, comment on or close an on-call issue (and post to a webhook) from a run status',
  action: {
    name: 'postgres-dr notify',
    description:
      'Alert on-call when a backup run fails: open an issue (or comment on the open one), post to a chat webhook, and close the issue when a later run succeeds.',
    icon: 'bell',
    color: 'red',
  },
  inputs: {
    status: {
      description:
        'The status of the run to report: success, failure or cancelled. Pass `${{ job.status }}` and run the step with `if: always()`.',
      required: true,
    },
    'github-token': {
      description: 'Token that may write issues (the job needs `permissions: issues: write`). Never logged.',
      actionDefault: '${{ github.token }}',
      secret: true,
    },
    repository: {
      description:
        'owner/name of the repository to open the issue in. Default: the repository running the workflow (GITHUB_REPOSITORY).',
    },
    'issue-labels': {
      description:
        'Labels of the issue, comma- or newline-separated. The first label is how an open incident is found again: keep it stable.',
      default: 'backup-failure',
    },
    'issue-assignees': {
      description:
        'GitHub users to assign, comma- or newline-separated. A user who cannot be assigned is dropped with a warning; the issue is still opened.',
    },
    title: { description: 'Issue title. Default: "Backup alert: <workflow> failed for <name>".' },
    name: {
      description:
        'The backup set this run is about. Part of the incident key (repository + workflow + name): each set gets its own issue.',
    },
    'webhook-url': {
      description:
        'Slack-compatible incoming webhook (POST {"text": …}); pass a secret. Told on failure and on recovery (and on every success with notify-on: always).',
      secret: true,
    },
    'notify-on': {
      description:
        'failure: tell the webhook about failures and recoveries only; always: about every run. The issue is opened on failure and closed on recovery either way.',
      default: 'failure',
    },
    details: {
      description:
        'Free text or JSON from earlier steps (e.g. `${{ toJSON(steps.backup.outputs) }}`, verify mismatches). A JSON object is shown as a table, anything else verbatim in a code block.',
    },
    'runbook-url': { description: 'Link to your runbook, shown in the issue as the next step.' },
    'fail-on-failure': {
      description:
        'When the reported status is failure or cancelled, fail this step too, so the run stays red even when notify is the last step. The exit status follows `status`, never whether GitHub or the webhook could be reached.',
      default: 'true',
      type: 'boolean',
    },
    ...destinationInputs(
      'Optional: s3://bucket/prefix or a directory of the backups, to name the last good backup (from the manifests) in the issue.',
    ),
    ...AUTH_PASSPHRASE_INPUT,
    ...SIGNING_PUBLIC_KEY_INPUT,
  },
  outputs: {
    action: {
      description:
        'What was done on GitHub: opened, commented, closed, none, or failed (GitHub could not be reached; see the warnings).',
    },
    'issue-number': { description: 'Number of the incident issue (opened, commented on or closed); empty when none.' },
    'issue-url': { description: 'URL of that issue.' },
    occurrence: {
      description: 'How many failed runs the open incident has seen, this one included (1 for a new issue).',
    },
    webhook: { description: 'sent, failed or skipped.' },
  },
};

export const notifyCommand: Command = {
  spec: notifySpec,
  async run(get, ctx): Promise<CommandResult> {
    const { config, token, destination, authKeys, failOnFailure, apiUrl } = readNotifyInputs(get);
    const onRetry = (m: string): void => ctx.log.info(m);
    const storage = destination ? storageFor(destination) : undefined;
    // Loaded here, not at start-up: only notify needs Octokit and the proxy-aware fetch.
    const [{ OctokitIssues }, { postWebhook }] = await Promise.all([
      import('../core/github/octokit.js'),
      import('../core/webhook.js'),
    ]);
    const r = await notify(config, {
      github: token ? new OctokitIssues({ apiUrl, token, onRetry }) : undefined,
      postWebhook: (url, payload) => postWebhook(url, payload, { onRetry }),
      // Without a key nothing authenticates, and "none found" would be false: then it is not looked up.
      lastGood:
        storage && destination && (authKeys.passphrases?.length || authKeys.signingPublicKeys?.length)
          ? () => lastGoodFromCatalog(storage, destination.destination.prefix, config.name, authKeys)
          : undefined,
      log: ctx.log,
    });
    const failed = config.status !== 'success';
    return {
      outputs: {
        action: r.action,
        'issue-number': r.issue?.number ?? '',
        'issue-url': r.issue?.url ?? '',
        occurrence: r.occurrence ?? '',
        webhook: r.webhook,
      },
      report: notifyReport(config, r),
      warnings: r.warnings,
      failure:
        failed && failOnFailure
          ? `the run ${config.status === 'cancelled' ? 'was cancelled' : 'failed'}${r.issue ? `; on-call issue: ${r.issue.url}` : ''} (set 'fail-on-failure: false' to let this step pass)`
          : undefined,
    };
  },
};
