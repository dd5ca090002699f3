/** The verify action: inputs → verifyBackup (restore into a scratch database, compare) → outputs and a report. */
import { mismatchesOf } from '../core/backups/load.js';
import { NO_CHECKSUMS } from '../core/manifest.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import { parsePgVersion } from '../core/postgres/install.js';
import type { CommandResult, Report } from '../core/report.js';
import { type VerifyConfig, type VerifyOutcome, verifyBackup } from '../core/verify.js';
import { formatBytes, formatDuration, parseBoolean, parseDuration } from '../util/units.js';
import { type Command, progressIntervalMs } from './command.js';
import {
  type DestinationConfig,
  type InputGetter,
  readDecryption,
  readDestination,
  readJobs,
  readSelector,
  secretInput,
  storageFor,
  tempDir,
} from './inputs.js';
import { TABLE_HEADER, tableRows } from './table-report.js';

export function readVerifyConfig(get: InputGetter): { config: VerifyConfig; destination?: DestinationConfig } {
  const connection = parseDatabaseUrl(secretInput(get, 'database-url'));
  const selector = readSelector(get, get('backup-file'));
  const destination = selector.kind === 'file' ? undefined : readDestination(get);
  const decryption = readDecryption(get);
  const jobs = readJobs(get);
  const keepDatabase = get('keep-database') ? parseBoolean(get('keep-database'), 'keep-database') : false;
  const maxAgeSeconds = parseDuration(get('max-age') || '24h', 'max-age');
  const maxRestoreSeconds = parseDuration(get('max-restore-time') || '4h', 'max-restore-time');
  return {
    destination,
    config: {
      connection,
      prefix: destination?.destination.prefix ?? '',
      selector,
      decryption,
      jobs,
      keepDatabase,
      maxAgeSeconds,
      maxRestoreSeconds,
      pgBinDir: get('pg-bin-dir') || undefined,
      pgVersion: parsePgVersion(get('pg-version')),
      tempDir: tempDir(),
    },
  };
}

export function verifyReport(o: VerifyOutcome): Report {
  const m = o.manifest;
  const mark = (ok: boolean): string => (ok ? '✅' : '❌');
  const rows = o.tables.reduce((a, t) => a + (t.actualRows ?? 0), 0);
  const facts: Array<[string, string]> = [['Verdict', o.passed ? 'passed' : 'FAILED']];
  if (o.backupAgeSeconds !== undefined) {
    facts.push([
      'RPO (backup age)',
      `${mark(o.backupAgeSeconds <= o.maxAgeSeconds)} ${formatDuration(o.backupAgeSeconds)} (target ≤ ${formatDuration(o.maxAgeSeconds)})`,
    ]);
  }
  if (o.restoreSeconds !== undefined) {
    facts.push([
      'RTO (download + restore + validate)',
      `${mark(o.restoreSeconds <= o.maxRestoreSeconds)} ${formatDuration(o.restoreSeconds)} (target ≤ ${formatDuration(o.maxRestoreSeconds)})` +
        (o.loadSeconds !== undefined && o.validateSeconds !== undefined
          ? `: restore ${formatDuration(o.loadSeconds)}, validation ${formatDuration(o.validateSeconds)}`
          : ''),
    ]);
  }
  facts.push(['Backup', o.label]);
  if (m) {
    facts.push(
      ['Snapshot time', m.createdAt],
      ['Source', `${m.dump.database} (PostgreSQL ${m.dump.serverVersion}, pg_dump ${m.dump.pgDumpVersion})`],
      ['Format', `${m.dump.format}, ${m.dump.compression}, ${formatBytes(m.object.size)} stored`],
      ['Encryption', m.encryption.scheme],
      [
        'Tables / rows',
        `${o.tables.length} / ${rows.toLocaleString('en-US')} (manifest: ${m.totals.tables} / ${m.totals.rows.toLocaleString('en-US')})`,
      ],
    );
  }
  if (o.scratchDatabase) {
    facts.push(['Scratch database', `${o.scratchDatabase} (${o.keptDatabase ? 'kept' : 'dropped'})`]);
  }
  const first = o.failures[0];
  return {
    title: `Restore test ${o.passed ? 'passed' : 'failed'}${m ? `: ${m.name}` : ''}`,
    status: o.passed ? 'success' : 'failure',
    headline: o.passed
      ? `${o.label} restored into a scratch database and matched its manifest: ${o.tables.length} tables, ${rows.toLocaleString('en-US')} rows`
      : (first?.message ?? 'failed'),
    facts,
    tables: o.tables.length
      ? [{ title: 'Tables', header: TABLE_HEADER, rows: tableRows(o.tables, m?.checksumAlgorithm !== NO_CHECKSUMS) }]
      : [],
    notes: [
      ...o.failures.slice(1).map((f) => f.message),
      ...o.skipped.map((s) => `Skipped a newer object that is not a usable backup: ${s}`),
    ],
  };
}

export const verifyCommand: Command = {
  name: 'verify',
  description: 'restore a backup into a scratch database and check every table against its manifest',
  streaming: true,
  async run(get, ctx): Promise<CommandResult> {
    const { config, destination } = readVerifyConfig(get);
    const storage = destination ? storageFor(destination) : undefined;
    const o = await verifyBackup(config, {
      storage,
      log: ctx.log,
      signal: ctx.signal,
      pgClientInstaller: ctx.pgClientInstaller,
      progressIntervalMs: progressIntervalMs(),
    });
    const bad = mismatchesOf(o.tables);
    return {
      outputs: {
        result: o.passed ? 'passed' : 'failed',
        'failure-kind': o.failures[0]?.kind ?? '',
        'backup-key': o.backupKey,
        'backup-age-seconds': o.backupAgeSeconds === undefined ? '' : Math.round(o.backupAgeSeconds),
        'restore-seconds': o.restoreSeconds === undefined ? '' : Math.round(o.restoreSeconds * 10) / 10,
        'load-seconds': o.loadSeconds === undefined ? '' : Math.round(o.loadSeconds * 10) / 10,
        'validate-seconds': o.validateSeconds === undefined ? '' : Math.round(o.validateSeconds * 10) / 10,
        tables: o.tables.length,
        rows: o.tables.reduce((a, t) => a + (t.actualRows ?? 0), 0),
        mismatches: bad.length,
        'mismatch-details': JSON.stringify(bad),
        'scratch-database': o.keptDatabase ? (o.scratchDatabase ?? '') : '',
      },
      report: verifyReport(o),
      failure: o.passed ? undefined : o.failures.map((f) => f.message).join('; '),
    };
  },
};
