/** The monitor action: inputs → runMonitor → status outputs, a table of checks and a trend chart. */

import { validateName } from '../core/layout.js';
import type { Level } from '../core/monitor/checks.js';
import { readArchiverStats } from '../core/monitor/wal.js';
import { type MonitorPolicy, type MonitorResult, runMonitor } from '../core/monitor.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import type { CommandResult, Report } from '../core/report.js';
import { UserError } from '../util/errors.js';
import { formatBytes, formatDuration, parseBoolean, parseChoice, parseDuration, parseSize } from '../util/units.js';
import type { Command } from './command.js';
import { type InputGetter, parseList, readDestination, secretInput, storageFor } from './inputs.js';

function parseNumber(value: string, input: string, min: number, max: number, example: string): number {
  const n = Number(value.trim().replace(/%$/, ''));
  if (!value.trim() || !Number.isFinite(n) || n < min || n > max) {
    throw new UserError(`'${input}' must be a number from ${min} to ${max}, like ${example} (got '${value}')`);
  }
  return n;
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function readMonitorInputs(get: InputGetter) {
  const destination = readDestination(get);
  const name = get('name') ? validateName(get('name')) : undefined;
  const maxAgeSeconds = parseDuration(get('max-age') || '25h', 'max-age');
  const capacityBytes = get('capacity') ? parseSize(get('capacity'), 'capacity') : undefined;
  if (capacityBytes === 0) throw new UserError("'capacity' must be more than 0 (or empty to skip the usage check)");
  const warnPercent = get('warn-percent') ? parseNumber(get('warn-percent'), 'warn-percent', 1, 100, '80') : 80;
  const criticalPercent = get('critical-percent')
    ? parseNumber(get('critical-percent'), 'critical-percent', 1, 100, '90')
    : 90;
  if (warnPercent > criticalPercent) {
    throw new UserError(`'warn-percent' (${warnPercent}) must not be above 'critical-percent' (${criticalPercent})`);
  }
  const minSizeRatio = get('min-size-ratio') ? parseNumber(get('min-size-ratio'), 'min-size-ratio', 0, 1, '0.5') : 0.5;
  const auditBuckets = parseList(get('audit-buckets'));
  for (const b of auditBuckets) {
    if (!BUCKET_RE.test(b))
      throw new UserError(`'audit-buckets': '${b}' is not a bucket name (give names, not s3:// URLs)`);
  }
  const requireReplication = get('require-replication')
    ? parseBoolean(get('require-replication'), 'require-replication')
    : false;
  if (requireReplication && !auditBuckets.length) {
    throw new UserError("'require-replication' needs 'audit-buckets': the buckets whose replication to check");
  }
  const databaseUrl = secretInput(get, 'database-url');
  const connection = databaseUrl ? parseDatabaseUrl(databaseUrl) : undefined;
  const maxWalAgeSeconds = parseDuration(get('max-wal-age') || '1h', 'max-wal-age');
  const requireWalArchiving = get('require-wal-archiving')
    ? parseBoolean(get('require-wal-archiving'), 'require-wal-archiving')
    : false;
  if (requireWalArchiving && !connection) {
    throw new UserError("'require-wal-archiving' needs 'database-url': the server whose archiver to check");
  }
  const failOn = get('fail-on')
    ? parseChoice(get('fail-on'), 'fail-on', ['critical', 'warning', 'never'] as const)
    : 'critical';
  const policy: MonitorPolicy = {
    maxAgeSeconds,
    capacityBytes,
    warnPercent,
    criticalPercent,
    minSizeRatio,
    auditBuckets,
    requireReplication,
    maxWalAgeSeconds,
    requireWalArchiving,
  };
  return { destination, name, policy, connection, failOn };
}

const VERDICT: Record<Level, string> = { ok: '✅ ok', warning: '⚠️ warning', critical: '❌ critical', 'n/a': '– n/a' };

function monitorReport(r: MonitorResult, location: string): Report {
  const problems = r.checks.filter((c) => c.level === 'warning' || c.level === 'critical');
  const facts: Array<[string, string]> = [
    ['Destination', location],
    ['Backup sets', r.sets.join(', ') || '(none)'],
  ];
  if (r.newest) facts.push(['Newest backup', `${r.newest.key} (${formatDuration(r.newest.ageSeconds)} old)`]);
  facts.push([
    'Storage used',
    `${formatBytes(r.usedBytes)}${r.usedPercent !== undefined ? ` (${r.usedPercent} %)` : ''}`,
  ]);
  return {
    title: `Backup monitor: ${r.status}`,
    status: r.status === 'ok' ? 'success' : r.status === 'warning' ? 'warning' : 'failure',
    headline: problems.length
      ? problems.map((p) => `${p.level}: ${p.message}`).join(' — ')
      : `All ${r.checks.length} checks pass`,
    facts,
    tables: [
      {
        title: 'Checks',
        header: ['Check', 'Value', 'Threshold', 'Verdict'],
        rows: r.checks.map((c) => [c.check, c.value, c.threshold, VERDICT[c.level]]),
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

export const monitorCommand: Command = {
  name: 'monitor',
  description: 'check backup age, storage use, size trend, bucket versioning and WAL archiving',
  async run(get, ctx): Promise<CommandResult> {
    const { destination, name, policy, connection, failOn } = readMonitorInputs(get);
    const storage = storageFor(destination);
    const r = await runMonitor(
      { prefix: destination.destination.prefix, name, policy },
      {
        storage,
        auditor: policy.auditBuckets.length ? await s3BucketAuditor(destination.s3) : undefined,
        archiver: connection ? () => readArchiverStats(connection) : undefined,
        log: ctx.log,
      },
    );
    const findings = r.checks
      .filter((c) => c.level === 'warning' || c.level === 'critical')
      .map((c) => `${c.level}: ${c.message}`);
    const critical = r.checks.filter((c) => c.level === 'critical').map((c) => c.message);
    const fails = failOn === 'never' ? false : failOn === 'warning' ? r.status !== 'ok' : r.status === 'critical';
    return {
      outputs: {
        status: r.status,
        'newest-backup-age-seconds': r.newest?.ageSeconds ?? '',
        'newest-backup-key': r.newest?.key ?? '',
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
      failure: fails
        ? `backup monitor: ${r.status}: ${(critical.length ? critical : findings.map((f) => f.replace(/^warning: /, ''))).join('; ')}`
        : undefined,
    };
  },
};
