/** The monitor action: inputs → runMonitor → status outputs, a table of checks and a trend chart. */

import { sendHeartbeat } from '../core/heartbeat.js';
import { validateName } from '../core/layout.js';
import { type CheckResult, LEVEL_RANK, type Level } from '../core/monitor/checks.js';
import { readArchiverStats } from '../core/monitor/wal.js';
import { type MonitorPolicy, type MonitorResult, runMonitor } from '../core/monitor.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import type { CommandResult, Report } from '../core/report.js';
import { describeError, UserError } from '../util/errors.js';
import { formatBytes, formatDuration, parseBoolean, parseChoice, parseDuration, parseSize } from '../util/units.js';
import type { Command } from './command.js';
import {
  AUTH_PASSPHRASE_INPUT,
  destinationInputs,
  heartbeatInputs,
  type InputGetter,
  parseList,
  readAuthKeys,
  readDestination,
  readHeartbeat,
  requireAuthKeys,
  SIGNING_PUBLIC_KEY_INPUT,
  storageFor,
} from './inputs.js';
import { boundInputs, COMMON_FAILURE_KINDS, type CommandSpec, failureOutputs } from './schema.js';

const MONITOR_FAILURE_KINDS: Record<string, string> = {
  config: COMMON_FAILURE_KINDS.config as string,
  storage: 'the storage could not be listed or read',
  connect: 'database-url could not be reached (WAL archiving check)',
  stale: 'no backup, or the newest valid backup is older than max-age',
  'storage-full': 'storage use is over the critical level',
  archiving: 'WAL archiving is failing',
  bucket: 'bucket versioning or replication is not as required',
  trend: 'the newest backup is much smaller (size or rows) than the ones before',
  integrity: 'interrupted backups or manifests that do not authenticate',
  cancelled: COMMON_FAILURE_KINDS.cancelled as string,
  other: COMMON_FAILURE_KINDS.other as string,
};

/** The failure kind of a finding, from its check. */
export function monitorFindingKind(check: string): string {
  if (/^(Newest backup age|Backups\b)/.test(check)) return 'stale';
  if (/^Storage used/.test(check)) return 'storage-full';
  if (/^WAL archiving/.test(check)) return 'archiving';
  if (/^(Versioning|Replication)\b/.test(check)) return 'bucket';
  if (/trend\b/i.test(check)) return 'trend';
  if (/^(Incomplete|Unauthenticated)\b/.test(check)) return 'integrity';
  return 'other';
}

