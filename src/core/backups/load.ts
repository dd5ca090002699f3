/**
 * Loading a backup into an empty database and validating it against the manifest: streamed (or, for a
 * parallel pg_restore, staged in a temporary file), then every table read back and compared with the
 * manifest's row count and content checksum. Shared by verify (a scratch database) and restore (the
 * fresh database that replaces the target).
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { CancelledError, describeError, IntegrityError } from '../../util/errors.js';
import type { Logger } from '../../util/log.js';
import { formatBytes, formatClock, formatDuration, formatRate } from '../../util/units.js';
import { COPY_CHECKSUM_ALGORITHM, type DatabaseContents, NO_CHECKSUMS, type TableStats } from '../manifest.js';
import type { GpgSession } from '../pipeline/gpg.js';
import { ProgressLine } from '../pipeline/progress.js';
import { every } from '../pipeline/streams.js';
import { type PgConnection, pgSessionConfig } from '../postgres/connection.js';
import { type ContentsCheck, compareContents, readContents, sequenceIncrements } from '../postgres/contents.js';
import { type CopiedTable, copyStats } from '../postgres/copy-validate.js';
import { type PgClientInstaller, type PgVersionRequest, resolvePgTool } from '../postgres/install.js';
import { LoadActivity } from '../postgres/load-activity.js';
import { restoreFile, restoreSink } from '../postgres/restore-tools.js';
import { listTables, openStatsClient, tableKey, tableLabel, tableStats } from '../postgres/stats.js';
import type { LocatedBackup } from './locate.js';
import { streamBackup } from './read.js';

export interface TableCheck {
  schema: string;
  name: string;
  expectedRows: number | null;
  actualRows: number | null;
  checksumOk: boolean;
  /** null when the table matches. */
  problem: string | null;
}

/** Compares the restored tables with the manifest's: each expected table present, same rows, same checksum. */
export function compareTables(expected: TableStats[], actual: CopiedTable[]): TableCheck[] {
  const byKey = new Map(actual.map((t) => [tableKey(t), t]));
  const out: TableCheck[] = [];
  for (const e of expected) {
    const a = byKey.get(tableKey(e));
    byKey.delete(tableKey(e));
    if (!a) {
      out.push({ ...pick(e), expectedRows: e.rows, actualRows: null, checksumOk: false, problem: 'missing' });
      continue;
    }
    const checksumOk = a.error === undefined && a.checksum === e.checksum;
    const problem = a.error
      ? a.error
      : a.rows !== e.rows
        ? `${a.rows} rows, expected ${e.rows}`
        : checksumOk
          ? null
          : 'same row count, different contents (checksum)';
    out.push({ ...pick(e), expectedRows: e.rows, actualRows: a.rows, checksumOk, problem });
  }
  for (const a of byKey.values()) {
    out.push({ ...pick(a), expectedRows: null, actualRows: a.rows, checksumOk: false, problem: 'not in the manifest' });
  }
  return out;
}

function pick(t: { schema: string; name: string }): { schema: string; name: string } {
  return { schema: t.schema, name: t.name };
}

export function mismatchesOf(checks: TableCheck[]): TableCheck[] {
  return checks.filter((c) => c.problem !== null);
}

/** The major version at the start of a version string ("15.18", "17beta1"). */
export function majorOf(version: string): number {
  return Number(/^(\d+)/.exec(version)?.[1] ?? 0);
}

export interface LoadOptions {
  connection: PgConnection;
  /** Parallel jobs for a custom-format archive; > 1 stages the decrypted archive in `tempDir`. */
  jobs: number;
  pgBinDir?: string;
  tempDir?: string;
  /** Leave out ownership and privileges (custom format), for a scratch copy on any server. */
  portable: boolean;
  serverMajor: number;
  /** `pg-version`: which client major to use, installing it through `installer` where it can. */
  pgVersion?: PgVersionRequest;
  installer?: PgClientInstaller;
  /** How often the restore logs its progress (default 10 s). */
  progressIntervalMs?: number;
}

