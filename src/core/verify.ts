/**
 * The verify use case: restore a backup into an isolated scratch database, check every table against
 * the manifest (row count and content checksum), measure RPO (backup age) and RTO (download + restore +
 * validate), and always drop the scratch database. Also home of the restore-and-validate steps that the
 * restore use case shares.
 */
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CancelledError, describeError, IntegrityError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { formatBytes, formatDuration, formatRate } from '../util/units.js';
import {
  type BackupSelector,
  type DecryptionConfig,
  type LocatedBackup,
  locateBackup,
  prepareDecryption,
  streamBackup,
} from './fetch.js';
import { COPY_CHECKSUM_ALGORITHM, type Manifest, NO_CHECKSUMS, type TableStats } from './manifest.js';
import { GpgSession } from './pipeline/gpg.js';
import { every } from './pipeline/streams.js';
import { describeConnection, type PgConnection, pgClientConfig } from './postgres/connection.js';
import { type CopiedTable, copyStats } from './postgres/copy-validate.js';
import { type PgClientInstaller, type PgVersionRequest, resolvePgTool } from './postgres/install.js';
import { restoreFile, restoreSink, ServerSession, scratchDatabaseName } from './postgres/restore-tools.js';
import { listTables, openStatsClient, tableKey, tableLabel, tableStats } from './postgres/stats.js';
import type { Storage } from './storage/index.js';

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
function majorOf(version: string): number {
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
  const stop = every(o.progressIntervalMs ?? 10_000, () => {
    const s = (Date.now() - t0) / 1000;
    const pct = m.object.size > 0 ? ` (${Math.floor((100 * bytes) / m.object.size)} %)` : '';
    log.info(
      `… restoring: ${formatBytes(bytes)} of ${formatBytes(m.object.size)} read${pct}, ${formatRate(bytes, s)}, ${formatDuration(s)}`,
    );
  });
  const stream = async (sink: NodeJS.WritableStream): Promise<void> => {
    await streamBackup(b, {
      sink: sink as import('node:stream').Writable,
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
  }
  const loadSeconds = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  const checks = await log.group(`Validate ${m.tables.length} tables against the manifest`, async () => {
    const config = pgClientConfig(o.connection, db);
    const client = await openStatsClient(config);
    try {
      let actual: CopiedTable[];
      if (m.checksumAlgorithm === COPY_CHECKSUM_ALGORITHM) {
        const concurrency = Math.max(1, Math.min(4, os.availableParallelism()));
        log.info(`reading every table back with COPY (${concurrency} sessions), rows counted and hashed`);
        actual = await copyStats(config, m.tables, { encoding: m.dump.encoding, concurrency });
        // Tables the manifest does not list: counted, and reported.
        const known = new Set(m.tables.map(tableKey));
        const extra = (await listTables(client)).filter((t) => !known.has(tableKey(t)));
        actual.push(...(await tableStats(client, extra, undefined, { checksums: false })));
      } else if (m.dump.format === 'plain' && m.tables.every((t) => t.columns !== undefined)) {
        // Counted off the dump (table-checksums: false): a table's own rows, as its COPY holds them.
        actual = await tableStats(client, await listTables(client), undefined, { checksums: false, only: true });
      } else {
        actual = await tableStats(client, await listTables(client), undefined, {
          checksums: m.checksumAlgorithm !== NO_CHECKSUMS,
        });
      }
      const result = compareTables(m.tables, actual);
      for (const c of mismatchesOf(result)) log.warn(`table ${tableLabel(c)}: ${c.problem}`);
      return result;
    } finally {
      await client.end().catch(() => {});
    }
  });
  return { checks, bytes, loadSeconds, validateSeconds: (Date.now() - t1) / 1000 };
}

export interface VerifyConfig {
  /** The server where the scratch database is created (its database: where to connect). */
  connection: PgConnection;
  prefix: string;
  selector: BackupSelector;
  decryption: DecryptionConfig;
  jobs: number;
  keepDatabase: boolean;
  maxAgeSeconds: number;
  maxRestoreSeconds: number;
  pgBinDir?: string;
  tempDir?: string;
  pgVersion?: PgVersionRequest;
}

export interface VerifyDeps {
  /** Absent for a local backup file. */
  storage?: Storage;
  log: Logger;
  signal?: AbortSignal;
  now?: () => Date;
  /** Installs a missing psql/pg_restore (the action on GitHub's Linux runners); absent: say what to install. */
  pgClientInstaller?: PgClientInstaller;
  /** How often the restore logs its progress (default 10 s). */
  progressIntervalMs?: number;
}

export type FailureKind = IntegrityError['kind'] | 'rpo' | 'rto';

export interface VerifyOutcome {
  passed: boolean;
  /** The data object's key (or the selector when the backup was not found). */
  backupKey: string;
  label: string;
  manifest?: Manifest;
  backupAgeSeconds?: number;
  /** Download + restore + validate. */
  restoreSeconds?: number;
  /** Of which: download + decrypt + load into the scratch database (what a restore without checks takes). */
  loadSeconds?: number;
  /** Of which: reading every table back and comparing it with the manifest. */
  validateSeconds?: number;
  tables: TableCheck[];
  /** Every reason the verify failed, the most fundamental first. */
  failures: Array<{ kind: FailureKind; message: string }>;
  scratchDatabase?: string;
  keptDatabase: boolean;
  /** Newer objects `latest` passed over. */
  skipped: string[];
  maxAgeSeconds: number;
  maxRestoreSeconds: number;
}

function selectorLabel(s: BackupSelector): string {
  return s.kind === 'latest' ? `latest${s.name ? ` of ${s.name}` : ''}` : s.kind === 'key' ? s.key : s.path;
}

export async function verifyBackup(cfg: VerifyConfig, deps: VerifyDeps): Promise<VerifyOutcome> {
  const { log } = deps;
  const now = deps.now ?? (() => new Date());
  const outcome: VerifyOutcome = {
    passed: false,
    backupKey: selectorLabel(cfg.selector),
    label: selectorLabel(cfg.selector),
    tables: [],
    failures: [],
    keptDatabase: false,
    skipped: [],
    maxAgeSeconds: cfg.maxAgeSeconds,
    maxRestoreSeconds: cfg.maxRestoreSeconds,
  };
  const fail = (err: unknown): VerifyOutcome => {
    if (!(err instanceof IntegrityError)) throw err;
    outcome.failures.unshift({ kind: err.kind, message: err.message });
    return outcome;
  };

  let b: LocatedBackup;
  try {
    b = await log.group('Find the backup', () => locateBackup(deps.storage, cfg.prefix, cfg.selector));
  } catch (err) {
    return fail(err);
  }
  const m = b.manifest;
  Object.assign(outcome, { backupKey: b.dataKey, label: b.label, manifest: m, skipped: b.skipped });
  outcome.backupAgeSeconds = Math.max(0, (now().getTime() - Date.parse(m.createdAt)) / 1000);
  log.info(
    `backup: ${b.label} (${formatBytes(m.object.size)}, taken ${m.createdAt}, ${formatDuration(outcome.backupAgeSeconds)} ago)`,
  );
  for (const s of b.skipped) log.warn(`skipped a newer object that is not a usable backup: ${s}`);
  if (outcome.backupAgeSeconds > cfg.maxAgeSeconds) {
    outcome.failures.push({
      kind: 'rpo',
      message: `RPO target missed: the backup is ${formatDuration(outcome.backupAgeSeconds)} old, 'max-age' is ${formatDuration(cfg.maxAgeSeconds)}`,
    });
  }

  const gpg = m.encryption.scheme === 'none' ? undefined : await GpgSession.create();
  let server: ServerSession | undefined;
  let scratch: string | undefined;
  try {
    let gpgPassphrase: string | undefined;
    try {
      gpgPassphrase = await prepareDecryption(m, cfg.decryption, gpg);
    } catch (err) {
      return fail(err);
    }
    try {
      server = await ServerSession.open(cfg.connection);
    } catch (err) {
      throw new Error(`cannot connect to ${describeConnection(cfg.connection)}: ${describeError(err)}`, { cause: err });
    }
    scratch = scratchDatabaseName('verify', m.name, now());
    await server.createDatabase(scratch);
    outcome.scratchDatabase = scratch;
    log.info(
      `scratch database: ${scratch} on ${describeConnection(cfg.connection, scratch)} (PostgreSQL ${server.major})`,
    );
    const t0 = Date.now();
    try {
      const { checks, loadSeconds, validateSeconds } = await loadAndValidate(
        b,
        scratch,
        {
          connection: cfg.connection,
          jobs: cfg.jobs,
          pgBinDir: cfg.pgBinDir,
          tempDir: cfg.tempDir,
          portable: true,
          progressIntervalMs: deps.progressIntervalMs,
          serverMajor: server.major,
          pgVersion: cfg.pgVersion,
          installer: deps.pgClientInstaller,
        },
        { log, signal: deps.signal, gpg, gpgPassphrase },
      );
      outcome.tables = checks;
      outcome.loadSeconds = loadSeconds;
      outcome.validateSeconds = validateSeconds;
    } catch (err) {
      return fail(err);
    } finally {
      outcome.restoreSeconds = (Date.now() - t0) / 1000;
    }
    const bad = mismatchesOf(outcome.tables);
    if (bad.length) {
      outcome.failures.unshift({
        kind: 'table-mismatch',
        message: `${bad.length} of ${outcome.tables.length} tables do not match the manifest: ${bad
          .slice(0, 5)
          .map((c) => `${tableLabel(c)} (${c.problem})`)
          .join(', ')}${bad.length > 5 ? ', …' : ''}`,
      });
    }
    if (outcome.restoreSeconds > cfg.maxRestoreSeconds) {
      outcome.failures.push({
        kind: 'rto',
        message: `RTO target missed: download, restore and validation took ${formatDuration(outcome.restoreSeconds)}, 'max-restore-time' is ${formatDuration(cfg.maxRestoreSeconds)}`,
      });
    }
    outcome.passed = outcome.failures.length === 0;
    return outcome;
  } finally {
    if (deps.signal?.aborted) log.warn('cancelled: cleaning up');
    if (server && scratch) {
      if (cfg.keepDatabase && !deps.signal?.aborted) {
        outcome.keptDatabase = true;
        log.info(`keep-database: ${scratch} is kept; drop it with DROP DATABASE ${scratch}`);
      } else {
        try {
          await server.dropDatabase(scratch);
          log.info(`scratch database ${scratch} dropped`);
        } catch (err) {
          log.warn(`could not drop the scratch database ${scratch}: ${describeError(err)}; drop it by hand`);
        }
      }
    }
    await server?.close();
    await gpg?.close();
  }
}
