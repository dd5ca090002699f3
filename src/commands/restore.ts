/** The restore action: inputs (with `confirm`) → runRestore → outputs and a report. */

import { isConnectFailure, isIntegrityFailure, isPermissionDenied, isStorageFailure } from '../core/failure.js';
import { validateName } from '../core/layout.js';
import { NO_CHECKSUMS } from '../core/manifest.js';
import { ProcessError } from '../core/pipeline/process.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import { parsePgVersion } from '../core/postgres/install.js';
import type { CommandResult, Report } from '../core/report.js';
import { type RestoreConfig, type RestoreResult, runRestore } from '../core/restore.js';
import { describeError, UserError } from '../util/errors.js';
import { formatBytes, formatDuration, formatTime, parseBoolean, parseChoice } from '../util/units.js';
import { type Command, progressIntervalMs } from './command.js';
import type { InputGetter } from './inputs.js';
import {
  ALLOW_UNAUTHENTICATED_INPUT,
  ALLOW_UNENCRYPTED_INPUT,
  destinationInputs,
  PRIVATE_KEY_INPUTS,
  readAuthKeys,
  readDecryption,
  readDestination,
  readEncryption,
  readJobs,
  readSelector,
  readSigner,
  SIGNING_INPUTS,
  SIGNING_PUBLIC_KEY_INPUT,
  storageFor,
  tempDir,
} from './inputs.js';
import { boundInputs, COMMON_FAILURE_KINDS, type CommandSpec, failureOutputs } from './schema.js';

const RESTORE_FAILURE_KINDS: Record<string, string> = {
  config: COMMON_FAILURE_KINDS.config as string,
  'no-backup': 'no backup of the set was found',
  connect: 'the target server could not be reached or refused the login',
  permission: 'the database user may not create, rename or load the database',
  storage: 'the storage could not be reached or read',
  integrity: 'the backup failed its checks (checksum, size, decryption, manifest authentication)',
  'pre-restore-backup': 'the backup of the target taken before the restore failed; the target is untouched',
  restore: 'pg_restore/psql failed or the restored tables do not match the manifest',
  cancelled: COMMON_FAILURE_KINDS.cancelled as string,
  other: COMMON_FAILURE_KINDS.other as string,
};

/** A thrown error's kind where the shared rules (core/failure.ts) cannot tell. */
function classifyRestoreFailure(err: unknown): string | undefined {
  if (err instanceof UserError && /^no backup found/.test(err.message)) return 'no-backup';
  const integrity = isIntegrityFailure(err);
  if (integrity && (integrity.kind === 'restore' || integrity.kind === 'table-mismatch')) return 'restore';
  if (integrity || isStorageFailure(err) || isPermissionDenied(err) || isConnectFailure(err)) return undefined;
  if (/pre-restore backup/i.test(describeError(err))) return 'pre-restore-backup';
  if (err instanceof ProcessError) return 'restore';
  return undefined;
}

import { TABLE_HEADER, tableRows } from './table-report.js';

export function readRestoreConfig(raw: InputGetter): {
  config: RestoreConfig;
  destination: ReturnType<typeof readDestination>;
} {
  const get = boundInputs(restoreSpec, raw);
  const connection = parseDatabaseUrl(get('database-url'));
  const target = connection.database;
  if (!target) {
    throw new UserError(`'database-url' must name the target database (postgres://user@host:5432/<database>)`);
  }
  const confirm = get('confirm');
  if (confirm !== target) {
    // Not echoing the name: whoever types it must know which database they are replacing.
    throw new UserError(
      `'confirm' must be exactly the name of the database to replace (the database in 'database-url')${confirm ? ', and it is not' : ''}: nothing was changed`,
    );
  }
  const selector = readSelector(get, '');
  if (selector.kind === 'file') throw new UserError(`restore reads from 'destination'`); // narrows the type
  const destination = readDestination(get);
  const decryption = readDecryption(get);
  const auth = { keys: readAuthKeys(get), allowUnauthenticated: get('allow-unauthenticated') || undefined };
  const pre = parseBoolean(get('pre-restore-backup'), 'pre-restore-backup');
  let preRestoreBackup: RestoreConfig['preRestoreBackup'] = null;
  if (pre) {
    try {
      const encryption = readEncryption(get, 'first');
      preRestoreBackup = { encryption, signer: readSigner(get, encryption) };
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      throw new UserError(
        `the pre-restore backup of '${target}' needs encryption and authentication like any backup: ${err.message}; or set 'pre-restore-backup: false'`,
      );
    }
  }
  return {
    destination,
    config: {
      connection,
      prefix: destination.destination.prefix,
      selector,
      name: get('name') ? validateName(get('name')) : undefined,
      decryption,
      auth,
      preRestoreBackup,
      jobs: readJobs(get),
      pgBinDir: get('pg-bin-dir') || undefined,
      pgVersion: parsePgVersion(get('pg-version')),
      tempDir: tempDir(),
      createRoles: parseChoice(get('create-roles'), 'create-roles', CREATE_ROLES),
    },
  };
}

