/** The restore action: inputs (with `confirm`) → runRestore → outputs and a report. */

import type { EncryptionConfig } from '../core/backup.js';
import { validateName } from '../core/layout.js';
import { NO_CHECKSUMS } from '../core/manifest.js';
import { parseDatabaseUrl } from '../core/postgres/connection.js';
import { parsePgVersion } from '../core/postgres/install.js';
import type { CommandResult } from '../core/report.js';
import { type RestoreConfig, runRestore } from '../core/restore.js';
import { UserError } from '../util/errors.js';
import { formatBytes, formatDuration, parseBoolean } from '../util/units.js';
import { type Command, progressIntervalMs } from './command.js';
import type { InputGetter } from './inputs.js';
import {
  readDecryption,
  readDestination,
  readEncryption,
  readJobs,
  readSelector,
  secretInput,
  storageFor,
  tempDir,
} from './inputs.js';
import { TABLE_HEADER, tableRows } from './table-report.js';

export function readRestoreConfig(get: InputGetter): {
  config: RestoreConfig;
  destination: ReturnType<typeof readDestination>;
} {
  const connection = parseDatabaseUrl(secretInput(get, 'database-url'));
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
  const pre = get('pre-restore-backup') ? parseBoolean(get('pre-restore-backup'), 'pre-restore-backup') : true;
  let preRestoreBackup: EncryptionConfig | null = null;
  if (pre) {
    try {
      preRestoreBackup = readEncryption(get, 'first');
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      throw new UserError(
        `the pre-restore backup of '${target}' needs encryption like any backup: ${err.message}; or set 'pre-restore-backup: false'`,
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
      preRestoreBackup,
      jobs: readJobs(get),
      pgBinDir: get('pg-bin-dir') || undefined,
      pgVersion: parsePgVersion(get('pg-version')),
      tempDir: tempDir(),
    },
  };
}

export const restoreCommand: Command = {
  name: 'restore',
  description: 'replace a database with a backup (validated first, swapped in by rename, old data kept)',
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
    const m = r.manifest;
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
      },
      report: {
        title: `${r.target} restored from ${m.name}`,
        status: 'success',
        headline: `${r.target} now holds the data as of ${m.createdAt}: anything written after that is not in it (${formatDuration(r.dataLossWindowSeconds)})`,
        facts: [
          ['Restored from', r.label],
          ['Snapshot time', m.createdAt],
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
          ['Tables / rows', `${r.tables.length} / ${rows.toLocaleString('en-US')}, all matching the manifest`],
        ],
        tables: [
          { title: 'Tables', header: TABLE_HEADER, rows: tableRows(r.tables, m.checksumAlgorithm !== NO_CHECKSUMS) },
        ],
        notes: [
          'Database-level settings (ALTER DATABASE … SET) and database GRANTs are not part of a pg_dump archive: re-apply them if you use them.',
        ],
      },
    };
  },
};
