/**
 * What the on-call issue says, written for the person woken at 3 a.m.: which scenario this is (from the
 * failed action and its `failure-kind`), a title that names it, and next steps for it. Pure text: the
 * notify use case puts it into the issue.
 */
import { escapeMarkdown } from '../../util/markdown.js';
import { formatDuration } from '../../util/units.js';

export type Scenario = 'backup' | 'restore-test' | 'storage-full' | 'prune' | 'stale' | 'monitor' | 'unknown';

export interface FailureFacts {
  /** backup, verify, restore, prune, monitor (the failed action). */
  action?: string;
  kind?: string;
  error?: string;
  job?: string;
  jobUrl?: string;
}

const ACTIONS = ['backup', 'verify', 'restore', 'prune', 'monitor'] as const;

/** The failed action: given, or read off the failed job's name (`backup`, `restore-test`, …). */
export function failedAction(f: FailureFacts): string | undefined {
  const given = f.action?.toLowerCase();
  if (given) return given;
  const job = f.job?.toLowerCase() ?? '';
  if (/restore[-_ ]?test|verify/.test(job)) return 'verify';
  return ACTIONS.find((a) => job.includes(a));
}

export function scenarioOf(f: FailureFacts): Scenario {
  const action = failedAction(f);
  const kind = f.kind ?? '';
  if (action === 'backup') return 'backup';
  if (action === 'verify' || action === 'restore') return kind === 'rpo' ? 'stale' : 'restore-test';
  if (action === 'prune') return 'prune';
  if (action === 'monitor') return kind === 'stale' ? 'stale' : kind === 'storage-full' ? 'storage-full' : 'monitor';
  return 'unknown';
}

/** Kinds meaning the restore test could not test the backup at all (its own setup failed). */
const UNVERIFIABLE = new Set([
  'config',
  'connect',
  'permission',
  'storage',
  'no-backup',
  'unverifiable',
  'cancelled',
  'other',
]);

export function scenarioTitle(s: Scenario, f: FailureFacts, cancelled: boolean): string {
  const kind = f.kind ? ` (${f.kind})` : '';
  if (cancelled && s !== 'stale' && s !== 'storage-full') {
    return `${{ backup: 'Backup', 'restore-test': 'Restore test', prune: 'Prune', monitor: 'Backup monitor', unknown: 'Backup workflow' }[s]} cancelled`;
  }
  switch (s) {
    case 'backup':
      return `Backup failed${kind}`;
    case 'restore-test':
      return UNVERIFIABLE.has(f.kind ?? 'other') ? `Restore test could not run${kind}` : `Restore test failed${kind}`;
    case 'storage-full':
      return 'Backup storage critical';
    case 'prune':
      return `Prune failed${kind}`;
    case 'stale':
      return 'Backups stale';
    case 'monitor':
      return `Backup monitor alert${kind}`;
    default:
      return `Backup workflow failed${kind}`;
  }
}

/** What the failure kind means for on-call, one sentence; undefined when the error says it all. */
const KIND_HINTS: Record<string, string> = {
  config:
    'An input or secret of the workflow is wrong (the error names it); nothing was touched. Fix the workflow or the secret.',
  connect:
    'The database could not be reached or refused the login: check that it is up, that GitHub’s runners may reach it (firewall, IP allow-list) and the credentials in the database URL secret.',
  permission:
    'The database user lacks a privilege: grant it what the error names (e.g. `GRANT SELECT ON … TO …`, or the `pg_read_all_data` role for backups).',
  lock: 'Another run of this backup set holds the lock: let it finish, or read the holder in the job log if it was killed.',
  dump: 'pg_dump (or the encryption) failed; nothing was stored. The error is pg_dump’s own.',
  storage:
    'The storage could not be reached, read or written: check the bucket, its credentials and permissions, and its quota.',
  integrity: 'The stored object did not read back as sent and was not kept: check the storage for faults.',
  replica:
    'The primary backup is stored; only the copy to the replica failed: check the replica bucket and its credentials.',
  cancelled: 'The run was cancelled (by hand or by a job timeout): if by a timeout, raise `timeout-minutes`.',
  'no-backup': 'No backup of the set was found to test: check the backup workflow and `destination`/`name`.',
  checksum: 'The stored backup is damaged (checksum mismatch): do not rely on it.',
  truncated: 'The stored backup is truncated: do not rely on it.',
  size: 'The stored backup has the wrong size: do not rely on it.',
  decrypt: 'The stored backup does not decrypt cleanly (corrupt or tampered): do not rely on it.',
  'wrong-key':
    'None of the keys given decrypts the backup: check that the restore test has the current passphrase or private key secret.',
  unauthenticated:
    'The manifest does not authenticate with the keys given: a key was rotated without updating the restore test, or the backup was tampered with.',
  'missing-manifest': 'The backup has no manifest: it was interrupted or its manifest was deleted.',
  restore: 'pg_restore/psql failed to load the backup: read its error in the job log (a client older than the dump?).',
  'table-mismatch':
    'The restored tables do not match the manifest (rows or checksums): the backup may be incomplete or damaged.',
  'contents-mismatch':
    'Sequences, large objects, extensions or object counts of the restored copy differ from the manifest: the backup may be incomplete.',
  owners: 'The restored objects do not have the owners the manifest records: check the roles the restore test creates.',
  unverifiable:
    'The scratch server cannot hold this backup (an older PostgreSQL major, or an extension it lacks): give the restore test a matching `postgres-image`.',
  rto: 'The restore took longer than `max-restore-time`: your recovery time objective is at risk.',
  'storage-full': 'Storage use is over the critical level: the next backup may fail for lack of space.',
  archiving: 'WAL archiving is failing: check `archive_command` and `pg_stat_archiver` on the server.',
  bucket: 'The bucket’s versioning or replication is not as required: check its settings.',
  trend:
    'The newest backup is much smaller than the ones before: check for lost data (a dropped or truncated table) before retention deletes the older backups.',
};