const CREATE_ROLES = ['missing', 'none'] as const;

export const restoreSpec: CommandSpec = {
  name: 'restore',
  summary: 'replace a database with a backup (validated first, swapped in by rename, old data kept)',
  action: {
    name: 'postgres-dr restore',
    description:
      'Replace a database with a backup: refuse while sessions are connected, back up the current data first, restore into a fresh database, validate it against the manifest, then swap it in by rename, keeping the old database under a dated name.',
    icon: 'rotate-ccw',
    color: 'red',
  },
  inputs: {
    'database-url': {
      description:
        'The target: postgres://user:password@host:5432/<database to replace>. The role must be able to CREATE DATABASE and rename the target (its owner or a superuser). When empty, the PG* environment variables apply.',
      secret: 'url-credentials',
    },
    confirm: { description: "Must be exactly the target database's name, or nothing happens.", required: true },
    ...destinationInputs('s3://bucket/prefix, or a local directory path: the same as given to backup.', {
      required: true,
    }),
    backup: {
      description:
        'Which backup: latest (the newest authenticated backup in the set), before:2026-11-25T03:17:00Z (the newest authenticated backup taken strictly before that UTC time, for damage found after the fact) or the object key of a data object or its manifest.',
      default: 'latest',
    },
    name: {
      description:
        'The backup set (the name output of backup). Needed for latest unless the destination holds only one set.',
    },
    'encryption-passphrase': {
      description:
        'The passphrase the backup was encrypted with (pass a secret). For key rotation, several passphrases, one per line: the one the manifest names is used. The first line also encrypts the pre-restore backup.',
      secret: true,
    },
    ...PRIVATE_KEY_INPUTS,
    'encryption-public-key': {
      description: 'ASCII-armored OpenPGP public key for the pre-restore backup (instead of encryption-passphrase).',
    },
    encryption: {
      description: 'Encryption of the pre-restore backup: openpgp (default: a key is required) or none.',
      default: 'openpgp',
    },
    'pre-restore-backup': {
      description: 'Back up the current target first (set <name>-pre-restore in the same destination, plain + gzip).',
      default: 'true',
      type: 'boolean',
    },
    jobs: {
      description:
        'Parallel pg_restore jobs for custom-format backups. Above 1 the decrypted archive is staged in a temporary file in RUNNER_TEMP (pg_restore -j needs to seek): its size is checked against the free space there first (the archive + 256 MiB), and the run stops before restoring anything when it does not fit; 1 streams without one.',
      default: '2',
      type: 'integer',
    },
    'pg-bin-dir': {
      description:
        'Directory holding psql / pg_restore / pg_dump. Default: the oldest installed client that is new enough.',
    },
    'create-roles': {
      description:
        "missing (default): before restoring, create the roles the backup needs (its manifest lists the owners and grantees of the database's objects) that this server lacks, NOLOGIN with no password, with their memberships; existing roles are never altered. Needs CREATEROLE. Set passwords afterwards (ALTER ROLE … LOGIN PASSWORD …) for the roles that log in. none: create nothing (the restore fails if a role is missing).",
      default: 'missing',
      choices: CREATE_ROLES,
    },
    ...SIGNING_INPUTS,
    ...SIGNING_PUBLIC_KEY_INPUT,
    ...ALLOW_UNAUTHENTICATED_INPUT,
    ...ALLOW_UNENCRYPTED_INPUT,
    'pg-version': {
      description:
        "auto (default): use an installed psql/pg_restore at least as new as the server and the dump, and on GitHub's Linux runners install postgresql-client-<major> from the PostgreSQL apt repository when none is (cached with the Actions cache); or a major version to require.",
      default: 'auto',
    },
  },
  failureKinds: RESTORE_FAILURE_KINDS,
  outputs: {
    'restored-key': { description: 'Object key of the backup that was restored.' },
    'previous-database': {
      description:
        'Where the replaced data now lives: <target>_pre_restore_<YYYYMMDD_HHMMSS> (UTC). Empty when the target did not exist.',
    },
    'pre-restore-backup-key': {
      description: 'Object key of the backup taken of the target before the restore; empty when skipped.',
    },
    'data-loss-window-seconds': {
      description: "Now − the backup's snapshot time: writes in this window are not in the restored data.",
    },
    'restore-seconds': { description: 'Wall time of the whole restore.' },
    tables: { description: 'Tables restored (all matching the manifest).' },
    rows: { description: 'Rows restored.' },
    'created-roles': {
      description: 'Roles create-roles created (comma-separated; NOLOGIN, no password): set their passwords.',
    },
    ...failureOutputs(RESTORE_FAILURE_KINDS),
  },
};

