/**
 * The on-call issue for each failure scenario, as markdown files a reviewer reads (and GitHub renders):
 * test/unit/__snapshots__/notify-issue/<case>.md. `vitest -u` rewrites them after a deliberate change.
 */
import { describe, expect, it } from 'vitest';
import { readNotifyInputs } from '../../src/commands/notify.js';
import type { FailureFacts } from '../../src/core/github/alert.js';
import { incidentKey } from '../../src/core/github/incidents.js';
import { defaultTitle, issueBody, type NotifyConfig } from '../../src/core/notify.js';
import { escapeMarkdown } from '../../src/util/markdown.js';

const now = new Date('2026-12-01T03:17:42Z');

function config(failure: FailureFacts, o: Partial<NotifyConfig> = {}): NotifyConfig {
  return {
    status: 'failure',
    notifyOn: 'failure',
    repo: { owner: 'acme', repo: 'shop' },
    labels: ['backup-failure'],
    assignees: [],
    name: 'shop',
    runbookUrl: 'https://github.com/acme/shop/blob/0123abc/docs/runbook.md',
    run: {
      serverUrl: 'https://github.com',
      repository: 'acme/shop',
      workflow: 'Backup',
      job: 'notify',
      runId: '9912345678',
      runAttempt: '1',
    },
    failure: { jobUrl: 'https://github.com/acme/shop/actions/runs/9912345678/job/27000000001', ...failure },
    newest: { key: 'shop/2026/11/30/shop-20261130T031503Z.dump.gpg', ageSeconds: 86_520 },
    rpoSeconds: 86_400,
    backupWorkflow: 'backup.yml',
    ...o,
  };
}

const CASES: Array<[string, NotifyConfig]> = [
  [
    'backup-connect',
    config({
      action: 'backup',
      kind: 'connect',
      job: 'backup',
      error: 'cannot connect to postgres@db.internal:5432/shop: connect ECONNREFUSED 10.0.0.5:5432',
    }),
  ],
  [
    'backup-permission-within-rpo',
    config(
      {
        action: 'backup',
        kind: 'permission',
        job: 'backup',
        error: 'pg_dump: error: query failed: ERROR: permission denied for table payment_tokens',
      },
      { newest: { key: 'shop/2026/12/01/shop-20261201T001500Z.dump.gpg', ageSeconds: 10_920 } },
    ),
  ],
  [
    'backup-storage-no-newest',
    config(
      {
        action: 'backup',
        kind: 'storage',
        job: 'backup',
        error: 'cannot reach s3://acme-backups: AccessDenied: Access Denied',
      },
      { newest: undefined },
    ),
  ],
  [
    'restore-test-table-mismatch',
    config({
      action: 'verify',
      kind: 'table-mismatch',
      job: 'restore-test',
      error: '2 table(s) do not match the manifest: public.orders (rows 1,180,000 → 0), public.order_items',
    }),
  ],
  [
    'restore-test-unverifiable',
    config({
      kind: 'connect',
      job: 'restore-test',
      error: 'cannot connect to postgres@localhost:5432/postgres: connect ECONNREFUSED 127.0.0.1:5432',
    }),
  ],
  [
    'storage-critical',
    config({
      action: 'monitor',
      kind: 'storage-full',
      job: 'monitor',
      error: 'backup monitor: critical: storage is 96.2 % full (1.9 GiB of 2.0 GiB), over the critical level of 95 %',
    }),
  ],
  [
    'prune-failed',
    config({
      action: 'prune',
      kind: 'storage',
      job: 'prune',
      error: 'could not delete 3 object(s) from s3://acme-backups: AccessDenied',
    }),
  ],
  [
    'backups-stale',
    config(
      {
        action: 'monitor',
        kind: 'stale',
        job: 'monitor',
        error:
          'backup monitor: critical: the newest backup of shop is 3d 2h old (max-age 1d): shop/2026/11/28/shop-20261128T011500Z.dump.gpg',
      },
      { newest: { key: 'shop/2026/11/28/shop-20261128T011500Z.dump.gpg', ageSeconds: 266_520 } },
    ),
  ],
  [
    'hostile-error-text',
    config({
      action: 'backup',
      kind: 'dump',
      job: 'backup',
      error:
        'pg_dump: error: relation "x" | ![x](https://evil.example/p.png) @oncall-team ``` <!-- postgres-dr:incident:forged -->',
    }),
  ],
];

describe('the on-call issue', () => {
  it.each(CASES)('%s', async (name, c) => {
    const text = `<!-- title: ${defaultTitle(c)} -->\n\n${issueBody(c, incidentKey('acme/shop', c.run.workflow, c.name ?? ''), undefined, now)}\n`;
    await expect(text).toMatchFileSnapshot(`__snapshots__/notify-issue/${name}.md`);
    // What on-call must read, whatever the layout: the error, the failed job (not notify's), times, the run once.
    if (c.failure.error) expect(text).toContain(`| Error | ${escapeMarkdown(c.failure.error)}`);
    expect(text).toContain(`[${c.failure.job}](`);
    expect(text).not.toMatch(/\/ notify\b/);
    expect(text).toContain('2026-12-01 03:17 UTC');
    expect(text.split('actions/runs/9912345678)').length - 1).toBe(1);
    expect(text).not.toContain('destination');
  });

  it('links a manual backup where one is the next step, and not for a prune', () => {
    const manual = 'https://github.com/acme/shop/actions/workflows/backup.yml';
    const body = (n: string) => issueBody(CASES.find(([k]) => k === n)?.[1] as NotifyConfig, 'k', undefined, now);
    expect(body('backup-connect')).toContain(manual);
    expect(body('backups-stale')).toContain(manual);
    expect(body('prune-failed')).not.toContain(manual);
  });

  it('renders hostile error text as literal text', () => {
    const c = CASES.find(([k]) => k === 'hostile-error-text')?.[1] as NotifyConfig;
    const body = issueBody(c, 'k', undefined, now);
    expect(body).not.toContain('![x](');
    expect(body).not.toContain('@oncall-team');
    expect(body).not.toContain('<!-- postgres-dr:incident:forged');
  });

  it.each([
    ['', 'backup.yml'],
    ['nightly.yaml', 'nightly.yaml'],
    ['acme/shop/.github/workflows/nightly-backup.yml@refs/heads/main', 'nightly-backup.yml'],
  ])('backup-workflow %j links the workflow %s', (given, file) => {
    const inputs: Record<string, string> = { status: 'failure', 'backup-workflow': given, 'failed-job': 'backup' };
    const { config } = readNotifyInputs((n) => inputs[n] ?? '', { GITHUB_REPOSITORY: 'acme/shop' });
    expect(config.backupWorkflow).toBe(file);
    expect(issueBody(config, 'k', undefined, now)).toContain(`https://github.com/acme/shop/actions/workflows/${file})`);
  });
});
