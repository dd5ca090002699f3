/** The verify action: inputs → verifyBackup (restore into a scratch database, compare) → outputs and a report. */
import { mismatchesOf } from '../core/backups/load.js';
import { isConnectFailure, isIntegrityFailure, isPermissionDenied, isStorageFailure } from '../core/failure.js';
import { NO_CHECKSUMS } from '../core/manifest.js';
import { ProcessError } from '../core/pipeline/process.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import { parsePgVersion } from '../core/postgres/install.js';
import type { CommandResult, Report, ReportTable } from '../core/report.js';
import { type VerifyConfig, type VerifyOutcome, verifyBackup } from '../core/verify.js';
import { UserError } from '../util/errors.js';
import { formatBytes, formatDuration, formatTime, parseBoolean, parseDuration } from '../util/units.js';
import { type Command, progressIntervalMs } from './command.js';
import {
  ALLOW_UNAUTHENTICATED_INPUT,
  ALLOW_UNENCRYPTED_INPUT,
  type DestinationConfig,
  destinationInputs,
  type InputGetter,
  PRIVATE_KEY_INPUTS,
  readAuthKeys,
  readDecryption,
  readDestination,
  readJobs,
  readSelector,
  SIGNING_PUBLIC_KEY_INPUT,
  storageFor,
  tempDir,
} from './inputs.js';
import { boundInputs, COMMON_FAILURE_KINDS, type CommandSpec, failureOutputs } from './schema.js';

const VERIFY_FAILURE_KINDS: Record<string, string> = {
  config: COMMON_FAILURE_KINDS.config as string,
  'no-backup': 'no backup of the set was found',
  connect: 'the scratch database server could not be reached or refused the login',
  permission: 'the database user may not create the scratch database or load into it',
  storage: 'the storage could not be reached or read',
  checksum: 'the stored object does not match its manifest checksum',
  truncated: 'the stored object is shorter than its manifest says',
  size: 'the stored object has another size than its manifest says',
  'wrong-key': 'none of the keys given decrypts the backup',
  decrypt: 'decryption failed (corrupt or tampered data)',
  'missing-manifest': 'the backup has no manifest',
  unauthenticated: 'the manifest does not authenticate with the keys given',
  restore: 'pg_restore/psql failed to load the backup',
  'table-mismatch': 'restored tables do not match the manifest (rows or checksums)',
  'contents-mismatch': 'sequences, large objects, extensions or object counts differ from the manifest',
  owners: 'the restored objects do not have the owners the manifest records',
  unverifiable:
    'the scratch server cannot hold the backup (an older major, a missing extension): nothing was restored, the backup was not found bad',
  rpo: 'the backup is older than max-age',
  rto: 'download + restore + validation took longer than max-restore-time',
  cancelled: COMMON_FAILURE_KINDS.cancelled as string,
  other: COMMON_FAILURE_KINDS.other as string,
};

/** A thrown error's kind where the shared rules (core/failure.ts) cannot tell. */
function classifyVerifyFailure(err: unknown): string | undefined {
  if (err instanceof UserError && /^no backup found/.test(err.message)) return 'no-backup';
  const integrity = isIntegrityFailure(err);
  if (integrity) return integrity.kind;
  if (isStorageFailure(err) || isPermissionDenied(err) || isConnectFailure(err)) return undefined;
  if (err instanceof ProcessError) return 'restore';
  return undefined;
}

import { TABLE_HEADER, tableRows } from './table-report.js';