export const restoreCommand: Command = {
  spec: restoreSpec,
  streaming: true,
  classifyFailure: classifyRestoreFailure,
  async run(get, ctx): Promise<CommandResult> {
    const { config, destination } = readRestoreConfig(get);
    const storage = storageFor(destination);
    const r = await runRestore(config, {
      storage,
      log: ctx.log,
      signal: ctx.signal,
      pgClientInstaller: ctx.pgClientInstaller,
      progressIntervalMs: progressIntervalMs(),
    });
    const rows = r.tables.reduce((a, t) => a + (t.actualRows ?? 0), 0);
    return {
      outputs: {
        'restored-key': r.restoredKey,
        'previous-database': r.previousDatabase ?? '',
        'pre-restore-backup-key': r.preRestoreBackupKey ?? '',
        'data-loss-window-seconds': Math.round(r.dataLossWindowSeconds),
        'restore-seconds': Math.round(r.restoreSeconds * 10) / 10,
        tables: r.tables.length,
        rows,
        'created-roles': r.createdRoles.created.join(','),
      },
      report: restoreReport(r),
    };
  },
};

export function restoreReport(r: RestoreResult): Report {
  const m = r.manifest;
  const rows = r.tables.reduce((a, t) => a + (t.actualRows ?? 0), 0);
  return {
    title: `${r.target} restored from ${m.name}`,
    status: 'success',
    headline: `${r.target} now holds the data as of ${formatTime(m.createdAt)}: anything written after that is not in it (${formatDuration(r.dataLossWindowSeconds)})`,
    facts: [
      ['Backup set', m.name],
      ['Snapshot', formatTime(m.createdAt)],
      ['Restored from', r.label],
      ['Data-loss window', formatDuration(r.dataLossWindowSeconds)],
      ['Duration', formatDuration(r.restoreSeconds)],
      [
        'Previous data',
        r.previousDatabase
          ? `database ${r.previousDatabase} (drop it once you no longer need it)`
          : `none: ${r.target} did not exist`,
      ],
      ['Pre-restore backup', r.preRestoreBackupKey ?? 'none'],
      ['Source', `${m.dump.database} (PostgreSQL ${m.dump.serverVersion}), ${formatBytes(m.object.size)} stored`],
      [
        'Tables / rows',
        `${r.tables.length.toLocaleString('en-US')} / ${rows.toLocaleString('en-US')}, all matching the manifest`,
      ],
      [
        'Roles created',
        r.createdRoles.created.length
          ? `${r.createdRoles.created.join(', ')} (NOLOGIN, no password)`
          : 'none (all there, or create-roles: none)',
      ],
      [
        'Temporary disk',
        r.staging
          ? `${formatBytes(r.staging.bytes)}: the decrypted archive, staged in ${r.staging.dir} for pg_restore -j (${formatBytes(r.staging.freeBytes)} were free), removed afterwards`
          : 'none: streamed into the restore',
      ],
    ],
    tables: [
      { title: 'Tables', header: TABLE_HEADER, rows: tableRows(r.tables, m.checksumAlgorithm !== NO_CHECKSUMS) },
    ],
    notes: [
      ...(r.createdRoles.created.length
        ? [
            `Created roles have no password and cannot log in: for each one your applications use, run ALTER ROLE <name> LOGIN PASSWORD '…'.${
              r.createdRoles.withheld.length
                ? ` Not given (they had them in production): ${r.createdRoles.withheld.map((w) => `${w.role}: ${w.attributes.join(' ')}`).join('; ')}.`
                : ''
            }`,
          ]
        : []),
      'Database-level settings (ALTER DATABASE … SET) and database GRANTs are not part of a pg_dump archive: re-apply them if you use them.',
    ],
  };
}