/**
 * Streams the backup into the (empty) database `db` and validates it against the manifest. Throws
 * IntegrityError for a damaged object, a wrong key or a dump that does not load; returns the table
 * checks (which may hold mismatches).
 */
export async function loadAndValidate(
  b: LocatedBackup,
  db: string,
  o: LoadOptions,
  deps: { log: Logger; signal?: AbortSignal; gpg?: GpgSession; gpgPassphrase?: string },
): Promise<{ checks: TableCheck[]; bytes: number; loadSeconds: number; validateSeconds: number }> {
  const { log } = deps;
  const m = b.manifest;
  const toolName = m.dump.format === 'plain' ? 'psql' : 'pg_restore';
  // The tool must handle both the server and the dump (plain dumps of pg_dump 15.14+ use psql's \restrict).
  const tool = await resolvePgTool(toolName, Math.max(o.serverMajor, majorOf(m.dump.pgDumpVersion)), {
    request: o.pgVersion ?? 'auto',
    binDir: o.pgBinDir,
    installer: o.installer,
    cacheDir: `${o.tempDir ?? os.tmpdir()}/pgdr-pg-client-debs`,
    log,
  });
  log.info(`${toolName}: ${tool.version} (${tool.path})`);
  let bytes = 0;
  const t0 = Date.now();
  // Bytes read are of the stored object (exact size known); what the server does with them is asked of
  // the server itself, so a line at "all read" still says which table or index it is working on.
  const line = new ProgressLine(Date.now, m.object.size, { exact: true });
  const activity = new LoadActivity(pgSessionConfig(o.connection, db));
  const stop = every(o.progressIntervalMs ?? 10_000, () => {
    const phase = activity.current() ?? (bytes >= m.object.size ? `${toolName} is finishing` : undefined);
    log.info(`restore: ${line.line(bytes, phase)}`);
  });
  const stream = async (sink: NodeJS.WritableStream): Promise<void> => {
    await streamBackup(b, {
      sink: sink as Writable,
      gpg: deps.gpg,
      gpgPassphrase: deps.gpgPassphrase,
      signal: deps.signal,
      log,
      onProgress: (n) => {
        bytes = n;
      },
    });
  };
  try {
    await log.group(`Restore ${b.label} into ${db}`, async () => {
      if (m.dump.format === 'custom' && o.jobs > 1) {
        const dir = await fs.mkdtemp(path.join(o.tempDir ?? os.tmpdir(), 'pgdr-restore-'));
        const file = path.join(dir, 'backup.dump');
        log.info(
          `jobs: ${o.jobs} — staging the decrypted archive in ${file} (${formatBytes(m.dump.dumpSize)}): pg_restore needs a seekable file to restore in parallel; with jobs: 1 it streams without a temporary file`,
        );
        try {
          await stream(createWriteStream(file, { flags: 'wx', mode: 0o600 }));
          try {
            await restoreFile({
              toolPath: tool.path,
              connection: o.connection,
              db,
              file,
              jobs: o.jobs,
              portable: o.portable,
              log,
              signal: deps.signal,
            });
          } catch (err) {
            if (deps.signal?.aborted) throw deps.signal.reason ?? new CancelledError('cancelled');
            throw new IntegrityError(
              `the backup object is intact but could not be restored: ${describeError(err)}`,
              'restore',
              { cause: err },
            );
          }
        } finally {
          await fs.rm(dir, { recursive: true, force: true });
        }
      } else {
        await stream(
          restoreSink({
            format: m.dump.format,
            toolPath: tool.path,
            toolVersion: tool.version,
            connection: o.connection,
            db,
            portable: o.portable,
            log,
          }),
        );
      }
      log.info(`restored: ${formatBytes(bytes)} read, size and sha256 match the manifest`);
    });
  } finally {
    stop();
    await activity.close();
  }
  const loadSeconds = (Date.now() - t0) / 1000;
  log.info(`loaded in ${formatDuration(loadSeconds)} (${formatRate(bytes, loadSeconds)})`);
  const t1 = Date.now();
  let progress = 'reading the tables back';
  const stopValidation = every(o.progressIntervalMs ?? 10_000, () => {
    log.info(`validate: ${progress}, ${formatClock((Date.now() - t1) / 1000)}`);
  });
  const checks = await log
    .group(`Validate ${m.tables.length} tables against the manifest`, async () => {
      const config = pgSessionConfig(o.connection, db);
      const counted = (t: { schema: string; name: string }, i: number, total: number): void => {
        progress = `${i.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} tables counted, now ${tableLabel(t)}`;
      };
      const client = await openStatsClient(config);
      try {
        let actual: CopiedTable[];
        if (m.checksumAlgorithm === COPY_CHECKSUM_ALGORITHM) {
          const concurrency = Math.max(1, Math.min(4, os.availableParallelism()));
          log.info(`reading every table back with COPY (${concurrency} sessions), rows counted and hashed`);
          actual = await copyStats(config, m.tables, {
            encoding: m.dump.encoding,
            concurrency,
            onProgress: (done, total, table) => {
              progress = `${done.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} reads done, last ${table}`;
            },
          });
          // Tables the manifest does not list: counted, and reported.
          const known = new Set(m.tables.map(tableKey));
          const extra = (await listTables(client)).filter((t) => !known.has(tableKey(t)));
          actual.push(...(await tableStats(client, extra, undefined, { checksums: false })));
        } else if (m.dump.format === 'plain' && m.tables.every((t) => t.columns !== undefined)) {
          // Counted off the dump (table-checksums: false): a table's own rows, as its COPY holds them.
          const listed = await listTables(client);
          actual = await tableStats(client, listed, (t, i) => counted(t, i, listed.length), {
            checksums: false,
            only: true,
          });
        } else {
          const listed = await listTables(client);
          actual = await tableStats(client, listed, (t, i) => counted(t, i, listed.length), {
            checksums: m.checksumAlgorithm !== NO_CHECKSUMS,
          });
        }
        const result = compareTables(m.tables, actual);
        const bad = mismatchesOf(result);
        for (const c of bad) log.warn(`table ${tableLabel(c)}: ${c.problem}`);
        log.info(
          `${result.length.toLocaleString('en-US')} tables compared with the manifest in ${formatDuration((Date.now() - t1) / 1000)}: ${bad.length ? `${bad.length} do not match` : 'all match'}`,
        );
        return result;
      } finally {
        await client.end().catch(() => {});
      }
    })
    .finally(stopValidation);
  return { checks, bytes, loadSeconds, validateSeconds: (Date.now() - t1) / 1000 };
}

/**
 * Reads the restored database's contents (extensions, sequences, large objects, object counts) and
 * compares them with the manifest's `contents` (compareContents says how).
 */
export async function validateContents(
  connection: PgConnection,
  db: string,
  expected: DatabaseContents,
  deps: { log: Logger; signal?: AbortSignal },
): Promise<{ checks: ContentsCheck[]; notes: string[] }> {
  const { log } = deps;
  return log.group('Compare sequences, large objects and object counts with the manifest', async () => {
    const client = await openStatsClient(pgSessionConfig(connection, db));
    try {
      const actual = await readContents(client, deps.signal);
      const result = compareContents(expected, actual, await sequenceIncrements(client));
      for (const c of result.checks) {
        if (c.problem) log.warn(`${c.item}: ${c.problem}`);
        else log.info(`${c.item}: ${c.actual} (matches)`);
      }
      for (const n of result.notes) log.info(n);
      return result;
    } finally {
      await client.end().catch(() => {});
    }
  });
}