export interface StepsContext {
  scenario: Scenario;
  facts: FailureFacts;
  /** Markdown of the last good backup and its age against the RPO. */
  lastGood: string;
  /** True when the last good backup is older than the RPO, or unknown. */
  overRpo: boolean | undefined;
  /** The backup workflow's page, where "Run workflow" starts a backup by hand. */
  backupWorkflowUrl: string;
  runbookUrl?: string;
}

const manualBackup = (url: string): string => `[start a backup by hand](${url}) (**Run workflow**)`;

/** The numbered next steps for the scenario, as markdown list items (without numbers). */
export function nextSteps(c: StepsContext): string[] {
  const kind = c.facts.kind ?? '';
  const hint = KIND_HINTS[kind];
  const where = c.facts.jobUrl
    ? `the [${escapeMarkdown(c.facts.job ?? 'failed job')}](${c.facts.jobUrl}) job’s log`
    : 'the failed job’s log (run link above)';
  const steps: string[] = [];
  const manual = manualBackup(c.backupWorkflowUrl);
  switch (c.scenario) {
    case 'backup':
      steps.push(`${hint ?? 'Read the error above'} Details: ${where}.`);
      if (kind !== 'replica') {
        steps.push(
          c.overRpo === false
            ? `Nothing was stored by this run. The last good backup is still within the RPO (${c.lastGood}): fix the cause before it ages past it, then ${manual}.`
            : `Nothing was stored by this run, and the last good backup is ${c.overRpo ? 'older than the RPO' : 'unknown to this alert'}: fix the cause and ${manual} now.`,
        );
      }
      break;
    case 'restore-test':
      steps.push(`${hint ?? 'Read the error above.'} Details: ${where}.`);
      if (UNVERIFIABLE.has(kind || 'other')) {
        steps.push(
          'The backups were not tested by this run: fix the restore test’s access (scratch database, storage, keys) and re-run it; until then, restorability is unknown.',
        );
      } else if (kind !== 'rto') {
        steps.push(
          `If the newest backup is damaged, ${manual} now and test it (re-run this workflow); check the storage for faults.`,
        );
      } else {
        steps.push('Look for what slowed the restore (database size, runner size, `jobs`) and review the RTO target.');
      }
      break;
    case 'storage-full':
      steps.push(
        `${KIND_HINTS['storage-full']} Free space now: run the prune workflow (or lower the retention), or raise the quota. Details: ${where}.`,
      );
      break;
    case 'prune':
      steps.push(
        `${hint ?? 'Read the error above.'} Retention did not run: old backups accumulate and the storage fills. No backup was deleted unless the job log lists it. Details: ${where}.`,
        'Fix the cause and re-run the workflow; watch the storage use meanwhile.',
      );
      break;
    case 'stale':
      steps.push(
        `No backup within the RPO (${c.lastGood}): ${manual} now.`,
        'Then find why the scheduled backups stopped: failed runs in the Actions tab, or a schedule GitHub paused (public repositories without activity for 60 days: re-enable the workflow).',
      );
      break;
    case 'monitor':
      steps.push(`${hint ?? 'Read the finding above.'} Details: ${where}.`);
      break;
    default:
      steps.push(`Read the error in ${where}.`);
  }
  if (c.runbookUrl) steps.push(`Follow the [runbook](${c.runbookUrl}).`);
  steps.push('The next successful run comments here and closes this issue; each further failure adds a comment.');
  return steps;
}

/** The last good backup and its age against the RPO, for the issue. */
export function lastGoodText(
  b: { key: string; ageSeconds: number; takenAt?: string } | undefined,
  rpoSeconds: number,
): { text: string; overRpo: boolean | undefined } {
  if (!b) return { text: 'unknown to this alert (see the monitor job or the storage)', overRpo: undefined };
  const over = b.ageSeconds > rpoSeconds;
  const verdict = over
    ? `**older than the ${formatDuration(rpoSeconds)} RPO**`
    : `within the ${formatDuration(rpoSeconds)} RPO`;
  return {
    text: `\`${b.key.replace(/`/g, "'")}\`, ${formatDuration(Math.max(0, b.ageSeconds))} old${b.takenAt ? ` (taken ${b.takenAt})` : ''}: ${verdict}`,
    overRpo: over,
  };
}