export function readVerifyConfig(raw: InputGetter): { config: VerifyConfig; destination?: DestinationConfig } {
  const get = boundInputs(verifySpec, raw);
  const connection = parseDatabaseUrl(get('database-url'));
  const selector = readSelector(get, get('backup-file'));
  const destination = selector.kind === 'file' ? undefined : readDestination(get);
  const decryption = readDecryption(get);
  const auth = { keys: readAuthKeys(get), allowUnauthenticated: get('allow-unauthenticated') || undefined };
  const jobs = readJobs(get);
  const keepDatabase = parseBoolean(get('keep-database'), 'keep-database');
  const maxAgeSeconds = parseDuration(get('max-age'), 'max-age');
  const maxRestoreSeconds = parseDuration(get('max-restore-time'), 'max-restore-time');
  return {
    destination,
    config: {
      connection,
      prefix: destination?.destination.prefix ?? '',
      selector,
      decryption,
      auth,
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

/** passed; unverifiable when nothing failed but the scratch server's unfitness; else failed. */
export function verifyResult(o: VerifyOutcome): 'passed' | 'failed' | 'unverifiable' {
  if (o.passed) return 'passed';
  return o.failures.length > 0 && o.failures.every((f) => f.kind === 'unverifiable') ? 'unverifiable' : 'failed';
}

/** The contents compared: one row per item, manifest against restored copy. */
function contentsRows(o: VerifyOutcome): string[][] {
  return (o.contents ?? []).map((c) => [c.item, c.expected, c.actual, c.problem === null ? '✅' : `❌ ${c.problem}`]);
}

/** Nothing reached the scratch database: the backup was not found, not readable, or failed to load. */
function nothingRestored(o: VerifyOutcome): boolean {
  return o.loadSeconds === undefined || o.tables.length === 0;
}

export function verifyReport(o: VerifyOutcome): Report {
  const result = verifyResult(o);
  const m = o.manifest;
  const mark = (ok: boolean): string => (ok ? '✅' : '❌');
  const rows = o.tables.reduce((a, t) => a + (t.actualRows ?? 0), 0);
  const facts: Array<[string, string]> = [
    ['Backup set', m?.name ?? '(backup not found)'],
    [
      'Verdict',
      result === 'passed'
        ? 'passed'
        : result === 'unverifiable'
          ? 'UNVERIFIABLE (not checked)'
          : `FAILED (${o.failures.map((f) => f.kind).join(', ')})`,
    ],
  ];
  if (o.backupAgeSeconds !== undefined) {
    facts.push([
      'RPO (backup age)',
      `${mark(o.backupAgeSeconds <= o.maxAgeSeconds)} ${formatDuration(o.backupAgeSeconds)} (target ≤ ${formatDuration(o.maxAgeSeconds)})`,
    ]);
  }
  // A time measured on a restore that never happened is no RTO: a green one next to FAILED misleads.
  facts.push([
    'RTO (download + restore + validate)',
    o.restoreSeconds === undefined || nothingRestored(o)
      ? `n/a: nothing was restored (target ≤ ${formatDuration(o.maxRestoreSeconds)})`
      : `${mark(o.restoreSeconds <= o.maxRestoreSeconds)} ${formatDuration(o.restoreSeconds)} (target ≤ ${formatDuration(o.maxRestoreSeconds)})` +
        (o.loadSeconds !== undefined && o.validateSeconds !== undefined
          ? `: restore ${formatDuration(o.loadSeconds)}, validation ${formatDuration(o.validateSeconds)}`
          : ''),
  ]);
  facts.push(['Backup', o.label]);
  if (m) {
    facts.push(
      ['Snapshot', formatTime(m.createdAt)],
      ['Source', `${m.dump.database} (PostgreSQL ${m.dump.serverVersion}, pg_dump ${m.dump.pgDumpVersion})`],
      ['Format', `${m.dump.format}, ${m.dump.compression}, ${formatBytes(m.object.size)} stored`],
      ['Encryption', m.encryption.scheme],
      [
        'Tables / rows',
        `${o.tables.length.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')} (manifest: ${m.totals.tables.toLocaleString('en-US')} / ${m.totals.rows.toLocaleString('en-US')})`,
      ],
    );
    if (m.contents) {
      const c = m.contents;
      facts.push([
        'Contents (manifest)',
        `${c.extensions.length} extensions${c.extensions.length ? ` (${c.extensions.map((e) => `${e.name} ${e.version}`).join(', ')})` : ''}, ${c.sequences.length} sequences, ${c.largeObjects.count} large objects, ${Object.entries(
          c.objectCounts,
        )
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')}`,
      ]);
    }
  }
  if (o.roles) {
    const r = o.roles;
    const created = r.created.length
      ? `; created ${r.created.length} missing roles (NOLOGIN): ${r.created.join(', ')} — ${o.keptDatabase ? 'kept' : 'dropped afterwards'}`
      : '';
    facts.push([
      'Owners and grants',
      r.mode === 'owners'
        ? `${r.wrongOwners.length ? '❌' : '✅'} restored as in production and checked${created}`
        : '⚠️ not restored (see the note)',
    ]);
  }
  if (o.staging) {
    facts.push([
      'Temporary disk',
      `${formatBytes(o.staging.bytes)}: the decrypted archive, staged in ${o.staging.dir} for pg_restore -j (${formatBytes(o.staging.freeBytes)} were free), removed afterwards`,
    ]);
  }
  if (o.scratchDatabase) {
    facts.push(['Scratch database', `${o.scratchDatabase} (${o.keptDatabase ? 'kept' : 'dropped'})`]);
  }
  const first = o.failures[0];
  // Mismatches first: with thousands of tables, the ones that matter must be inside the shown rows.
  const ordered = [...o.tables.filter((t) => t.problem !== null), ...o.tables.filter((t) => t.problem === null)];
  const bad = o.tables.length - o.tables.filter((t) => t.problem === null).length;
  const tables: ReportTable[] = o.tables.length
    ? [
        {
          title: bad ? `Tables, ${bad} not matching first` : 'Tables',
          header: TABLE_HEADER,
          rows: tableRows(ordered, m?.checksumAlgorithm !== NO_CHECKSUMS),
          rest: 'tables that do not match come first; all of them are in the mismatch-details output',
        },
      ]
    : [];
  if (o.contents?.length) {
    tables.unshift({ title: 'Contents', header: ['Item', 'Manifest', 'Restored', 'Match'], rows: contentsRows(o) });
  }
  return {
    title: `Restore test ${result}: ${m?.name ?? o.label}`,
    status: result === 'passed' ? 'success' : result === 'unverifiable' ? 'warning' : 'failure',
    headline: o.passed
      ? `${o.label} restored into a scratch database and matched its manifest: ${o.tables.length.toLocaleString('en-US')} tables, ${rows.toLocaleString('en-US')} rows`
      : (first?.message ?? 'failed'),
    facts,
    tables,
    notes: [
      ...(o.roles?.note ? [`Owners and grants were not restored: ${o.roles.note}.`] : []),
      // The job summary is what people read: a pass on an unauthenticated backup must not look like any other.
      ...(o.unauthenticated
        ? [
            `⚠️ UNAUTHENTICATED BACKUP, used only because 'allow-unauthenticated' names it (${o.unauthenticated}): nothing proves your backup job wrote it.`,
          ]
        : []),
      ...o.failures.slice(1).map((f) => f.message),
      ...o.notes,
      ...o.skipped.map((s) => `Skipped a newer object that is not a usable backup: ${s}`),
    ],
  };
}

export const verifySpec: CommandSpec = {
  name: 'verify',
  summary: 'restore a backup into a scratch database and check every table against its manifest',
  action: {
    name: 'postgres-dr verify',
    description:
      "Restore test: stream a backup (checked against its manifest: size, SHA-256), decrypt and restore it into an isolated scratch database, compare every table's row count and checksum with the manifest, measure RPO and RTO, and drop the scratch database.",
    icon: 'check-circle',
    color: 'blue',
  },
  inputs: {
    ...destinationInputs('s3://bucket/prefix, or a local directory path: the same as given to backup.'),
    backup: {
      description:
        'Which backup: latest (the newest authenticated backup in the set), before:2026-11-25T03:17:00Z (the newest authenticated backup taken strictly before that UTC time, for damage found after the fact) or the object key of a data object or its manifest.',
      default: 'latest',
    },
    name: {
      description:
        'The backup set (the name output of backup). Needed for latest unless the destination holds only one set.',
    },
    'backup-file': {
      description: 'Instead of destination: a local backup file with its manifest beside it (<stem>.manifest.json).',
    },
    'database-url': {
      description:
        "A PostgreSQL server where this role may CREATE DATABASE: the isolated scratch database (pgdr_verify_<name>_<time>_<random>) is created there and dropped afterwards. As a superuser, verify also creates the roles the backup needs that are missing there (NOLOGIN, no password), restores owners and grants as in production and drops those roles afterwards; otherwise it restores without owners and grants. The server major must be at least the backup's. When empty, the PG* environment variables apply.",
      secret: 'url-credentials',
    },
    'encryption-passphrase': {
      description:
        'The passphrase the backup was encrypted with (pass a secret). For key rotation, several passphrases, one per line: the one the manifest names is used.',
      secret: true,
    },
    ...PRIVATE_KEY_INPUTS,
    jobs: {
      description:
        'Parallel pg_restore jobs for custom-format backups. Above 1 the decrypted archive is staged in a temporary file in RUNNER_TEMP (pg_restore -j needs to seek): its size is checked against the free space there first (the archive + 256 MiB), and the run stops before restoring anything when it does not fit; 1 streams without one. Plain dumps always stream.',
      default: '2',
      type: 'integer',
    },
    'keep-database': {
      description: 'Keep the scratch database afterwards (for inspection; its name is in the scratch-database output).',
      default: 'false',
      type: 'boolean',
    },
    'max-age': {
      description: 'RPO target: the verify fails when the backup is older than this (e.g. 24h, 2d).',
      default: '24h',
      type: 'duration',
    },
    'max-restore-time': {
      description: 'RTO target: the verify fails when download + restore + validation take longer (e.g. 4h, 30m).',
      default: '4h',
      type: 'duration',
    },
    'pg-bin-dir': {
      description:
        "Directory holding psql / pg_restore. Default: the oldest installed client that is at least the server major and the backup's pg_dump major.",
    },
    ...SIGNING_PUBLIC_KEY_INPUT,
    ...ALLOW_UNAUTHENTICATED_INPUT,
    ...ALLOW_UNENCRYPTED_INPUT,
    'pg-version': {
      description:
        "auto (default): use an installed psql/pg_restore at least as new as the server and the dump, and on GitHub's Linux runners install postgresql-client-<major> from the PostgreSQL apt repository when none is (cached with the Actions cache); or a major version to require.",
      default: 'auto',
    },
  },
  failureKinds: VERIFY_FAILURE_KINDS,
  outputs: {
    result: {
      description:
        'passed, failed, or unverifiable: the scratch server cannot hold the backup (an older major than its server or pg_dump, or an extension it lacks), so nothing was restored and the backup was not found bad (the step still fails).',
    },
    ...failureOutputs(VERIFY_FAILURE_KINDS),
    'backup-key': { description: 'Object key of the backup that was verified.' },
    'backup-age-seconds': { description: 'Age of the backup (now − snapshot time): the measured RPO.' },
    'restore-seconds': { description: 'Download + restore + validation time: the measured RTO.' },
    'load-seconds': { description: 'Of restore-seconds: download, decryption and loading into the scratch database.' },
    'validate-seconds': {
      description: 'Of restore-seconds: reading every table back and comparing it with the manifest.',
    },
    tables: { description: 'Tables found in the restored copy.' },
    rows: { description: 'Rows found in the restored copy.' },
    mismatches: {
      description: 'Tables that do not match the manifest (missing, unexpected, other row count or checksum).',
    },
    'mismatch-details': {
      description: 'JSON array of those tables: schema, name, expectedRows, actualRows, checksumOk, problem.',
    },
    'scratch-database': { description: 'Name of the kept scratch database (keep-database: true), else empty.' },
  },
};

export const verifyCommand: Command = {
  spec: verifySpec,
  streaming: true,
  classifyFailure: classifyVerifyFailure,
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
        result: verifyResult(o),
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
