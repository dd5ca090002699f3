/** The verify action: inputs → verifyBackup (restore into a scratch database, compare) → outputs and a report. */
import os from 'node:os';
import type { BackupSelector, DecryptionConfig } from '../core/fetch.js';
import { type DestinationConfig, type InputGetter, readDestination, secretInput, storageFor } from '../core/inputs.js';
import { validateName } from '../core/layout.js';
import { NO_CHECKSUMS } from '../core/manifest.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import { parsePgVersion } from '../core/postgres/install.js';
import type { CommandResult, Report } from '../core/report.js';
import { mismatchesOf, type TableCheck, type VerifyConfig, type VerifyOutcome, verifyBackup } from '../core/verify.js';
import { UserError } from '../util/errors.js';
import { formatBytes, formatDuration, parseBoolean, parseDuration, parseIntInput } from '../util/units.js';
import { type Command, progressIntervalMs } from './command.js';
import { actionsPgClientInstaller } from './pg-client.js';

/** The keys that open a backup: a passphrase, or private key(s) with their passphrase. */
export function readDecryption(get: InputGetter): DecryptionConfig {
  const passphrase = secretInput(get, 'encryption-passphrase') || undefined;
  const privateKey = secretInput(get, 'encryption-private-key') || undefined;
  const privateKeyPassphrase = secretInput(get, 'encryption-private-key-passphrase') || undefined;
  if (privateKeyPassphrase && !privateKey) {
    throw new UserError(`'encryption-private-key-passphrase' is set but 'encryption-private-key' is not`);
  }
  if (privateKey && !/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(privateKey)) {
    throw new UserError(
      `'encryption-private-key' must be an ASCII-armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----), e.g. from gpg --export-secret-keys --armor`,
    );
  }
  return { passphrase, privateKey, privateKeyPassphrase };
}

/** `backup` (latest or a key) and `name`; `file` is verify's `backup-file` ('' elsewhere). */
export function readSelector(get: InputGetter, file: string): BackupSelector {
  const backup = get('backup') || 'latest';
  const name = get('name') ? validateName(get('name')) : undefined;
  if (file) {
    if (backup !== 'latest') throw new UserError(`give either 'backup' or 'backup-file', not both`);
    if (get('destination')) throw new UserError(`give either 'destination' or 'backup-file', not both`);
    return { kind: 'file', path: file };
  }
  if (backup === 'latest') return { kind: 'latest', name };
  if (/\s/.test(backup) || backup.startsWith('/')) {
    throw new UserError(
      `'backup' must be 'latest' or an object key like <prefix>/<name>/YYYY/MM/DD/<name>-…Z.sql.gz.gpg (got '${backup}')`,
    );
  }
  return { kind: 'key', key: backup };
}

export function readJobs(get: InputGetter): number {
  return get('jobs') ? parseIntInput(get('jobs'), 'jobs', { min: 1, max: 64 }) : 2;
}

export function tempDir(): string {
  return process.env.RUNNER_TEMP || os.tmpdir();
}

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

/** `checksums` false: the backup recorded row counts only (table-checksums: false). */
export function tableRows(checks: TableCheck[], checksums = true): string[][] {
  return checks.map((c) => [
    `${c.schema}.${c.name}`,
    c.expectedRows === null ? '—' : c.expectedRows.toLocaleString('en-US'),
    c.actualRows === null ? '—' : c.actualRows.toLocaleString('en-US'),
    c.expectedRows === null || c.actualRows === null
      ? '—'
      : !checksums
        ? 'not recorded'
        : c.checksumOk
          ? 'ok'
          : 'DIFFERS',
    c.problem === null ? '✅' : `❌ ${c.problem}`,
  ]);
}

export const TABLE_HEADER = ['Table', 'Expected rows', 'Actual rows', 'Checksum', 'Status'];

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
  async run(get, ctx): Promise<CommandResult> {
    const { config, destination } = readVerifyConfig(get);
    const storage = destination ? storageFor(destination) : undefined;
    const o = await verifyBackup(config, {
      storage,
      log: ctx.log,
      signal: ctx.signal,
      pgClientInstaller: ctx.host === 'action' ? actionsPgClientInstaller : undefined,
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