function parseNumber(value: string, input: string, min: number, max: number): number {
  const n = Number(value.trim().replace(/%$/, ''));
  if (!value.trim() || !Number.isFinite(n) || n < min || n > max) {
    throw new UserError(`'${input}' must be a number from ${min} to ${max} (got '${value}')`);
  }
  return n;
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function readMonitorInputs(raw: InputGetter) {
  const get = boundInputs(monitorSpec, raw);
  const destination = readDestination(get);
  const name = get('name') ? validateName(get('name')) : undefined;
  const maxAgeSeconds = parseDuration(get('max-age'), 'max-age');
  const capacityBytes = get('capacity') ? parseSize(get('capacity'), 'capacity') : undefined;
  if (capacityBytes === 0) throw new UserError("'capacity' must be more than 0 (or empty to skip the usage check)");
  const warnPercent = parseNumber(get('warn-percent'), 'warn-percent', 1, 100);
  const criticalPercent = parseNumber(get('critical-percent'), 'critical-percent', 1, 100);
  if (warnPercent > criticalPercent) {
    throw new UserError(`'warn-percent' (${warnPercent}) must not be above 'critical-percent' (${criticalPercent})`);
  }
  const minSizeRatio = parseNumber(get('min-size-ratio'), 'min-size-ratio', 0, 1);
  const maxTableDropPercent = parseNumber(get('max-table-drop-percent'), 'max-table-drop-percent', 0, 100);
  const auditBuckets = parseList(get('audit-buckets'));
  for (const b of auditBuckets) {
    if (!BUCKET_RE.test(b))
      throw new UserError(`'audit-buckets': '${b}' is not a bucket name (give names, not s3:// URLs)`);
  }
  const requireReplication = parseBoolean(get('require-replication'), 'require-replication');
  if (requireReplication && !auditBuckets.length) {
    throw new UserError("'require-replication' needs 'audit-buckets': the buckets whose replication to check");
  }
  const databaseUrl = get('database-url');
  const connection = databaseUrl ? parseDatabaseUrl(databaseUrl) : undefined;
  const maxWalAgeSeconds = parseDuration(get('max-wal-age'), 'max-wal-age');
  const requireWalArchiving = parseBoolean(get('require-wal-archiving'), 'require-wal-archiving');
  if (requireWalArchiving && !connection) {
    throw new UserError("'require-wal-archiving' needs 'database-url': the server whose archiver to check");
  }
  const failOn = parseChoice(get('fail-on'), 'fail-on', ['critical', 'warning', 'never'] as const);
  const policy: MonitorPolicy = {
    maxAgeSeconds,
    capacityBytes,
    warnPercent,
    criticalPercent,
    minSizeRatio,
    maxTableDropPercent,
    auditBuckets,
    requireReplication,
    maxWalAgeSeconds,
    requireWalArchiving,
  };
  const authKeys = requireAuthKeys(readAuthKeys(get), 'monitor');
  return { destination, name, policy, connection, failOn, authKeys };
}

const VERDICT: Record<Level, string> = { ok: '✅ ok', warning: '⚠️ warning', critical: '❌ critical', 'n/a': '– n/a' };

/** Critical findings first, then warnings, then the rest, each group in the order checked. */
export function byUrgency(checks: CheckResult[]): CheckResult[] {
  return [...checks].sort((a, b) => LEVEL_RANK[b.level] - LEVEL_RANK[a.level]);
}

export function monitorReport(r: MonitorResult, location: string): Report {
  const checks = byUrgency(r.checks);
  const problems = checks.filter((c) => c.level === 'warning' || c.level === 'critical');
  const facts: Array<[string, string]> = [
    ['Backup sets', r.sets.join(', ') || '(none)'],
    ['Destination', location],
  ];
  if (r.newest) {
    facts.push([
      'Newest backup',
      `${r.newest.key} (${formatDuration(r.newest.ageSeconds)} old${r.sets.length > 1 ? `, set ${r.newest.set}` : ''})`,
    ]);
  }
  facts.push([
    'Storage used',
    r.usedPercent !== undefined ? `${r.usedPercent} % (${formatBytes(r.usedBytes)})` : formatBytes(r.usedBytes),
  ]);
  const title =
    r.status === 'ok'
      ? `Backups healthy: ${r.sets.join(', ') || 'no set'}`
      : `Backup monitor ${r.status}: ${r.sets.join(', ') || 'no set'}`;
  return {
    title,
    status: r.status === 'ok' ? 'success' : r.status === 'warning' ? 'warning' : 'failure',
    headline: problems.length
      ? problems.map((p) => `${p.level}: ${p.message}`).join(' — ')
      : `All ${r.checks.length} checks pass`,
    facts,
    tables: [
      {
        title: 'Checks',
        header: ['Verdict', 'Check', 'Value', 'Threshold'],
        rows: checks.map((c) => [VERDICT[c.level], c.check, c.value, c.threshold]),
      },
    ],
    markdown: r.charts.length ? ['### Backup sizes and rows', ...r.charts] : undefined,
  };
}

/** The AWS SDK is loaded only when there are buckets to audit (see storage/lazy-s3.ts). */
async function s3BucketAuditor(s3: Parameters<typeof import('../core/storage/s3.js').createS3Client>[0]) {
  const [{ S3BucketAuditor }, { createS3Client }] = await Promise.all([
    import('../core/monitor/s3-buckets.js'),
    import('../core/storage/s3.js'),
  ]);
  return new S3BucketAuditor(createS3Client(s3));
}

export const monitorSpec: CommandSpec = {
  name: 'monitor',
  summary: 'check backup age, storage use, size trend, bucket versioning and WAL archiving',
  action: {
    name: 'postgres-dr monitor',
    description:
      'Check that backups are happening and usable: age of the newest backup, storage used against a capacity, sudden size drops, bucket versioning/replication, and WAL archiving. Critical findings fail the step so notify can open an issue.',
    icon: 'activity',
    color: 'orange',
  },
  inputs: {
    ...destinationInputs('s3://bucket/prefix, or a local directory path, holding the backups.', { required: true }),
    name: {
      description: 'The backup set to check. Default: every set under the destination, each checked on its own.',
    },
    'max-age': {
      description:
        'Critical when the newest backup with a valid manifest is older than this (30m, 25h, 7d). No backup at all is critical too.',
      default: '25h',
      type: 'duration',
    },
    capacity: {
      description:
        'Storage quota for everything under the destination (500GiB, 2TB). Empty: usage is reported, not judged.',
    },
    'warn-percent': {
      description: 'Warning when used storage reaches this percentage of capacity.',
      default: '80',
      type: 'integer',
    },
    'critical-percent': {
      description: 'Critical when used storage reaches this percentage of capacity.',
      default: '90',
      type: 'integer',
    },
    'min-size-ratio': {
      description:
        'Warning when the newest backup is smaller (stored bytes or rows) than this fraction of the median of the previous 7 backups of its set: a dropped table or a truncated dump looks like that.',
      default: '0.5',
    },
    'max-table-drop-percent': {
      description:
        "Warning naming the table when a table holds more than this percentage fewer rows than in the previous backup's manifest (a truncated or dropped table hides in a large database's totals).",
      default: '50',
      type: 'integer',
    },
    'audit-buckets': {
      description:
        'Buckets (names, comma- or newline-separated) that must have versioning enabled, e.g. attachments and transcripts. Not enabled is critical; unreadable is a warning.',
    },
    'require-replication': {
      description: 'Also require an enabled replication rule on each of audit-buckets.',
      default: 'false',
      type: 'boolean',
    },
    'database-url': {
      description:
        'postgres://user:password@host:5432/db (pass a secret). When given, WAL archiving is checked in pg_stat_archiver: critical when the last failure is newer than the last success.',
      secret: 'url-credentials',
    },
    'max-wal-age': {
      description:
        'Warning when the last archived WAL segment is older than this (needs database-url; set archive_timeout on quiet databases).',
      default: '1h',
      type: 'duration',
    },
    'require-wal-archiving': {
      description: 'Critical when archive_mode is off. Default: archive_mode off is "not applicable".',
      default: 'false',
      type: 'boolean',
    },
    'fail-on': {
      description: 'When the step fails: critical (default), warning (any finding), or never (report only).',
      default: 'critical',
    },
    ...AUTH_PASSPHRASE_INPUT,
    ...SIGNING_PUBLIC_KEY_INPUT,
    ...heartbeatInputs(
      "at the end of each monitor run: success when the step passes, failure when it fails (use a check of its own, not the backup's)",
    ),
  },
  failureKinds: MONITOR_FAILURE_KINDS,
  outputs: {
    status: { description: 'ok, warning or critical: the worst verdict of all checks.' },
    'newest-backup-age-seconds': {
      description:
        'Age of the newest valid backup, in seconds (of the stalest set when several are checked); empty when there is none.',
    },
    'newest-backup-key': { description: 'Object key of that backup.' },
    'newest-backup-server-major': {
      description:
        'PostgreSQL major the newest backup was dumped from (17, 9.6): a scratch server for it must be this major or newer.',
    },
    'used-bytes': { description: 'Bytes stored under the destination (every object, backups or not).' },
    'used-percent': { description: 'used-bytes as a percentage of capacity; empty without capacity.' },
    findings: {
      description: 'One line per warning or critical finding ("critical: …", "warning: …"); empty when all is well.',
    },
    ...failureOutputs(MONITOR_FAILURE_KINDS),
  },
};

export const monitorCommand: Command = {
  spec: monitorSpec,
  async run(get, ctx): Promise<CommandResult> {
    const { destination, name, policy, connection, failOn, authKeys } = readMonitorInputs(get);
    const heartbeat = readHeartbeat(get);
    const storage = storageFor(destination);
    let r: MonitorResult;
    try {
      r = await runMonitor(
        { prefix: destination.destination.prefix, name, policy, authKeys },
        {
          storage,
          auditor: policy.auditBuckets.length ? await s3BucketAuditor(destination.s3) : undefined,
          archiver: connection ? () => readArchiverStats(connection) : undefined,
          log: ctx.log,
          signal: ctx.signal,
        },
      );
    } catch (err) {
      if (heartbeat) await sendHeartbeat(heartbeat, 'fail', { log: ctx.log, message: describeError(err) });
      throw err;
    }
    const findings = byUrgency(r.checks)
      .filter((c) => c.level === 'warning' || c.level === 'critical')
      .map((c) => `${c.level}: ${c.message}`);
    const critical = r.checks.filter((c) => c.level === 'critical').map((c) => c.message);
    const fails = failOn === 'never' ? false : failOn === 'warning' ? r.status !== 'ok' : r.status === 'critical';
    const failing = r.checks.find((c) => c.level === 'critical') ?? r.checks.find((c) => c.level === 'warning');
    const failure = fails
      ? `backup monitor: ${r.status}: ${(critical.length ? critical : findings.map((f) => f.replace(/^warning: /, ''))).join('; ')}`
      : undefined;
    if (heartbeat) await sendHeartbeat(heartbeat, fails ? 'fail' : 'success', { log: ctx.log, message: failure });
    return {
      outputs: {
        status: r.status,
        'newest-backup-age-seconds': r.newest?.ageSeconds ?? '',
        'newest-backup-key': r.newest?.key ?? '',
        'newest-backup-server-major': r.newest?.serverMajor ?? '',
        'used-bytes': r.usedBytes,
        'used-percent': r.usedPercent ?? '',
        findings: findings.join('\n'),
      },
      report: monitorReport(
        r,
        `${storage.location}${destination.destination.prefix ? `/${destination.destination.prefix}` : ''}`,
      ),
      // Criticals fail the step (one message); everything else annotates the run.
      warnings: (!fails ? findings : critical.length ? findings.filter((f) => f.startsWith('warning: ')) : []).map(
        (f) => f.replace(/^warning: /, ''),
      ),
      failure,
      failureKind: fails && failing ? monitorFindingKind(failing.check) : undefined,
    };
  },
};
